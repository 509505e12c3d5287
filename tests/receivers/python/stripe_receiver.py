"""Stripe webhooks with stripe-python: `stripe.Webhook.construct_event` checks
Stripe-Signature (t=..,v1=..; 5 minutes' tolerance) over the raw body and
parses it into a stripe.Event, answering 400 as Stripe's docs do otherwise."""

import stripe
from flask import request

from common import DEFECT, SECRET, create_app, field, library_parsed, loads, receive, run, signed_body

app = create_app("stripe")


def constructed_event(raw):
    event = stripe.Webhook.construct_event(signed_body(raw), request.headers.get("Stripe-Signature"), SECRET)
    if DEFECT == "float-numbers":
        return stripe.Event.construct_from(loads(raw), stripe.api_key)
    return event


verified = library_parsed(constructed_event, stripe.SignatureVerificationError)


# The handler gets the stripe.Event; its id and type are read from its top-level fields.
@app.post("/webhooks/stripe")
def webhook():
    return receive(verified, ("invalid signature", 400), field("id"), field("type"))


if __name__ == "__main__":
    run(app)
