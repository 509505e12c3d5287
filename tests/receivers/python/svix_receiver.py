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

from common import SECRET, create_app, field, header, receive, run, verifier

app = create_app("clerk")
wh = Webhook(SECRET)  # "whsec_<base64>"


@verifier(WebhookVerificationError)
def verified(body):
    wh.verify(body, request.headers)  # None: 2.x does not parse
    return True


# The event id is the svix-id header, the same on every retry.
@app.post("/webhooks/clerk")
def webhook():
    return receive(verified, ("invalid signature", 400), header("svix-id"), field("type"), ok=("", 204))


if __name__ == "__main__":
    run(app)
