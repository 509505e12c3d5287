"""What every Python receiver here shares: the environment contract, a
delivery's steps (`receive`), dedupe, the report to OBSERVE_URL, the seeded
defects and running the Flask app on 127.0.0.1:$PORT. The vendor libraries
themselves are used in *_receiver.py. See ../README.md."""

import datetime as _datetime
import hashlib
import json
import logging
import os
import sys
import threading
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

from flask import Flask, abort, g, redirect, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler, make_server

# The seeded defects' names, one list for every language: ../defects.txt
# (scripts/check-receivers asserts check catches each), then
# ../defects-missed.txt (implemented, switched on by hand: check misses them;
# see ../README.md, "Defects check misses").
DEFECTS = [
    name
    for file in ("defects.txt", "defects-missed.txt")
    for name in (Path(__file__).parent.parent / file).read_text().split()
]

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


# --- defects that read the vendor's manifest and samples (../defects.txt, ../defects-missed.txt) ---

_VENDOR = None  # set by create_app
_ROOT = Path(__file__).resolve().parents[3]

# Where a defect has no counterpart for a vendor: the receiver exits (as the
# vendor receivers do for theirs), saying "does not apply to <vendor>".
_APPLIES = {
    # Vendors whose library checks a signed timestamp (others sign no time,
    # or their library checks none: SendGrid).
    "ignore-timestamp": ({"stripe", "standard_webhooks", "slack", "clerk", "openai", "hubspot"},
                         "its library checks no signed timestamp"),
    # The vendors that batch events (Adyen's each signed in the body).
    "first-item-only": ({"hubspot", "sendgrid", "adyen"}, "check sends it no batch of several events"),
    "latin1-body": (lambda v: v != "twilio_voice", "a form's fields are decoded by werkzeug, not from the body text"),
    "reject-null": (lambda v: v != "twilio_voice", "form fields are strings, never null"),
    "reject-unknown-enum": (lambda v: v != "twilio_voice", "form fields have no schema enums"),
    "dedupe-on-body": (lambda v: v not in ("sendgrid", "hubspot"),
                       "no event id (HubSpot: its receiver dedupes each notification itself)"),
    "keep-id-on-failure": (lambda v: v != "sendgrid", "a batch carries no id to keep"),
    "case-sensitive-header": (lambda v: v != "adyen", "it reads no header: the signature, id and type are in the body"),
    "first-signature-only": ({"stripe", "standard_webhooks", "clerk", "openai"},
                             "its signature header carries one signature"),
}


def _check_applies(vendor):
    rule = _APPLIES.get(DEFECT)
    if rule is None:
        return
    applies, why = rule
    if not (applies(vendor) if callable(applies) else vendor in applies):
        sys.exit(f"DEFECT={DEFECT} does not apply to {vendor}: {why}")


# ignore-timestamp: the signature is verified, but against a clock that reads
# the delivery's own signed timestamp, so no delivery is ever too old or too
# new (what `tolerance=None`, or a hand-rolled check that skips the window, does).
_real_time = time.time
_real_datetime = _datetime.datetime
_clock = threading.local()


def _clock_time():
    frozen = getattr(_clock, "at", None)
    return _real_time() if frozen is None else frozen


