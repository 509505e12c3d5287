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
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from flask import abort, request
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader

from common import DEFECT, SECRET, create_app, handled, loads, run, signed_text

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
    verifier = EventWebhook(public_key=public_key_b64(SECRET))
except ValueError as err:
    sys.exit(f"WEBHOOK_SECRET must be SendGrid's base64 verification key (or a P-256 private key in PEM): {err}")

app = create_app("sendgrid")
EVENT_TYPE = "events"  # the one event hookforge's manifest names


def _known_keys():
    """reject-unknown: the events' keys in the documented samples (each an array)."""
    keys = set()
    samples = Path(__file__).resolve().parents[3] / "vendors" / "sendgrid" / "samples"
    for path in sorted(samples.rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for item in doc if isinstance(doc, list) else []:
            if isinstance(item, dict):
                keys.update(item)
    if not keys:
        sys.exit(f"DEFECT=reject-unknown: no sample payloads in {samples}")
    return keys


KNOWN = _known_keys() if DEFECT == "reject-unknown" else None


def parse_batch(raw):
    """The verified body: 400 unless it is a JSON array of objects (json-500: a
    parse error escapes, so Flask answers 500)."""
    try:
        batch = loads(raw)
    except ValueError as err:
        if DEFECT == "json-500":
            raise
        abort(400, f"body is not JSON: {err}")
    if not isinstance(batch, list) or not all(isinstance(e, dict) for e in batch):
        abort(400, "body is not a JSON array of events")
    return batch


def verified(raw):
    payload = signed_text(raw)  # verify_signature takes a str and encodes it as UTF-8
    if payload is None:
        return False
    # Missing headers are passed as "": None + str raises TypeError, b64decode(None) too.
    signature = request.headers.get(EventWebhookHeader.SIGNATURE, "")
    timestamp = request.headers.get(EventWebhookHeader.TIMESTAMP, "")
    try:
        return verifier.verify_signature(payload, signature, timestamp)
    except (binascii.Error, ValueError):  # not base64 (or non-ASCII): b64decode raises
        return False


@app.post("/webhooks/sendgrid")
def webhook():
    raw = request.get_data()

    if DEFECT == "handle-before-verify":
        early = parse_batch(raw)
        handled(None, EVENT_TYPE, early)
        return ("", 200) if verified(raw) else ("Forbidden", 403)

    if not verified(raw):
        return "Forbidden", 403

    batch = parse_batch(raw)
    if KNOWN is not None:
        unknown = sorted({k for e in batch for k in e} - KNOWN)
        if unknown:
            abort(400, f"unknown field(s): {', '.join(unknown)}")
    handled(None, EVENT_TYPE, batch)
    return "", 200


if __name__ == "__main__":
    run(app)
