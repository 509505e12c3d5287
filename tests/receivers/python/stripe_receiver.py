"""Stripe webhooks with stripe-python: `stripe.Webhook.construct_event` checks
Stripe-Signature (t=..,v1=..; 5 minutes' tolerance) over the raw body and
parses it into a stripe.Event, answering 400 as Stripe's docs do otherwise."""

import stripe
from flask import request

from common import (
    DEFECT,
    SECRET,
    body_field,
    create_app,
    handled,
    loads,
    parse_body,
    record_before_verify,
    reject_unknown,
    run,
    signed_body,
)

app = create_app("stripe")


@app.post("/webhooks/stripe")
def webhook():
    payload = request.get_data()
    sig_header = request.headers.get("Stripe-Signature")

    if DEFECT == "handle-before-verify":
        early = parse_body(payload)
        handled(early.get("id"), early.get("type"), early)

    if record_before_verify(body_field(payload, "id")):
        return "", 200
    try:
        event = stripe.Webhook.construct_event(signed_body(payload), sig_header, SECRET)
    except stripe.SignatureVerificationError:
        return "invalid signature", 400
    except ValueError:  # not JSON (or not UTF-8)
        if DEFECT == "json-500":
            raise
        return "invalid payload", 400

    if DEFECT == "handle-before-verify":
        return "", 200
    if DEFECT == "float-numbers":
        event = stripe.Event.construct_from(loads(payload), stripe.api_key)
    top = event.to_dict(recursive=False)  # a stripe.Event is no dict: no .get()
    reject_unknown(top)
    handled(top.get("id"), top.get("type"), event)
    return "", 200


if __name__ == "__main__":
    run(app)