class _ClockDatetime(_datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        frozen = getattr(_clock, "at", None)
        if frozen is None:
            return _real_datetime.now(tz)
        return _real_datetime.fromtimestamp(frozen, tz)


def _install_clock():
    time.time = _clock_time
    for name, mod in list(sys.modules.items()):
        if mod is None or name in ("time", "datetime", "_datetime", "_pydatetime", __name__):
            continue
        try:
            if getattr(mod, "time", None) is _real_time:
                mod.time = _clock_time
            if getattr(mod, "datetime", None) is _real_datetime:
                mod.datetime = _ClockDatetime
        except (AttributeError, TypeError):
            pass


def _signed_time():
    """The delivery's signed timestamp, in seconds (None if unreadable)."""
    h = request.headers
    try:
        if _VENDOR == "stripe":
            for part in h.get("Stripe-Signature", "").split(","):
                key, _, value = part.partition("=")
                if key.strip() == "t":
                    return float(value)
            return None
        if _VENDOR in ("standard_webhooks", "openai"):
            return float(h.get("webhook-timestamp"))
        if _VENDOR == "clerk":
            return float(h.get("svix-timestamp") or h.get("webhook-timestamp"))
        if _VENDOR == "slack":
            return float(h.get("X-Slack-Request-Timestamp"))
        if _VENDOR == "hubspot":
            return float(h.get("X-HubSpot-Request-Timestamp")) / 1000
    except (TypeError, ValueError):
        return None
    return None


def _verify(verify, raw):
    if DEFECT != "ignore-timestamp":
        return verify(raw)
    _clock.at = _signed_time()
    try:
        return verify(raw)
    finally:
        _clock.at = None


# first-signature-only: of a header that may carry several signatures (key
# rotation: Stripe's `v1=` entries, Standard Webhooks' space-separated
# `v1,` ones), only the first is given to the library.
_SIGNATURE_HEADERS = {
    "stripe": "HTTP_STRIPE_SIGNATURE",
    "standard_webhooks": "HTTP_WEBHOOK_SIGNATURE",
    "openai": "HTTP_WEBHOOK_SIGNATURE",
    "clerk": "HTTP_SVIX_SIGNATURE",
}


def _first_signature_only():
    key = _SIGNATURE_HEADERS.get(_VENDOR)
    value = request.environ.get(key) if key else None
    if not value:
        return
    if _VENDOR == "stripe":
        parts = [p for p in value.split(",")]
        sigs = [p for p in parts if p.strip().startswith("v1=")]
        kept = [p for p in parts if not p.strip().startswith("v1=")] + sigs[:1]
        request.environ[key] = ",".join(kept)
    else:
        request.environ[key] = value.split(" ")[0]


# first-item-only: a batch's handler takes its first item only.
def _first_item_only(payload):
    if isinstance(payload, list):
        return payload[:1]
    if isinstance(payload, dict) and isinstance(payload.get("notificationItems"), list):
        return {**payload, "notificationItems": payload["notificationItems"][:1]}
    return payload


# reject-null: a strict model per event type inferred from that event's
# samples (quicktype-like, as one would generate a struct per event): a null
# is refused (400) where no sample of the event has null at that path.
_nullable_keys = None
# reject-unknown-enum: a strict model generated from the vendor's event schema:
# a string its enum does not list is refused (400).
_enums = None


def _load_nullable_keys(vendor):
    """Per event type (its schema's title; `*`: any event), the paths
    (`/a/*/b`, `*` for any array index) some sample of it has null at."""
    paths = {"*": set()}

    def walk(x, path, into):
        if isinstance(x, dict):
            for k, v in x.items():
                if v is None:
                    into.add(f"{path}/{k}")
                walk(v, f"{path}/{k}", into)
        elif isinstance(x, list):
            for v in x:
                walk(v, f"{path}/*", into)

    base = _ROOT / "vendors" / vendor
    for folder in sorted(p for p in (base / "samples").iterdir() if p.is_dir()):
        try:
            title = json.loads((base / "events" / f"{folder.name}.json").read_text(encoding="utf-8"))["title"]
        except (OSError, ValueError, KeyError):
            title = folder.name
        into = paths.setdefault(title, set())
        for sample in sorted(folder.glob("*.json")):
            walk(json.loads(sample.read_text(encoding="utf-8")), "", into)
        paths["*"] |= into
    return paths


def _load_enums(vendor):
    """The vendor's event schemas (vendors/<vendor>/events/<type>.json) with
    their definitions: a model generated from them (enums as Literal types)."""
    base = _ROOT / "vendors" / vendor
    definitions = {}
    for path in [base / "definitions.json", *sorted((base / "events").glob("*.json"))]:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict):
            definitions.update(doc.get("definitions") or {})
            definitions.update(doc.get("$defs") or {})
    events = {}
    for path in sorted((base / "events").glob("*.json")):
        events[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return {"definitions": definitions, "events": events}


def _type_fits(schema, value):
    """Whether a branch of anyOf/oneOf could describe `value` (by its `type`)."""
    for _ in range(10):
        if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            schema = _enums["definitions"].get(schema["$ref"].rsplit("/", 1)[-1])
        else:
            break
    if not isinstance(schema, dict) or "type" not in schema:
        return True
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    kind = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value))
    if kind is None:
        kind = "integer" if isinstance(value, int) else "number"
    return kind in types or (kind == "integer" and "number" in types)


