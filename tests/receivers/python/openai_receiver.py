"""OpenAI API webhooks with the `openai` package, as OpenAI's webhook guide
shows: `client.webhooks.verify_signature(payload, headers)` (what
`client.webhooks.unwrap` calls before it parses) checks webhook-id,
webhook-timestamp (300 s either way) and webhook-signature (space-separated
`v1,<base64>`, Standard Webhooks) over the raw body, keyed with the base64
after the endpoint's `whsec_` secret. A failure raises
InvalidWebhookSignatureError, answered 400 as the guide's Flask example does.

Not `unwrap` itself: it `json.loads()` the body into the SDK's typed event
models (`construct_type`), not the payload OpenAI sent; the receiver parses
the verified raw body itself, losslessly, as elsewhere. The event id is the
`webhook-id` header, the same on every retry."""

import binascii

from flask import request
from openai import InvalidWebhookSignatureError, OpenAI

from common import DEFECT, SECRET, create_app, handled, parse_body, record_before_verify, reject_unknown, run, signed_body

try:
    if not binascii.a2b_base64(SECRET.removeprefix("whsec_")):  # the SDK decodes it on every call
        raise ValueError("empty")
except (binascii.Error, ValueError):
    raise SystemExit("WEBHOOK_SECRET must be the endpoint's signing secret, whsec_<base64>")

# The client wants credentials to be built; no API call is made, so the key is never used.
client = OpenAI(api_key="sk-unused", webhook_secret=SECRET)
app = create_app("openai")


def verified(raw):
    """The SDK's verdict. Besides InvalidWebhookSignatureError it raises a bare
    ValueError for a missing (or empty) webhook-* header, UnicodeDecodeError
    for a body that is not UTF-8, and TypeError when a signature holds
    non-ASCII characters (hmac.compare_digest): all refusals here."""
    try:
        client.webhooks.verify_signature(signed_body(raw), request.headers)
    except (InvalidWebhookSignatureError, ValueError, TypeError):
        return False
    return True


@app.post("/webhooks/openai")
def webhook():
    raw = request.get_data()
    webhook_id = request.headers.get("webhook-id") or None  # the same on every retry

    if DEFECT == "handle-before-verify":
        early = parse_body(raw)
        handled(webhook_id, early.get("type"), early)
        return ("", 200) if verified(raw) else ("Invalid signature", 400)

    if record_before_verify(webhook_id):
        return "", 200
    if not verified(raw):
        return "Invalid signature", 400

    payload = parse_body(raw)  # 400 unless a JSON object (json-500: 500)
    reject_unknown(payload)
    handled(webhook_id, payload.get("type"), payload)
    return "", 200


if __name__ == "__main__":
    run(app)
