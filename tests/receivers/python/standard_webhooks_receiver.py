"""Standard Webhooks with the `standardwebhooks` package: `Webhook(secret).verify`
checks webhook-id, webhook-timestamp (5 minutes) and webhook-signature
(v1,<base64>) over the raw body and returns the parsed JSON; a failure raises
WebhookVerificationError, answered 400."""

from flask import request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from common import DEFECT, SECRET, create_app, handled, loads, parse_body, record_before_verify, reject_unknown, run, signed_body

app = create_app("standard_webhooks")
wh = Webhook(SECRET)  # "whsec_<base64>"


@app.post("/webhooks/standard_webhooks")
def webhook():
    raw = request.get_data()
    msg_id = request.headers.get("webhook-id")

    if DEFECT == "handle-before-verify":
        early = parse_body(raw)
        handled(msg_id, early.get("type"), early)

    if record_before_verify(msg_id):
        return "", 204
    try:
        payload = wh.verify(signed_body(raw), request.headers)
    except WebhookVerificationError:
        return "invalid signature", 400
    except ValueError:  # verified, but not JSON
        if DEFECT == "json-500":
            raise
        return "invalid payload", 400

    if DEFECT == "handle-before-verify":
        return "", 204
    if DEFECT == "float-numbers":
        payload = loads(raw)
    if not isinstance(payload, dict):
        return "payload is not a JSON object", 400
    reject_unknown(payload)
    handled(msg_id, payload.get("type"), payload)
    return "", 204


if __name__ == "__main__":
    run(app)