def _enum_violation(schema, value, path, depth=0):
    """Where `value` has a string its schema's enum does not list (None if nowhere)."""
    definitions = _enums["definitions"]
    for _ in range(10):  # $ref chains
        if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            schema = definitions.get(schema["$ref"].rsplit("/", 1)[-1])
        else:
            break
    if not isinstance(schema, dict) or depth > 40:
        return None
    enum = schema.get("enum")
    if isinstance(value, str) and isinstance(enum, list) and enum and all(isinstance(e, (str, type(None))) for e in enum):
        if value not in enum:
            return f"{path}: unknown value {value!r}"
    for sub in schema.get("allOf") or []:
        if found := _enum_violation(sub, value, path, depth + 1):
            return found
    for alt in ("anyOf", "oneOf"):
        branches = [b for b in schema.get(alt) or [] if _type_fits(b, value)]
        if branches:
            found = [_enum_violation(sub, value, path, depth + 1) for sub in branches]
            if all(found):
                return found[0]
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            sub = props.get(k, extra if isinstance(extra, dict) else None)
            if sub is not None and (found := _enum_violation(sub, v, f"{path}/{k}", depth + 1)):
                return found
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(value):
            if found := _enum_violation(schema["items"], v, f"{path}/{i}", depth + 1):
                return found
    return None


def _strict_values(payload, event_type=None):
    """reject-null and reject-unknown-enum: 400 for a value the strict model refuses."""
    if _enums is not None and event_type in _enums["events"]:
        if found := _enum_violation(_enums["events"][event_type], payload, ""):
            abort(400, found)
    if _nullable_keys is None:
        return
    nullable = _nullable_keys.get(event_type, _nullable_keys["*"])

    def walk(x, path):
        if isinstance(x, dict):
            for k, v in x.items():
                if v is None and f"{path}/{k}" not in nullable:
                    abort(400, f"{path}/{k}: null is not allowed")
                walk(v, f"{path}/{k}")
        elif isinstance(x, list):
            for v in x:
                walk(v, f"{path}/*")

    walk(payload, "")


def _slow_ack():
    """slow-ack: the work is done before answering and takes longer than the
    vendor's time budget (the manifest's delivery.timeout_secs) plus a second."""
    try:
        manifest = json.loads((_ROOT / "vendors" / _VENDOR / "manifest.json").read_text())
        budget = float(manifest["delivery"]["timeout_secs"])
    except (OSError, ValueError, KeyError, TypeError):
        budget = 10.0
    time.sleep(budget + 1)


