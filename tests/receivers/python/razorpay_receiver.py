"""Razorpay webhooks with the `razorpay` package (Razorpay's Python SDK):
`client.utility.verify_webhook_signature(body, signature, secret)` checks
X-Razorpay-Signature, the hex HMAC-SHA256 of the raw body keyed with the
webhook secret, and raises `razorpay.errors.SignatureVerificationError` rather
than returning False; the receiver refuses with 400 otherwise. Nothing signed
carries a time. The event id is the x-razorpay-event-id header."""

import razorpay
from flask import request

from common import (
    DEFECT,
    SECRET,
    create_app,
    handled,
    parse_body,
    record_before_verify,
    reject_unknown,
    run,
    signed_text,
)

app = create_app("razorpay")
# No API key: only the webhook helper is used, which makes no API call and is
# given the webhook secret itself.
client = razorpay.Client()


def verified(raw):
    body = signed_text(raw)
    if body is None:
        return False
    # A missing header is passed as "": hmac.compare_digest(str, None) raises TypeError.
    signature = request.headers.get("X-Razorpay-Signature", "")
    try:
        return client.utility.verify_webhook_signature(body, signature, SECRET)
    except razorpay.errors.SignatureVerificationError:
        return False
    except TypeError:  # compare_digest refuses a str with non-ASCII characters
        return False


@app.post("/webhooks/razorpay")
def webhook():
    raw = request.get_data()
    event_id = request.headers.get("x-razorpay-event-id")

    if DEFECT == "handle-before-verify":
        early = parse_body(raw)
        handled(event_id, early.get("event"), early)
        return ("", 200) if verified(raw) else ("invalid signature", 400)

    if record_before_verify(event_id):
        return "", 200
    if not verified(raw):
        return "invalid signature", 400

    payload = parse_body(raw)
    reject_unknown(payload)
    handled(event_id, payload.get("event"), payload)
    return "", 200


if __name__ == "__main__":
    run(app)
