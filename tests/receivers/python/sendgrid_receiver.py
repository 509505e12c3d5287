"""Twilio SendGrid's Signed Event Webhook with the `sendgrid` package:
`EventWebhook(public_key).verify_signature(payload, signature, timestamp)`
(sendgrid.helpers.eventwebhook) checks X-Twilio-Email-Event-Webhook-Signature,
the base64 DER ECDSA P-256/SHA-256 signature of
X-Twilio-Email-Event-Webhook-Timestamp followed by the raw body, against the
verification key SendGrid's settings show (base64 DER). A delivery that fails
is refused with 403.

The body is a JSON array of email events, one batch a delivery; hookforge's
manifest gives a batch no id and names the one event `events`, so it is
reported with `event_id` null and not deduped. The SDK checks no time.

WEBHOOK_SECRET is the base64 public key. For tests it may instead be a P-256
private key in PEM (what `hookforge keygen --vendor sendgrid` prints and
`hookforge check --secret` takes); the public key is then derived from it, and
EventWebhook still gets only the public key."""

import base64
import binascii
import sys

from cryptography.hazmat.primitives import serialization
from flask import request
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader

from common import DEFECT, SECRET, batch_of, create_app, receive, run, verifier

# A batch carries no id (hookforge's manifest has no `event_id`): there is
# nothing to dedupe on or to record, so these seeded defects have no
# counterpart here and the receiver will not start with them (see ../README.md).
NOT_FOR_ID_LESS = {
    "no-dedupe": "a batch carries no id to dedupe on",
    "record-before-verify": "a batch carries no id to record before verifying",
}
if DEFECT in NOT_FOR_ID_LESS:
    sys.exit(f"DEFECT={DEFECT} does not apply to sendgrid: {NOT_FOR_ID_LESS[DEFECT]}")


def public_key_b64(secret):
    """The base64 DER public key, as SendGrid shows it; derived from a PEM private key."""
    if "-----BEGIN" not in secret:
        return secret.strip()
    key = serialization.load_pem_private_key(secret.encode(), password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


try:
    event_webhook = EventWebhook(public_key=public_key_b64(SECRET))
except ValueError as err:
    sys.exit(f"WEBHOOK_SECRET must be SendGrid's base64 verification key (or a P-256 private key in PEM): {err}")

app = create_app("sendgrid")
EVENT_TYPE = "events"  # the one event hookforge's manifest names


# verify_signature takes a str and encodes it as UTF-8 (text=True). A signature
# that is not base64 (or not ASCII) makes b64decode raise binascii.Error or ValueError.
@verifier(binascii.Error, ValueError, text=True)
def verified(payload):
    # Missing headers are passed as "": None + str raises TypeError, b64decode(None) too.
    signature = request.headers.get(EventWebhookHeader.SIGNATURE, "")
    timestamp = request.headers.get(EventWebhookHeader.TIMESTAMP, "")
    return event_webhook.verify_signature(payload, signature, timestamp)


@app.post("/webhooks/sendgrid")
def webhook():
    return receive(verified, ("Forbidden", 403), lambda _: None, lambda _: EVENT_TYPE, parse=batch_of("events"))


if __name__ == "__main__":
    run(app)
