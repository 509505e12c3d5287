"""Clerk's webhooks, sent through Svix, with the `svix` package as Svix's (and
Clerk's) docs show: `Webhook(secret).verify(payload, headers)` checks svix-id,
svix-timestamp (5 minutes either way) and svix-signature (space-separated
`v1,<base64>`) over the raw body, keyed with the `whsec_` secret's base64
part; a failure raises WebhookVerificationError, answered 400 as Svix's
Flask example does. svix 2.x's verify returns None (it no longer parses the
body), so the verified raw body is parsed here, losslessly.

The vendor is Clerk; any Svix sender's deliveries look the same."""

from flask import request
from svix.webhooks import Webhook, WebhookVerificationError

from common import DEFECT, SECRET, create_app, handled, parse_body, record_before_verify, reject_unknown, run, signed_body

app = create_app("clerk")
wh = Webhook(SECRET)  # "whsec_<base64>"


@app.post("/webhooks/clerk")
def webhook():
    payload = request.get_data()
    headers = request.headers
    msg_id = headers.get("svix-id")  # the same on every retry

    if DEFECT == "handle-before-verify":
        early = parse_body(payload)
        handled(msg_id, early.get("type"), early)

    if record_before_verify(msg_id):
        return "", 204
    try:
        wh.verify(signed_body(payload), headers)
    except WebhookVerificationError:
        return "invalid signature", 400

    if DEFECT == "handle-before-verify":
        return "", 204
    body = parse_body(payload)  # 400 unless a JSON object (json-500: 500)
    reject_unknown(body)
    handled(msg_id, body.get("type"), body)
    return "", 204


if __name__ == "__main__":
    run(app)
