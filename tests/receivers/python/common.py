"""What every Python receiver here shares: the environment contract, dedupe,
the report to OBSERVE_URL, the seeded defects and running the Flask app on
127.0.0.1:$PORT. The vendor libraries themselves are used in *_receiver.py.
See ../README.md."""

import json
import logging
import os
import sys
import threading
import urllib.request
from decimal import Decimal
from pathlib import Path

from flask import Flask, abort, g, request
from werkzeug.exceptions import HTTPException

# The seeded defects' names, one list for every language (../defects.txt).
DEFECTS = (Path(__file__).parent.parent / "defects.txt").read_text().split()

try:
    PORT = int(os.environ["PORT"])
    SECRET = os.environ["WEBHOOK_SECRET"]
except (KeyError, ValueError):
    sys.exit("PORT (a port number) and WEBHOOK_SECRET must be set")
OBSERVE_URL = os.environ.get("OBSERVE_URL", "").rstrip("/")
DEFECT = os.environ.get("DEFECT", "")
if DEFECT and DEFECT not in DEFECTS:
    sys.exit(f"unknown DEFECT={DEFECT}; known: {', '.join(DEFECTS)}")


def loads(raw):
    """JSON as the handlers read it. Python's ints are exact; float-numbers
    reads every integer as a float, so 9007199254740993 becomes 9007199254740992.0."""
    if DEFECT == "float-numbers":
        return json.loads(raw, parse_int=float)
    return json.loads(raw)


def _parsed(raw):
    """The verified body as JSON: 400 when it is not (json-500: the parse
    error escapes, so Flask answers 500)."""
    try:
        return loads(raw)
    except ValueError as err:
        if DEFECT == "json-500":
            raise
        abort(400, f"body is not JSON: {err}")


def parse_body(raw):
    """The verified body: 400 when it is not a JSON object."""
    payload = _parsed(raw)
    if not isinstance(payload, dict):
        abort(400, "body is not a JSON object")
    return payload


def parse_batch(raw, what):
    """The verified body of a vendor that sends a batch: 400 unless it is a
    JSON array of objects (`what`: what its items are)."""
    batch = _parsed(raw)
    if not isinstance(batch, list) or not all(isinstance(item, dict) for item in batch):
        abort(400, f"body is not a JSON array of {what}")
    return batch


def signed_body(raw):
    """What the signature is checked over: the raw bytes (reserialize: a
    re-serialization of the parsed body)."""
    if DEFECT != "reserialize":
        return raw
    try:
        return json.dumps(json.loads(raw), separators=(",", ":")).encode()
    except ValueError:
        return raw


def signed_text(raw):
    """`signed_body` as text, for SDK helpers that take a string and hash its
    UTF-8 encoding; None when the bytes are not UTF-8 (nothing to verify)."""
    try:
        return signed_body(raw).decode("utf-8")
    except UnicodeDecodeError:
        return None


# reject-unknown: a strict model whose known top-level keys are those of the
# vendor's documented samples (vendors/<vendor>/samples/**/*.json).
_known_keys = None


def _load_known_keys(vendor):
    samples = Path(__file__).resolve().parents[3] / "vendors" / vendor / "samples"
    keys = set()
    for path in sorted(samples.rglob("*.json")):
        sample = json.loads(path.read_text(encoding="utf-8"))
        # A batch (HubSpot, SendGrid: a JSON array): its events' keys.
        for item in sample if isinstance(sample, list) else [sample]:
            if isinstance(item, dict):
                keys.update(item)
    if not keys:
        sys.exit(f"DEFECT=reject-unknown: no sample payloads in {samples}")
    return keys


def reject_unknown(payload):
    """reject-unknown: 400 for a key no sample has (in a batch, any event's)."""
    if _known_keys is None:
        return
    items = payload if isinstance(payload, list) else [payload]
    keys = {k for item in items if isinstance(item, dict) for k in item}
    unknown = sorted(keys - _known_keys)
    if unknown:
        abort(400, f"unknown field(s): {', '.join(unknown)}")


_seen = set()
_seen_lock = threading.Lock()


def _json_default(value):
    # Library objects (stripe's StripeObject, also inside nested lists) and
    # the Decimals stripe makes of its decimal strings.
    if hasattr(value, "to_dict"):
        return value.to_dict(for_json=True)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def record_before_verify(event_id):
    """record-before-verify: dedupes before the signature is checked, marking
    the id handled, so after a refused delivery an authentic one with its id
    looks like a redelivery: acknowledged and never handled. True for an id
    already seen (answered 2xx at once)."""
    if DEFECT != "record-before-verify" or event_id is None:
        return False
    with _seen_lock:
        if event_id in _seen:
            return True
        _seen.add(event_id)
    return False


def body_field(raw, name):
    """A top-level field of a body not yet verified (None if it is no JSON object)."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    return doc.get(name) if isinstance(doc, dict) else None


def handled(event_id, event_type, payload):
    """Dedupe by event id, then handle: report to OBSERVE_URL. False for a
    redelivery of an id already handled (acknowledged, not handled again)."""
    # record-before-verify deduped already, before verifying.
    dedupe = event_id is not None and DEFECT not in ("no-dedupe", "record-before-verify")
    if dedupe:
        with _seen_lock:
            if event_id in _seen:
                return False
            _seen.add(event_id)
    try:
        if OBSERVE_URL:
            body = json.dumps(
                {"event_id": event_id, "event_type": event_type, "payload": payload},
                default=_json_default,
            ).encode()
            req = urllib.request.Request(
                f"{OBSERVE_URL}/handled",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=10) as resp:
                if resp.status != 204:
                    raise RuntimeError(f"observer answered {resp.status}")
    except BaseException:
        if dedupe:
            with _seen_lock:
                _seen.discard(event_id)  # not handled: a redelivery may try again
        raise
    return True


class Receiver(Flask):
    def log_exception(self, exc_info):
        # One log line per request: the error goes on the request's line.
        g.error = f"{exc_info[0].__name__}: {exc_info[1]}"


def create_app(vendor):
    app = Receiver(__name__)
    app.config["vendor"] = vendor

    @app.errorhandler(HTTPException)
    def plain_text(err):
        return err.description, err.code

    @app.after_request
    def log_request(response):
        why = g.get("error") or ("" if response.status_code < 300 else response.get_data(as_text=True)[:200])
        line = f"{vendor}: {request.method} {request.full_path.rstrip('?')} -> {response.status_code} {why}"
        print(" ".join(line.split()), file=sys.stderr, flush=True)
        return response

    return app


def run(app):
    global _known_keys
    vendor = app.config["vendor"]
    if DEFECT == "reject-unknown":
        _known_keys = _load_known_keys(vendor)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # our own line per request instead
    print(
        f"{vendor} receiver on http://127.0.0.1:{PORT}/webhooks/{vendor}" + (f" DEFECT={DEFECT}" if DEFECT else ""),
        file=sys.stderr,
        flush=True,
    )
    app.run(host="127.0.0.1", port=PORT, threaded=True)
