"""Razorpay webhooks with the `razorpay` package (Razorpay's Python SDK):
`client.utility.verify_webhook_signature(body, signature, secret)` checks
X-Razorpay-Signature, the hex HMAC-SHA256 of the raw body keyed with the
webhook secret, and raises `razorpay.errors.SignatureVerificationError` rather
than returning False; the receiver refuses with 400 otherwise. Nothing signed
carries a time. The event id is the x-razorpay-event-id header."""

import razorpay
from flask import request

from common import SECRET, create_app, field, header, receive, run, verifier

app = create_app("razorpay")
# No API key: only the webhook helper is used, which makes no API call and is
# given the webhook secret itself.
client = razorpay.Client()


# TypeError: a missing header is passed as "" (hmac.compare_digest(str, None)
# raises it), and compare_digest raises it for a str with non-ASCII characters.
@verifier(razorpay.errors.SignatureVerificationError, TypeError, text=True)
def verified(body):
    return client.utility.verify_webhook_signature(body, request.headers.get("X-Razorpay-Signature", ""), SECRET)


@app.post("/webhooks/razorpay")
def webhook():
    return receive(verified, ("invalid signature", 400), header("x-razorpay-event-id"), field("event"))


if __name__ == "__main__":
    run(app)
