"""What every Python receiver here shares: the environment contract, a
delivery's steps (`receive`), dedupe, the report to OBSERVE_URL, the seeded
defects and running the Flask app on 127.0.0.1:$PORT. The vendor libraries
themselves are used in *_receiver.py. See ../README.md."""

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
from werkzeug.serving import make_server

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


def batch_of(what):
    """`receive`'s parse for a vendor that sends a batch: 400 unless the
    verified body is a JSON array of objects (`what`: what its items are)."""

    def parse_batch(raw):
        batch = _parsed(raw)
        if not isinstance(batch, list) or not all(isinstance(item, dict) for item in batch):
            abort(400, f"body is not a JSON array of {what}")
        return batch

    return parse_batch


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


def _unverified(raw):
    """The top-level fields of a body not yet verified ({} if it is no JSON object)."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _record_before_verify(raw, event_id):
    """record-before-verify: dedupes before the signature is checked, on the id
    `event_id` reads from the body not yet verified (or a header), marking it
    handled, so after a refused delivery an authentic one with its id looks
    like a redelivery: acknowledged and never handled. True for an id already
    seen (answered 2xx at once)."""
    if DEFECT != "record-before-verify":
        return False
    seen_id = event_id(_unverified(raw))
    if seen_id is None:
        return False
    with _seen_lock:
        if seen_id in _seen:
            return True
        _seen.add(seen_id)
    return False


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


def verifier(*refusals, text=False):
    """Makes `check(body)`, the call of the vendor's library, the `verify(raw)`
    that `receive` takes. `check` gets the body as signed (`signed_body`; with
    text=True `signed_text`, and a body that is not UTF-8 is refused without a
    call), and its raising one of `refusals` refuses the delivery as returning
    False does: several libraries raise rather than answer False."""

    def wrap(check):
        def verify(raw):
            body = signed_text(raw) if text else signed_body(raw)
            if body is None:
                return False
            try:
                return check(body)
            except refusals:
                return False

        return verify

    return wrap


class _Parsed:
    """A verdict that is also the payload: what the library parsed as it verified."""

    def __init__(self, payload):
        self.payload = payload


def library_parsed(check, refusal):
    """The `verify` for a library that parses the body as it verifies it
    (stripe, standardwebhooks): `check(raw)` returns what it parsed, which is
    then the payload, and raises `refusal` for a bad signature and ValueError
    for a body that is not JSON (400; json-500: the error escapes, 500)."""

    def verify(raw):
        try:
            return _Parsed(check(raw))
        except refusal:
            return False
        except ValueError:  # not JSON (or not UTF-8)
            if DEFECT == "json-500":
                raise
            abort(400, "invalid payload")

    return verify


def _fields(payload):
    # A library's object (stripe's Event is no dict: no .get()) as its top-level fields.
    return payload.to_dict(recursive=False) if hasattr(payload, "to_dict") else payload


def field(name):
    """Reads a top-level field: `receive`'s event_id or event_type."""
    return lambda fields: fields.get(name)


def header(name):
    """Reads a header: `receive`'s event_id, for a vendor that sends the id there."""
    return lambda _fields: request.headers.get(name)


def receive(verify, refused, event_id, event_type, ok=("", 200), parse=parse_body, handshake=None, handle=None):
    """One delivery, as every receiver here takes it (../README.md): the raw
    body verified by the vendor's library, `verify(raw)` (falsy: answered
    `refused`, not handled), then parsed, `parse(raw)`, then handled once per
    event id and answered `ok`. `event_id(fields)` and `event_type(fields)`
    read the top-level fields (or a header); record-before-verify gives
    `event_id` the body not yet verified. Optional: `handshake(fields)`, the
    answer to a delivery that is no event (not handled), else None;
    `handle(payload)`, which handles it in place of `handled` and gives the
    answer (HubSpot dedupes per notification). The seeded defects that reorder
    these steps are here: handle-before-verify and record-before-verify."""
    raw = request.get_data()

    if DEFECT == "handle-before-verify":
        early = parse(raw)
        handled(event_id(early), event_type(early), early)
        return ok if verify(raw) else refused

    if _record_before_verify(raw, event_id):
        return ok
    verdict = verify(raw)
    if not verdict:
        return refused

    payload = verdict.payload if isinstance(verdict, _Parsed) else parse(raw)
    fields = _fields(payload)
    if handshake is not None and (answer := handshake(fields)) is not None:
        return answer
    reject_unknown(fields)
    if handle is not None:
        return handle(payload)
    handled(event_id(fields), event_type(fields), payload)
    return ok


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
    # Bound before the line is printed: scripts/check-receivers waits for the
    # line, so a port another listener holds is never taken for this one's.
    server = make_server("127.0.0.1", PORT, app, threaded=True)
    print(
        f"{vendor} receiver on http://127.0.0.1:{PORT}/webhooks/{vendor}" + (f" DEFECT={DEFECT}" if DEFECT else ""),
        file=sys.stderr,
        flush=True,
    )
    server.serve_forever()
