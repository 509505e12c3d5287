"""Twilio Voice webhooks with the `twilio` package, as Twilio's Flask security
docs show: `RequestValidator(auth_token).validate(request.url, request.form,
X-Twilio-Signature)` checks the base64 HMAC-SHA1 of the full URL followed by
every form field sorted by name, answering 403 (`abort(403)` in Twilio's
decorator) otherwise. A handled call is answered with empty TwiML.

Twilio signs the URL it requested, so the receiver validates against the URL
it is reached at, `request.url` as Flask sees it (scheme, Host header, path
and query). Behind a proxy that terminates TLS or rewrites Host that is not
the URL Twilio signed: use werkzeug's ProxyFix, or configure the public URL.

A form has no JSON: `json-500`, `float-numbers` and `reserialize` do not
apply, and the receiver will not start with them (see ../README.md)."""

import sys

from flask import Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from common import DEFECT, SECRET, create_app, receive, run

# The seeded defects a form vendor's receiver has no counterpart for.
NOT_FOR_FORMS = {
    "json-500": "a form has no JSON to fail to parse",
    "float-numbers": "form fields are strings, no JSON numbers",
    "reserialize": "the signature covers the decoded fields, not the body bytes",
}
if DEFECT in NOT_FOR_FORMS:
    sys.exit(f"DEFECT={DEFECT} does not apply to twilio_voice: {NOT_FOR_FORMS[DEFECT]}")

app = create_app("twilio_voice")
validator = RequestValidator(SECRET)  # the account's auth token


def form_payload(form):
    """The form as its handler got it: each field a string, a repeated field
    the list of its values in order (the observe report's shape for forms)."""
    return {k: v[0] if len(v) == 1 else v for k, v in form.to_dict(flat=False).items()}


def verified(_raw):
    # Signed: the URL and the decoded fields, not the body bytes.
    return validator.validate(request.url, request.form, request.headers.get("X-Twilio-Signature", ""))


@app.post("/webhooks/twilio_voice")
def voice():
    return receive(
        verified,
        Response("invalid signature", 403),
        # The same on a retry of this request (Twilio's connection overrides).
        event_id=lambda _: request.headers.get("I-Twilio-Idempotency-Token"),
        # Every Voice request is the one kind of event, `call`; its parameters say what happened.
        event_type=lambda _: "call",
        ok=Response(str(VoiceResponse()), mimetype="text/xml"),  # empty TwiML
        parse=lambda _raw: form_payload(request.form),
    )


if __name__ == "__main__":
    run(app)
