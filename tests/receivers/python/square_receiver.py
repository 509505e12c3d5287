"""Square webhooks with the `squareup` package (Square's Python SDK):
`square.utils.webhooks_helper.verify_signature(request_body=…,
signature_header=…, signature_key=…, notification_url=…)` checks
x-square-hmacsha256-signature, the base64 HMAC-SHA256 of the notification URL
followed by the raw body, answering 403 as Square's docs' example does
otherwise. (`WebhooksHelper.is_valid_webhook_event_signature` is the name in
the SDK before 42.0.0, published since as the separate `squareup_legacy`.)

Square signs the notification URL it posts to, so the receiver validates
against the URL it is reached at, `request.url` as Flask sees it (scheme,
Host header, path and query), as the Twilio receiver does. Behind a proxy that
terminates TLS or rewrites Host that is not the URL Square signed: use
werkzeug's ProxyFix, or configure the public URL (Square's docs hard-code it)."""

from flask import request
from square.utils.webhooks_helper import verify_signature

from common import SECRET, create_app, field, receive, run, verifier

app = create_app("square")


@verifier(text=True)
def verified(body):
    # A missing header is passed as "": the helper calls .encode() on it.
    signature = request.headers.get("x-square-hmacsha256-signature", "")
    return verify_signature(request_body=body, signature_header=signature, signature_key=SECRET, notification_url=request.url)


@app.post("/webhooks/square")
def webhook():
    return receive(verified, ("invalid signature", 403), field("event_id"), field("type"))


if __name__ == "__main__":
    run(app)
