"""Standard Webhooks with the `standardwebhooks` package: `Webhook(secret).verify`
checks webhook-id, webhook-timestamp (5 minutes) and webhook-signature
(v1,<base64>) over the raw body and returns the parsed JSON; a failure raises
WebhookVerificationError, answered 400."""

from flask import abort, request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from common import DEFECT, SECRET, create_app, field, header, library_parsed, loads, receive, run, signed_body

app = create_app("standard_webhooks")
wh = Webhook(SECRET)  # "whsec_<base64>"


def verified_payload(raw):
    payload = wh.verify(signed_body(raw), request.headers)
    if DEFECT == "float-numbers":
        payload = loads(raw)
    if not isinstance(payload, dict):
        abort(400, "payload is not a JSON object")
    return payload


verified = library_parsed(verified_payload, WebhookVerificationError)


@app.post("/webhooks/standard_webhooks")
def webhook():
    return receive(verified, ("invalid signature", 400), header("webhook-id"), field("type"), ok=("", 204))


if __name__ == "__main__":
    run(app)