class _LowercaseOnlyHeaders(WSGIRequestHandler):
    """case-sensitive-header: headers are looked up by one exact spelling, the
    lowercase one (`event["headers"]["stripe-signature"]` in a Lambda, a dict
    built from the raw header list): a header sent under any other spelling
    (Title-Case, as HTTP/1.1 clients send it) is never found."""

    def make_environ(self):
        environ = super().make_environ()
        for name in self.headers.keys():
            if name != name.lower() and name.lower() not in ("content-type", "content-length", "host"):
                environ.pop("HTTP_" + name.upper().replace("-", "_"), None)
        return environ


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
    # dedupe-on-body: the key is a hash of the body, not the event id.
    key = hashlib.sha256(request.get_data()).hexdigest() if DEFECT == "dedupe-on-body" else event_id
    if dedupe:
        with _seen_lock:
            if key in _seen:
                return False
            _seen.add(key)
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
        # keep-id-on-failure: the id stays recorded, so the vendor's retry of a
        # delivery whose handling failed is acknowledged and never handled.
        if dedupe and DEFECT != "keep-id-on-failure":
            with _seen_lock:
                _seen.discard(key)  # not handled: a redelivery may try again
        raise
    if DEFECT == "slow-ack":
        _slow_ack()
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
    if DEFECT == "latin1-body":
        # The body read as text in Latin-1 (a servlet's or PHP's default for a
        # Content-Type without charset), and that text used as UTF-8 thereafter.
        raw = raw.decode("latin-1").encode("utf-8")
    if DEFECT == "first-signature-only":
        _first_signature_only()

    if DEFECT == "handle-before-verify":
        early = parse(raw)
        handled(event_id(early), event_type(early), early)
        return ok if verify(raw) else refused

    if _record_before_verify(raw, event_id):
        return ok
    verdict = _verify(verify, raw)
    if not verdict:
        # 200-on-bad-signature: acknowledged (so the vendor never retries or
        # alerts) but dropped.
        return ok if DEFECT == "200-on-bad-signature" else refused

    payload = verdict.payload if isinstance(verdict, _Parsed) else parse(raw)
    fields = _fields(payload)
    if handshake is not None and (answer := handshake(fields)) is not None:
        return answer
    reject_unknown(fields)
    if _nullable_keys is not None or _enums is not None:  # reject-null, reject-unknown-enum
        # (stripe's Event as plain JSON, nested objects included)
        _strict_values(payload.to_dict() if hasattr(payload, "to_dict") else payload, event_type(fields))
    if DEFECT == "first-item-only":
        payload = _first_item_only(payload)
    if handle is not None:
        return handle(payload)
    handled(event_id(fields), event_type(fields), payload)
    return ok


class Receiver(Flask):
    def log_exception(self, exc_info):
        # One log line per request: the error goes on the request's line.
        g.error = f"{exc_info[0].__name__}: {exc_info[1]}"


def create_app(vendor):
    global _VENDOR
    _VENDOR = vendor
    _check_applies(vendor)
    app = Receiver(__name__)
    app.config["vendor"] = vendor

    if DEFECT == "redirect":
        # redirect: the route is /webhooks/<vendor>/ and the URL without the
        # slash is answered 301 to it (Django's APPEND_SLASH, a framework's
        # strict slashes).
        @app.before_request
        def append_slash():
            if request.path == f"/webhooks/{vendor}":
                return redirect(request.path + "/" + (f"?{request.query_string.decode()}" if request.query_string else ""), 301)
            return None

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
    global _nullable_keys, _enums
    if DEFECT == "reject-unknown":
        _known_keys = _load_known_keys(vendor)
    if DEFECT == "reject-null":
        _nullable_keys = _load_nullable_keys(vendor)
    if DEFECT == "reject-unknown-enum":
        _enums = _load_enums(vendor)
    if DEFECT == "ignore-timestamp":
        _install_clock()  # the vendor libraries are imported by now
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # our own line per request instead
    # Bound before the line is printed: scripts/check-receivers waits for the
    # line, so a port another listener holds is never taken for this one's.
    handler = _LowercaseOnlyHeaders if DEFECT == "case-sensitive-header" else None
    server = make_server("127.0.0.1", PORT, app, threaded=True, request_handler=handler)
    print(
        f"{vendor} receiver on http://127.0.0.1:{PORT}/webhooks/{vendor}" + (f" DEFECT={DEFECT}" if DEFECT else ""),
        file=sys.stderr,
        flush=True,
    )
    server.serve_forever()
