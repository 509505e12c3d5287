"""HubSpot app webhooks with `hubspot-api-client` (HubSpot's Python SDK):
`hubspot.utils.signature.Signature.is_valid(signature=…, client_secret=…,
request_body=…, http_uri=…, http_method="POST", signature_version="v3",
timestamp=…)` checks X-HubSpot-Signature-v3, the base64 HMAC-SHA256, keyed
with the app's client secret, of `POST` + the request URL + the raw body +
X-HubSpot-Request-Timestamp (milliseconds), and raises
InvalidSignatureTimestampError for a timestamp missing, unreadable or 5
minutes old or more; the receiver refuses with 401 otherwise (HubSpot takes
400, 401, 403, 404 and 405 as a refusal and does not retry them).

The URL is `request.url` as Flask sees it, as for Square and Twilio: behind a
proxy that is not the URL HubSpot signed. The body is a JSON array of
notifications, one batch a delivery; hookforge's manifest gives a batch no id,
so it is reported with `event_id` null. HubSpot's docs say to deduplicate on
eventId together with subscriptionId and portalId (a retry repeats them and
raises attemptNumber): a batch whose notifications were all handled before is
acknowledged and not handled again."""

import sys
import threading

from flask import request
from hubspot.exceptions import InvalidSignatureTimestampError
from hubspot.utils.signature import Signature

from common import DEFECT, SECRET, batch_of, create_app, handled, receive, run, verifier

# A batch carries no id (hookforge's manifest has no `event_id`): there is
# none to record before verifying, so this seeded defect has no counterpart
# here and the receiver will not start with it (see ../README.md).
NOT_FOR_ID_LESS = {
    "record-before-verify": "a batch carries no id to record before verifying",
}
if DEFECT in NOT_FOR_ID_LESS:
    sys.exit(f"DEFECT={DEFECT} does not apply to hubspot: {NOT_FOR_ID_LESS[DEFECT]}")

app = create_app("hubspot")
EVENT_TYPE = "notifications"  # the one event hookforge's manifest names

_done = set()
_in_flight = set()
_lock = threading.Lock()


def notification_keys(batch):
    """(eventId, subscriptionId, portalId) of each notification, as HubSpot
    says to deduplicate; one without an eventId is not deduped."""
    return {
        (n.get("eventId"), n.get("subscriptionId"), n.get("portalId"))
        for n in batch
        if isinstance(n, dict) and n.get("eventId") is not None
    }


def claim(keys):
    """"new" (its keys now in flight), "done" (every one handled before: a
    retry) or "busy" (one is being handled by another request: try later)."""
    if DEFECT == "no-dedupe" or not keys:
        return "new"
    with _lock:
        if keys <= _done:
            return "done"
        if keys & _in_flight:
            return "busy"
        _in_flight.update(keys - _done)
        return "new"


def settle(keys, handled_ok):
    """Ends a claim: the keys handled (done) or not (free for a retry)."""
    if DEFECT == "no-dedupe":
        return
    with _lock:
        mine = keys & _in_flight
        _in_flight.difference_update(mine)
        if handled_ok:
            _done.update(mine)


# InvalidSignatureTimestampError: a timestamp missing, unreadable or too old.
# TypeError: compare_digest refuses a str with non-ASCII characters.
@verifier(InvalidSignatureTimestampError, TypeError, text=True)
def verified(body):
    # A missing signature is passed as "": hmac.compare_digest(str, None) raises TypeError.
    signature = request.headers.get("X-HubSpot-Signature-v3", "")
    return Signature.is_valid(
        signature=signature,
        client_secret=SECRET,
        request_body=body,
        http_uri=request.url,
        http_method=request.method,
        signature_version="v3",
        timestamp=request.headers.get("X-HubSpot-Request-Timestamp"),
    )


def handle(batch):
    """Handles a batch unless all its notifications were handled before."""
    keys = notification_keys(batch)
    state = claim(keys)
    if state == "done":
        return "", 200  # already handled: acknowledged, not handled again
    if state == "busy":
        return "being handled", 409  # not 2xx: HubSpot retries it
    try:
        handled(None, EVENT_TYPE, batch)
    except BaseException:
        settle(keys, False)  # not handled: a retry may try again
        raise
    settle(keys, True)
    return "", 200


@app.post("/webhooks/hubspot")
def webhook():
    return receive(
        verified,
        ("invalid signature", 401),
        lambda _: None,  # a batch has no id: `handle` dedupes its notifications
        lambda _: EVENT_TYPE,
        parse=batch_of("notifications"),
        handle=handle,
    )


if __name__ == "__main__":
    run(app)
