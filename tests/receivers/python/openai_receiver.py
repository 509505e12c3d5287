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

from common import SECRET, create_app, field, receive, run, verifier

try:
    if not binascii.a2b_base64(SECRET.removeprefix("whsec_")):  # the SDK decodes it on every call
        raise ValueError("empty")
except (binascii.Error, ValueError):
    raise SystemExit("WEBHOOK_SECRET must be the endpoint's signing secret, whsec_<base64>")

# The client wants credentials to be built; no API call is made, so the key is never used.
client = OpenAI(api_key="sk-unused", webhook_secret=SECRET)
app = create_app("openai")


@verifier(InvalidWebhookSignatureError, ValueError, TypeError)
def verified(body):
    """The SDK's verdict. Besides InvalidWebhookSignatureError it raises a bare
    ValueError for a missing (or empty) webhook-* header, UnicodeDecodeError
    for a body that is not UTF-8, and TypeError when a signature holds
    non-ASCII characters (hmac.compare_digest): all refusals here."""
    client.webhooks.verify_signature(body, request.headers)
    return True


@app.post("/webhooks/openai")
def webhook():
    webhook_id = request.headers.get("webhook-id") or None  # the same on every retry
    return receive(verified, ("Invalid signature", 400), lambda _: webhook_id, field("type"))


if __name__ == "__main__":
    run(app)
