"""Adyen standard webhooks with the `Adyen` package (Adyen's Python API
library): `Adyen.util.is_valid_hmac_notification(item, hmac_key)` checks an
item's `additionalData.hmacSignature`, the base64 HMAC-SHA256, keyed with the
endpoint's hex HMAC key, of
`pspReference:originalReference:merchantAccountCode:merchantReference:amount.value:amount.currency:eventCode:success`.

The signature is inside the body and covers those fields, not the bytes: the
library takes the parsed item, so the body is parsed (losslessly: Python's
ints are exact) before it is verified: a body that is not a JSON object gets
400, one that does not verify 401. Every NotificationRequestItem is
verified, as Adyen's docs say; a batch with any item that fails is refused
with 401 and not handled. (Adyen's example app checks the first and only
item; Adyen sends one item per batch.) The event id is the first item's
`pspReference:eventCode:success`, which Adyen dedupes on. The answer is
`[accepted]`, which endpoints set up the older way must send."""

import binascii
import json
import sys

from Adyen.util import is_valid_hmac_notification

from common import DEFECT, SECRET, create_app, parse_body, receive, run

if DEFECT == "reserialize":
    sys.exit(
        "DEFECT=reserialize does not apply to adyen: the HMAC covers named fields of the parsed "
        "item, not the body's bytes, so verifying over a re-serialization changes nothing it covers"
    )
try:
    binascii.a2b_hex(SECRET)  # the library decodes it on every call; a bad key would 500 each delivery
except (binascii.Error, ValueError):
    sys.exit("WEBHOOK_SECRET must be the endpoint's HMAC key, in hex")

app = create_app("adyen")
ACCEPTED = "[accepted]"


def first_item(doc):
    try:
        item = doc["notificationItems"][0]["NotificationRequestItem"]
    except (KeyError, IndexError, TypeError):
        return None
    return item if isinstance(item, dict) else None


def _id_part(value):
    # Adyen sends `success` as the string "true"/"false"; anything else as JSON.
    return value if isinstance(value, str) else json.dumps(value)


def event_id(doc):
    """`pspReference:eventCode:success` of the first item (None without one)."""
    item = first_item(doc) if isinstance(doc, dict) else None
    if item is None or "pspReference" not in item:
        return None
    return ":".join(_id_part(item.get(k)) for k in ("pspReference", "eventCode", "success"))


def event_type(doc):
    item = first_item(doc)
    return item.get("eventCode") if item else None


def verified(raw):
    """Every item's hmacSignature checks out. The library verifies a parsed
    item, so the body is parsed first: 400 when it is not a JSON object
    (json-500: the parse error escapes), before any signature is looked at.
    The library raises rather than returning False for an item without
    `amount` or `additionalData.hmacSignature` (KeyError), an empty signature
    (ValueError) or a non-object (TypeError), and returns None for an item
    without `additionalData`."""
    parse_body(raw)
    try:
        doc = json.loads(raw)  # exact ints, whatever the defect: amount.value is signed as its digits
    except ValueError:  # an integer too long for int(), which float-numbers parsed as a float
        return False
    items = doc.get("notificationItems")
    if not isinstance(items, list) or not items:
        return False
    for entry in items:
        try:
            if not is_valid_hmac_notification(entry["NotificationRequestItem"], SECRET):
                return False
        except (KeyError, ValueError, TypeError, AttributeError):
            return False
    return True


@app.post("/webhooks/adyen")
def webhook():
    return receive(verified, ("invalid HMAC signature", 401), event_id, event_type, ok=(ACCEPTED, 200))


if __name__ == "__main__":
    run(app)
