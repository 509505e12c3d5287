#!/usr/bin/env python3
"""Smoke test of the receivers in receivers.txt, without hookforge: for each,
starts it (careful, then each seeded defect) against a local observer and sends
a few deliveries signed with the vendor SDK's own helper where there is one
(stripe's WebhookSignature.generate_signature_header, standardwebhooks'
Webhook.sign, also for OpenAI, which delivers per Standard Webhooks,
slack_sdk's SignatureVerifier.generate_signature, twilio's
RequestValidator.compute_signature, svix's Webhook.sign; Adyen with the Adyen
library's generate_notification_sig, in the body; GitHub, Shopify, Paddle,
Square, Linear, Razorpay, Box, Coinbase Commerce and Notion by hand,
HMAC-SHA256 as their docs say: none of openai, @paddle/paddle-node-sdk,
squareup, @linear/sdk, razorpay and box-node-sdk has a signing helper;
coinbase-commerce-node's Webhook.computeSignature and @notionhq/client's
signWebhookPayload are that same HMAC, in Node; HubSpot with
hubspot-api-client's Signature.get_signature; Discord (Ed25519) and SendGrid
(ECDSA P-256) with `cryptography`: neither discord-interactions nor
sendgrid's EventWebhook signs).

Run from the receivers venv (scripts/receivers-install makes it):
  target/receivers-venv/bin/python tests/receivers/smoke.py [VENDOR...]
Prints one line per check; exits 1 if any failed. Loopback only."""

import base64
import hashlib
import hmac
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import stripe
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hubspot.utils.signature import Signature as HubSpotSignature
from slack_sdk.signature import SignatureVerifier
from standardwebhooks.webhooks import Webhook
from svix.webhooks import Webhook as SvixWebhook
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIG = 9007199254740993  # 2^53 + 1: a double rounds it to 9007199254740992
DEFECTS = ["no-dedupe", "float-numbers", "handle-before-verify", "json-500", "reject-unknown", "reserialize", "record-before-verify"]
# Vendors that send forms (application/x-www-form-urlencoded), not JSON, and
# the defects their receivers have no counterpart for: they will not start.
FORM_VENDORS = {"twilio_voice"}
NOT_FOR_FORMS = {"json-500", "float-numbers", "reserialize"}
# Other defects a receiver declines ("does not apply"), per vendor: Adyen's HMAC
# covers named fields of the parsed item, not the body's bytes.
DECLINED = {"adyen": {"reserialize"}}
# Vendors whose deliveries carry no event id (their manifests have no
# `event_id`): nothing is deduped, and the defects that need an id have no
# counterpart, so their receivers decline them.
ID_LESS = {"discord", "sendgrid"}
for _vendor in ID_LESS:
    DECLINED.setdefault(_vendor, set()).update({"no-dedupe", "record-before-verify"})
# HubSpot names no event id either, but its notifications carry eventId,
# subscriptionId and portalId, which its docs say to dedupe on: its receiver
# dedupes on them and declines only the defect that needs an id to record.
DECLINED.setdefault("hubspot", set()).add("record-before-verify")
# Vendors whose body is a JSON array (a batch of notifications), not an object.
BATCH_VENDORS = {"hubspot", "sendgrid"}
WHSEC_VENDORS = {"standard_webhooks", "clerk", "openai"}


def top(payload):
    """The object a test adds fields to: a batch's first element, else the body."""
    return payload[0] if isinstance(payload, list) else payload


# Key pairs for the vendors that sign with a private key: the receiver is given
# the public key (as the vendor's settings show it), deliveries are signed with
# the matching private key. One pair for secret_for, one for wrong_secret.
def _seed(name):
    return hashlib.sha256(f"hookforge smoke {name}".encode()).digest()


_DISCORD_KEYS = [Ed25519PrivateKey.from_private_bytes(_seed(f"discord {n}")) for n in ("right", "wrong")]
_SENDGRID_KEYS = [
    ec.derive_private_key(int.from_bytes(_seed(f"sendgrid {n}"), "big") % (2**255) + 1, ec.SECP256R1())
    for n in ("right", "wrong")
]


def discord_public(key):
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def sendgrid_public(key):
    """The base64 DER public key, the form SendGrid's settings show."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


PRIVATE_KEYS = {discord_public(k): k for k in _DISCORD_KEYS} | {sendgrid_public(k): k for k in _SENDGRID_KEYS}


def wrong_secret(vendor):
    """A secret that is not the receiver's, in the vendor's format."""
    if vendor in WHSEC_VENDORS:
        return "whsec_" + base64.b64encode(b"another secret").decode()
    if vendor == "adyen":
        return hashlib.sha256(b"another secret").hexdigest().upper()
    if vendor == "discord":
        return discord_public(_DISCORD_KEYS[1])
    if vendor == "sendgrid":
        return sendgrid_public(_SENDGRID_KEYS[1])
    return secret_for(vendor) + "x"


def receivers():
    out = {}
    for line in (HERE / "receivers.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            vendor, command = line.split("\t", 1)
            out[vendor] = command
    return out


def secret_for(vendor):
    if vendor in WHSEC_VENDORS:
        return "whsec_" + base64.b64encode(b"hookforge smoke secret 0123456789").decode()
    if vendor == "adyen":  # the endpoint's HMAC key is hex
        return hashlib.sha256(b"hookforge smoke secret").hexdigest().upper()
    if vendor == "discord":  # the app's public key, hex
        return discord_public(_DISCORD_KEYS[0])
    if vendor == "sendgrid":  # the verification key, base64 DER
        return sendgrid_public(_SENDGRID_KEYS[0])
    return "hookforge-smoke-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Observer:
    """POST /handled bodies, answered 204."""

    def __init__(self):
        self.reports = []
        observer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                observer.reports.append((self.path, json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self):
        taken, self.reports = self.reports, []
        return taken


# --- the vendors' deliveries -------------------------------------------------


def adyen_sign(doc, secret, signed=True):
    """Adyen signs inside the body: each item's additionalData.hmacSignature,
    made with the Adyen library's own generate_notification_sig (over the item
    without its additionalData). Unsigned: the signature removed. Mutates doc."""
    from Adyen.util import generate_notification_sig

    for entry in doc.get("notificationItems", []):
        item = entry["NotificationRequestItem"]
        extra = item.setdefault("additionalData", {})
        extra.pop("hmacSignature", None)
        if signed:
            rest = {k: v for k, v in item.items() if k != "additionalData"}
            extra["hmacSignature"] = generate_notification_sig(rest, secret).decode()
    return doc


def adyen_id(item):
    """Adyen's event id: pspReference:eventCode:success of the (first) item."""
    return f"{item['pspReference']}:{item['eventCode']}:{item['success']}"


def event(vendor, event_id, kind="known"):
    """(payload, event type the receiver should report, id it should report)."""
    unknown = kind == "unknown"
    if vendor == "github":
        p = {"action": "opened", "issue": {"number": 1347}, "repository": {"id": 1296269}, "sender": {"login": "octocat"}}
        t = "hookforge_unknown.opened" if unknown else "issues.opened"
        return p, t, event_id
    if vendor == "shopify":
        p = {"id": 820982911946154508, "email": "jon@example.com", "total_price": "10.00", "line_items": []}
        return p, "hookforge/unknown" if unknown else "orders/create", event_id
    if vendor == "stripe":
        t = "hookforge.unknown" if unknown else "charge.succeeded"
        p = {
            "id": event_id,
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "data": {"object": {"id": "ch_1", "object": "charge", "amount": 100, "currency": "usd"}},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": t,
        }
        return p, t, event_id
    if vendor == "standard_webhooks":
        t = "hookforge.unknown" if unknown else "invoice.paid"
        return {"type": t, "timestamp": "2024-06-01T00:00:00Z", "data": {"id": "inv_1", "amount": 100}}, t, event_id
    if vendor == "slack":
        t = "hookforge_unknown" if unknown else "app_mention"
        p = {
            "token": "XXYYZZ",
            "team_id": "T123ABC456",
            "api_app_id": "A123ABC456",
            "event": {"type": t, "user": "U123ABC456", "text": "hi", "ts": "1515449522.000016", "channel": "C123ABC456"},
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
        }
        return p, t, event_id
    if vendor == "twilio_voice":
        # Form fields, all strings; every Voice request is the one event `call`.
        p = {
            "AccountSid": "AC00000000000000000000000000000000",
            "ApiVersion": "2010-04-01",
            "CallSid": "CA1234567890ABCDE",
            "CallStatus": "ringing",
            "Called": "+18005551212",
            "Caller": "+14158675309",
            "Direction": "inbound",
            "From": "+14158675309",
            "To": "+18005551212",
        }
        if unknown:
            p["CallStatus"] = "hookforge-unknown"
        return p, "call", event_id
    if vendor == "clerk":
        t = "hookforge.unknown" if unknown else "user.created"
        p = {
            "data": {"id": "user_29w83sxmDNGwOuEthce5gg56FcC", "object": "user", "first_name": "Example"},
            "event_attributes": {"http_request": {"client_ip": "0.0.0.0", "user_agent": "smoke"}},
            "instance_id": "ins_123",
            "object": "event",
            "timestamp": 1654012591835,
            "type": t,
        }
        return p, t, event_id
    if vendor == "paddle":
        t = "hookforge.unknown" if unknown else "transaction.completed"
        p = {
            "event_id": event_id,
            "event_type": t,
            "occurred_at": datetime.now(timezone.utc).isoformat(),
            "notification_id": "ntf_01h8bzam1z32agrxjwhjgqk8w6",
            "data": {"id": "txn_01h8bx4zfbqqfp5mypqhkn2bbs", "status": "completed", "currency_code": "USD"},
        }
        return p, t, event_id
    if vendor == "square":
        t = "hookforge.unknown" if unknown else "payment.created"
        p = {
            "merchant_id": "6SSW7HV8K2ST5",
            "type": t,
            "event_id": event_id,
            "created_at": "2024-06-01T00:00:00Z",
            "data": {"type": "payment", "id": "KkAkhdMsgzn59SM8A89WgKwekxLZY", "object": {"payment": {"id": "KkAkhdMsgzn59SM8A89WgKwekxLZY"}}},
        }
        return p, t, event_id
    if vendor == "linear":
        # Linear-Event is the entity (`Issue`), the body's `type`; the event is it joined with `action`.
        t = "HookforgeUnknown.create" if unknown else "Issue.create"
        p = {
            "action": "create",
            "actor": {"id": "80e102b0-0000-4000-8000-044bcfb4cd39", "name": "Smoke", "type": "user"},
            "createdAt": "2024-06-01T00:00:00.000Z",
            "data": {"id": "236e0fe8-0000-4000-8000-b2df06e33810", "number": 11, "title": "smoke", "priority": 0},
            "url": "https://linear.app/example/issue/EX-11/smoke",
            "type": t.split(".")[0],
            "organizationId": "8ab2d2d4-0000-4000-8000-5a6d0ce3b3a1",
            "webhookTimestamp": int(time.time() * 1000),  # @linear/sdk refuses one more than 60 s off
            "webhookId": "000042e3-0000-4000-8000-d48d2ad2e0a4",
        }
        return p, t, event_id
    if vendor == "razorpay":
        # The event id is the x-razorpay-event-id header; the body has none.
        t = "hookforge.unknown" if unknown else "payment.captured"
        p = {
            "entity": "event",
            "account_id": "acc_BFQ7uQEaa7j2z7",
            "event": t,
            "contains": ["payment"],
            "payload": {"payment": {"entity": {"id": "pay_DESlfW9H8K9uqM", "entity": "payment", "amount": 100, "currency": "INR", "status": "captured"}}},
            "created_at": int(time.time()),
        }
        return p, t, event_id
    if vendor == "box":
        t = "HOOKFORGE.UNKNOWN" if unknown else "FILE.UPLOADED"
        p = {
            "type": "webhook_event",
            "id": event_id,
            "created_at": datetime.now(timezone.utc).isoformat(),
            "trigger": t,
            "webhook": {"id": "1234567890", "type": "webhook"},
            "created_by": {"type": "user", "id": "2", "name": "Smoke"},
            "source": {"id": "1234567890", "type": "file", "name": "smoke.txt"},
            "additional_info": [],
        }
        return p, t, event_id
    if vendor == "coinbase_commerce":
        # The event id and type are inside `event`; the top-level `id` is the delivery's.
        t = "hookforge:unknown" if unknown else "charge:created"
        p = {
            "id": 1,
            "scheduled_for": datetime.now(timezone.utc).isoformat(),
            "attempt_number": 1,
            "event": {
                "id": event_id,
                "resource": "event",
                "type": t,
                "api_version": "2018-03-22",
                "created_at": datetime.now(timezone.utc).isoformat(),
                "data": {"code": "66BEOV2A", "name": "smoke", "pricing_type": "no_price", "payments": []},
            },
        }
        return p, t, event_id
    if vendor == "openai":
        # A thin event (its object's id in `data`); the event id is the webhook-id header.
        t = "hookforge.unknown" if unknown else "response.completed"
        p = {"id": "evt_685343a1381c819085d44c354e1b330e", "type": t, "created_at": int(time.time()), "data": {"id": "resp_abc123"}}
        return p, t, event_id
    if vendor == "notion":
        # The event id is the body's `id`.
        t = "hookforge.unknown" if unknown else "page.created"
        p = {
            "id": event_id,
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "workspace_id": "13950b26-c203-4f3b-b97d-93ec06319565",
            "workspace_name": "Smoke",
            "subscription_id": "29d75c0d-5546-4414-8459-7b7a92f1fc4b",
            "integration_id": "0ef2e755-4912-8096-91c1-00376a88a5ca",
            "type": t,
            "authors": [{"id": "c7c11cca-1d73-471d-9b6e-bdef51470190", "type": "person"}],
            "attempt_number": 1,
            "entity": {"id": "153104cd-477e-809d-8dc4-ff2d96ae3090", "type": "page"},
            "data": {"parent": {"id": "0ef104cd-477e-80e1-8571-cfd10e92339a", "type": "page"}},
        }
        return p, t, event_id
    if vendor == "adyen":
        # Signed in the body; the event id is pspReference:eventCode:success.
        t = "HOOKFORGE_UNKNOWN" if unknown else "AUTHORISATION"
        item = {
            "additionalData": {"authCode": "1234"},
            "amount": {"currency": "EUR", "value": 1000},
            "eventCode": t,
            "eventDate": "2024-06-01T00:00:00+01:00",
            "merchantAccountCode": "SmokeMerchant",
            "merchantReference": "smoke-ref-é",
            "paymentMethod": "visa",
            "pspReference": event_id,
            "reason": "",
            "success": "true",
        }
        p = adyen_sign({"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}, secret_for(vendor))
        return p, t, adyen_id(item)
    if vendor == "discord":
        # A webhook event (`type` 1, no `token`); the event type is /event/type. No id.
        t = "HOOKFORGE_UNKNOWN" if unknown else "APPLICATION_AUTHORIZED"
        p = {
            "version": 1,
            "application_id": "1234560123453231555",
            "type": 1,
            "event": {
                "type": t,
                "timestamp": datetime.now(timezone.utc).isoformat(),
                "data": {"integration_type": 0, "scopes": ["applications.commands"], "user": {"id": "80351110224678912", "username": "smoke"}},
            },
        }
        return p, t, None
    if vendor == "hubspot":
        # A batch of notifications; the delivery is the one event `notifications`. No id.
        n = int(hashlib.sha256(event_id.encode()).hexdigest()[:8], 16)
        p = [
            {
                "eventId": n,
                "subscriptionId": 3923621,
                "portalId": 48807704,
                "appId": 16111050,
                "occurredAt": int(time.time() * 1000),
                "subscriptionType": "hookforge.unknown" if unknown else "contact.creation",
                "attemptNumber": 0,
                "objectId": 138017612137,
                "changeFlag": "CREATED",
                "changeSource": "CRM_UI",
            }
        ]
        return p, "notifications", None
    if vendor == "sendgrid":
        # A batch of email events; the delivery is the one event `events`. No id.
        p = [
            {
                "email": "smoke@example.com",
                "timestamp": int(time.time()),
                "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
                "event": "hookforge_unknown" if unknown else "delivered",
                "category": "smoke",
                "sg_event_id": base64.b64encode(event_id.encode()).decode(),
                "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
                "response": "250 OK",
            }
        ]
        return p, "events", None
    raise ValueError(vendor)


def form_params(raw):
    """A form body's fields as the receiver's Flask reads them (a MultiDict)."""
    return MultiDict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))


def form_fields(payload):
    """The form a JSON object of strings (lists for repeated fields) is sent as."""
    return urllib.parse.urlencode(payload, doseq=True).encode()


def headers_for(vendor, secret, event_id, event_type, raw, url):
    h = {"Content-Type": "application/json"}
    if vendor == "github":
        sig = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        h |= {
            "X-GitHub-Event": event_type.split(".")[0],
            "X-GitHub-Delivery": event_id,
            "X-Hub-Signature-256": f"sha256={sig}",
        }
    elif vendor == "shopify":
        sig = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
        h |= {
            "X-Shopify-Topic": event_type,
            "X-Shopify-Webhook-Id": event_id,
            "X-Shopify-Hmac-Sha256": sig,
            "X-Shopify-Shop-Domain": "example.myshopify.com",
            "X-Shopify-API-Version": "2025-07",
            "X-Shopify-Event-Id": f"ev-{event_id}",
            "X-Shopify-Triggered-At": datetime.now(timezone.utc).isoformat(),
        }
    elif vendor == "stripe":
        h["Stripe-Signature"] = stripe.WebhookSignature.generate_signature_header(raw.decode(), secret)
    elif vendor in ("standard_webhooks", "openai"):
        # OpenAI delivers per the Standard Webhooks spec; the openai package has no signing helper.
        now = datetime.now(timezone.utc)
        h |= {
            "webhook-id": event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(event_id, now, raw),
        }
    elif vendor == "slack":
        ts = str(int(time.time()))
        h |= {
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=raw),
        }
    elif vendor == "twilio_voice":
        # The URL requested, then the fields sorted by name (RequestValidator's own helper).
        h = {
            "Content-Type": "application/x-www-form-urlencoded",
            "I-Twilio-Idempotency-Token": event_id,
            "X-Twilio-Signature": RequestValidator(secret).compute_signature(url, form_params(raw)),
        }
    elif vendor == "paddle":
        # ts=<unix seconds>;h1=<hex HMAC-SHA256 of "<ts>:<body>">, the secret used as given.
        ts = str(int(time.time()))
        sig = hmac.new(secret.encode(), ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
        h["Paddle-Signature"] = f"ts={ts};h1={sig}"
    elif vendor == "square":
        # base64 HMAC-SHA256 of the notification URL followed by the body.
        sig = base64.b64encode(hmac.new(secret.encode(), url.encode() + raw, hashlib.sha256).digest()).decode()
        h["x-square-hmacsha256-signature"] = sig
    elif vendor == "linear":
        # hex HMAC-SHA256 of the body; the freshness is the body's own webhookTimestamp.
        h = {
            "Content-Type": "application/json; charset=utf-8",
            "Linear-Delivery": event_id,
            "Linear-Event": event_type.split(".")[0],
            "Linear-Signature": hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(),
        }
    elif vendor == "razorpay":
        h |= {
            "x-razorpay-event-id": event_id,
            "X-Razorpay-Signature": hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(),
        }
    elif vendor == "box":
        # base64 HMAC-SHA256 of the body followed by BOX-DELIVERY-TIMESTAMP (RFC 3339).
        ts = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        h |= {
            "BOX-DELIVERY-ID": f"delivery-{event_id}",
            "BOX-DELIVERY-TIMESTAMP": ts,
            "BOX-SIGNATURE-PRIMARY": base64.b64encode(hmac.new(secret.encode(), raw + ts.encode(), hashlib.sha256).digest()).decode(),
            "BOX-SIGNATURE-VERSION": "1",
            "BOX-SIGNATURE-ALGORITHM": "HmacSHA256",
        }
    elif vendor == "notion":
        # sha256=<hex HMAC-SHA256 of the body>, keyed with the verification token
        # (@notionhq/client's signWebhookPayload computes the same).
        h["X-Notion-Signature"] = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    elif vendor == "coinbase_commerce":
        # hex HMAC-SHA256 of the body (coinbase-commerce-node's Webhook.computeSignature).
        h["X-CC-Webhook-Signature"] = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    elif vendor == "clerk":
        now = datetime.now(timezone.utc)
        h |= {
            "svix-id": event_id,
            "svix-timestamp": str(int(now.timestamp())),
            "svix-signature": SvixWebhook(secret).sign(event_id, now, raw),
        }
    elif vendor == "discord":
        # hex Ed25519 signature of the timestamp followed by the body, with the
        # private key of the public key `secret`.
        ts = str(int(time.time()))
        h |= {
            "X-Signature-Timestamp": ts,
            "X-Signature-Ed25519": PRIVATE_KEYS[secret].sign(ts.encode() + raw).hex(),
        }
    elif vendor == "hubspot":
        # v3: base64 HMAC-SHA256 of POST + URL + body + timestamp (ms), by
        # hubspot-api-client's own Signature.get_signature.
        ts = str(int(time.time() * 1000))
        h |= {
            "X-HubSpot-Request-Timestamp": ts,
            "X-HubSpot-Signature-v3": HubSpotSignature.get_signature(secret, raw.decode("utf-8"), "v3", url, "POST", ts),
        }
    elif vendor == "sendgrid":
        # base64 DER ECDSA P-256/SHA-256 signature of the timestamp followed by
        # the body, with the private key of the public key `secret`.
        ts = str(int(time.time()))
        sig = PRIVATE_KEYS[secret].sign(ts.encode() + raw, ec.ECDSA(hashes.SHA256()))
        h |= {
            "X-Twilio-Email-Event-Webhook-Timestamp": ts,
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(sig).decode(),
        }
    return h


def post(url, raw, headers):
    req = urllib.request.Request(url, data=raw, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def known_keys(vendor):
    """The top-level keys of the samples (a batch's: its elements')."""
    keys = set()
    for path in (ROOT / "vendors" / vendor / "samples").rglob("*.json"):
        sample = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(sample, dict) and not (vendor in BATCH_VENDORS and path.name == "provenance.json"):
            keys.update(sample)
        elif isinstance(sample, list) and vendor in BATCH_VENDORS:
            for item in sample:
                if isinstance(item, dict):
                    keys.update(item)
    return keys


# --- running -----------------------------------------------------------------


class Run:
    """One receiver process (one DEFECT) and the checks made against it."""

    def __init__(self, smoke, vendor, command, defect, observer):
        self.smoke, self.vendor, self.defect, self.observer = smoke, vendor, defect, observer
        self.secret = secret_for(vendor)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/webhooks/{vendor}"
        env = dict(os.environ, PORT=str(port), WEBHOOK_SECRET=self.secret, OBSERVE_URL=observer.url)
        env.pop("DEFECT", None)
        if defect:
            env["DEFECT"] = defect
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(shlex.split(command), cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        self.up = False
        # The receiver prints this once it has bound the port; a connection
        # could reach another run's listener on it instead (runs go in parallel).
        bound = f"receiver on http://127.0.0.1:{port}/".encode()
        while time.monotonic() < deadline and self.proc.poll() is None:
            # pread: the receiver writes through the same file offset.
            if bound in os.pread(self.log.fileno(), 1 << 16, 0):
                self.up = True
                break
            time.sleep(0.1)
        observer.take()
        self.n = 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def check(self, what, ok, detail=""):
        self.smoke.record(f"{self.vendor}/{self.defect or 'careful'}: {what}", ok, detail)

    def new_id(self):
        self.n += 1
        return f"smoke-{self.defect or 'careful'}-{self.n}-{time.time_ns()}"

    def send(self, payload=None, raw=None, event_id=None, event_type=None, secret=None, signed=True):
        """Send a delivery; answers (status, reports made while handling it)."""
        if raw is None:
            raw = form_fields(payload) if self.vendor in FORM_VENDORS else json.dumps(payload).encode()
        if self.vendor == "adyen" and (not signed or (secret or self.secret) != self.secret):
            # The signature is in the body: sign it again (or strip it).
            try:
                raw = json.dumps(adyen_sign(json.loads(raw), secret or self.secret, signed)).encode()
            except ValueError:
                pass
        h = headers_for(self.vendor, secret or self.secret, event_id, event_type, raw, self.url)
        if not signed:
            signatures = ("X-Hub-Signature-256", "X-Shopify-Hmac-Sha256", "Stripe-Signature", "webhook-signature", "X-Slack-Signature", "X-Twilio-Signature", "svix-signature", "Paddle-Signature", "x-square-hmacsha256-signature", "Linear-Signature", "X-Razorpay-Signature", "BOX-SIGNATURE-PRIMARY", "X-CC-Webhook-Signature", "X-Notion-Signature", "X-Signature-Ed25519", "X-HubSpot-Signature-v3", "X-Twilio-Email-Event-Webhook-Signature")
            for k in signatures:
                h.pop(k, None)
        status = post(self.url, raw, h)
        return status, [body for path, body in self.observer.take() if path == "/handled"]

    def reported_once(self, what, status, reports, payload, event_type, event_id):
        ok = 200 <= status < 300 and len(reports) == 1
        detail = f"status {status}, {len(reports)} report(s)"
        if ok:
            r = reports[0]
            ok = r.get("event_id") == event_id and r.get("event_type") == event_type and r.get("payload") == payload
            detail = f"report {json.dumps(r)[:300]}"
        self.check(what, ok, detail)


class Smoke:
    def __init__(self):
        self.passed = self.failed = 0

    def record(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok    {what}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL  {what}: {detail}", flush=True)

    def careful(self, run):
        v = run.vendor
        p, t, eid = event(v, run.new_id())
        status, reports = run.send(p, event_id=eid, event_type=t)
        run.reported_once("a signed delivery is handled and reported as sent", status, reports, p, t, eid)
        status, reports = run.send(p, event_id=eid, event_type=t)
        if v in ID_LESS:
            run.reported_once("the same delivery again: no id to dedupe on, handled again", status, reports, p, t, eid)
        else:
            run.check("the same delivery again: 2xx, not handled again", 200 <= status < 300 and not reports, f"status {status}, {len(reports)} report(s)")
        p, t, eid = event(v, run.new_id())
        status, reports = run.send(p, event_id=eid, event_type=t, secret=wrong_secret(v))
        run.check("a wrong signature is refused (4xx), not handled", 400 <= status < 500 and not reports, f"status {status}, {len(reports)} report(s)")
        status, reports = run.send(p, event_id=eid, event_type=t)
        run.reported_once("the refused id, then correctly signed: handled", status, reports, p, t, eid)
        p, t, eid = event(v, run.new_id())
        status, reports = run.send(p, event_id=eid, event_type=t, signed=False)
        run.check("an unsigned delivery is refused (4xx), not handled", 400 <= status < 500 and not reports, f"status {status}, {len(reports)} report(s)")
        if v == "notion":
            # The one-time verification request carries the token later events are signed with: unsigned.
            status, reports = run.send(raw=b'{"verification_token":"secret_smoke_token"}', signed=False)
            run.check("the unsigned verification request: 200, not handled", status == 200 and not reports, f"status {status}, {len(reports)} report(s)")
        if v == "discord":
            # The two PINGs, signed: handshakes, answered as discord-interactions' middlewares do, not reported.
            status, reports = run.send({"version": 1, "application_id": "1234560123453231555", "type": 0})
            run.check("the webhook PING (type 0): 204, not handled", status == 204 and not reports, f"status {status}, {len(reports)} report(s)")
            ping = {"type": 1, "id": "1190000000000000000", "application_id": "1180000000000000000", "token": "aW50ZXJhY3Rpb246MTE5", "version": 1}
            status, reports = run.send(ping)
            run.check("the interaction PING (type 1, token): 200, not handled", status == 200 and not reports, f"status {status}, {len(reports)} report(s)")
        if v in FORM_VENDORS:
            self.careful_form(run)
        else:
            eid = run.new_id()
            status, reports = run.send(raw=b'{"id": "not json', event_id=eid, event_type=event(v, eid)[1])
            run.check("signed non-JSON: 400, not handled", status == 400 and not reports, f"status {status}, {len(reports)} report(s)")
            p, t, eid = event(v, run.new_id())
            top(p)["hookforge_big"] = BIG
            status, reports = run.send(p, event_id=eid, event_type=t)
            run.reported_once(f"{BIG} is reported exactly", status, reports, p, t, eid)
            p, t, eid = event(v, run.new_id())
            raw = json.dumps(p, indent=2, ensure_ascii=False).encode()
            status, reports = run.send(raw=raw, event_id=eid, event_type=t)
            run.reported_once("a pretty-printed body verifies over its own bytes", status, reports, p, t, eid)
        self.samples(run)
        p, t, eid = event(v, run.new_id(), kind="unknown")
        top(p)["hookforge_extra"] = "é" if v in FORM_VENDORS else {"nested": [1, "é"]}  # a form field is a string
        status, reports = run.send(p, event_id=eid, event_type=t)
        run.reported_once("an unknown event type with an unknown field is handled", status, reports, p, t, eid)

    def careful_form(self, run):
        """What a form receiver must get right instead of JSON bytes."""
        v = run.vendor
        p, t, eid = event(v, run.new_id())
        p["MediaUrl"] = ["https://example.com/b", "https://example.com/a"]
        status, reports = run.send(p, event_id=eid, event_type=t)
        run.reported_once("a repeated field verifies and is reported as its values in order", status, reports, p, t, eid)
        p, t, eid = event(v, run.new_id())
        p["SpeechResult"] = "Hello, world & more: 100% é"
        raw = "&".join(f"{urllib.parse.quote(k)}={urllib.parse.quote(val, safe='')}" for k, val in reversed(p.items())).encode()
        status, reports = run.send(raw=raw, event_id=eid, event_type=t)
        run.reported_once("fields in another order, spaces as %20: verifies over the decoded fields", status, reports, p, t, eid)
        p, t, eid = event(v, run.new_id())
        p[str(BIG)] = str(BIG)
        status, reports = run.send(p, event_id=eid, event_type=t)
        run.reported_once(f"a field {BIG} stays the string it was", status, reports, p, t, eid)

    def samples(self, run):
        """Every documented sample (vendors/<vendor>/samples/<event>/*.json) is
        handled and reported as sent. Body ids are made fresh: the samples
        share theirs, and a careful receiver handles an id once."""
        v = run.vendor
        for path in sorted((ROOT / "vendors" / v / "samples").glob("*/*.json")):
            raw = path.read_bytes()
            p = json.loads(raw)
            # No event id to make fresh (HubSpot's batch has none: its eventIds are made fresh below).
            eid = None if v in ID_LESS or v == "hubspot" else run.new_id()
            if v == "stripe":
                p["id"] = eid
            elif v in ("slack", "paddle", "square"):
                p["event_id"] = eid
            elif v == "linear":
                # @linear/sdk refuses a body without a webhookTimestamp within 60 s of now.
                p["webhookTimestamp"] = int(time.time() * 1000)
            elif v == "box":
                p["id"] = eid
            elif v == "coinbase_commerce":
                p["event"]["id"] = eid
            elif v == "notion":
                p["id"] = eid
            elif v == "hubspot":
                # Each notification a fresh eventId: the receiver dedupes on it, as HubSpot says to.
                for i, n in enumerate(p):
                    n["eventId"] = int(hashlib.sha256(f"{run.new_id()}{i}".encode()).hexdigest()[:8], 16)
            elif v == "adyen":
                # Each item signed (some samples are unsigned), the first with a fresh pspReference.
                item = p["notificationItems"][0]["NotificationRequestItem"]
                item["pspReference"] = eid
                eid = adyen_id(item)
                adyen_sign(p, run.secret)
            if v in ("stripe", "slack", "paddle", "square", "linear", "box", "coinbase_commerce", "adyen", "notion", "hubspot"):
                raw = json.dumps(p).encode()
            elif v in FORM_VENDORS:
                raw = form_fields(p)
            name = path.parent.name
            if v == "github":
                t = f"{name.split('.')[0]}.{p['action']}" if isinstance(p.get("action"), str) else name.split(".")[0]
                header_type = name
            elif v == "shopify":
                t = header_type = name.replace("-", "/", 1)
            elif v == "slack":
                t = header_type = p["event"]["type"]
            elif v == "twilio_voice":
                t = header_type = "call"
            elif v == "paddle":
                t = header_type = p.get("event_type")
            elif v == "linear":
                t = header_type = name  # Linear-Event is the part before the first `.`
            elif v == "razorpay":
                t = header_type = p.get("event")
            elif v == "box":
                t = header_type = p.get("trigger")
            elif v == "coinbase_commerce":
                t = header_type = p["event"]["type"]
            elif v == "adyen":
                t = header_type = p["notificationItems"][0]["NotificationRequestItem"]["eventCode"]
            elif v == "discord":
                t = header_type = p["event"]["type"]
            elif v == "hubspot":
                t = header_type = "notifications"
            elif v == "sendgrid":
                t = header_type = "events"
            else:
                t = header_type = p.get("type")
            status, reports = run.send(raw=raw, event_id=eid, event_type=header_type)
            run.reported_once(f"sample {path.relative_to(ROOT / 'vendors')}", status, reports, p, t, eid)

    def defect(self, run):
        v, d = run.vendor, run.defect
        p, t, eid = event(v, run.new_id())
        if d == "no-dedupe":
            run.send(p, event_id=eid, event_type=t)
            status, reports = run.send(p, event_id=eid, event_type=t)
            run.check("a repeated id is handled again", 200 <= status < 300 and len(reports) == 1, f"status {status}, {len(reports)} report(s)")
        elif d == "float-numbers":
            top(p)["hookforge_big"] = BIG
            status, reports = run.send(p, event_id=eid, event_type=t)
            got = top(reports[0]["payload"]).get("hookforge_big") if reports else None
            run.check(f"{BIG} comes back as {BIG - 1}", got == BIG - 1, f"status {status}, reported {got!r}")
        elif d == "handle-before-verify":
            status, reports = run.send(p, event_id=eid, event_type=t, secret=wrong_secret(v))
            run.check("a wrong signature is refused but handled", 400 <= status < 500 and len(reports) == 1, f"status {status}, {len(reports)} report(s)")
        elif d == "record-before-verify":
            status, reports = run.send(p, event_id=eid, event_type=t, secret=wrong_secret(v))
            run.check("a wrong signature is refused (4xx), not handled", 400 <= status < 500 and not reports, f"status {status}, {len(reports)} report(s)")
            status, reports = run.send(p, event_id=eid, event_type=t)
            run.check("the refused id, then correctly signed: 2xx, never handled", 200 <= status < 300 and not reports, f"status {status}, {len(reports)} report(s)")
        elif d == "json-500":
            status, reports = run.send(raw=b'{"id": "not json', event_id=eid, event_type=t)
            run.check("signed non-JSON: 500", status == 500 and not reports, f"status {status}, {len(reports)} report(s)")
        elif d == "reject-unknown":
            keys = known_keys(v)
            if not keys:
                run.check("no samples: refuses to start", not run.up and run.proc.poll() not in (None, 0), run.output()[-300:])
                return
            only_known = [{k: n[k] for k in n if k in keys} for n in p] if isinstance(p, list) else {k: p[k] for k in p if k in keys}
            status, reports = run.send(only_known, event_id=eid, event_type=t)
            run.check("a body with only sample keys is accepted", 200 <= status < 300, f"status {status}")
            p, t, eid = event(v, run.new_id())
            top(p)["hookforge_extra"] = 1
            status, reports = run.send(p, event_id=eid, event_type=t)
            run.check("an extra top-level field is refused (400)", status == 400 and not reports, f"status {status}, {len(reports)} report(s)")
        elif d == "reserialize":
            if v == "shopify":
                p["id"] = 450789469  # Shopify's ids pass 2^53: JSON.parse would change the bytes for that alone
            raw = json.dumps(p, separators=(",", ":")).encode()
            status, reports = run.send(raw=raw, event_id=eid, event_type=t)
            run.check("a compact body still verifies", 200 <= status < 300 and len(reports) == 1, f"status {status}, {len(reports)} report(s)")
            p, t, eid = event(v, run.new_id())
            status, reports = run.send(raw=json.dumps(p, indent=2).encode(), event_id=eid, event_type=t)
            run.check("a pretty-printed body no longer verifies", 400 <= status < 500 and not reports, f"status {status}, {len(reports)} report(s)")

    def run_vendor(self, vendor, command, observer):
        for defect in [None, *DEFECTS]:
            run = Run(self, vendor, command, defect, observer)
            try:
                if defect == "reject-unknown" and not known_keys(vendor):
                    self.defect(run)
                    continue
                if vendor in FORM_VENDORS and defect in NOT_FOR_FORMS:
                    out = run.output()
                    run.check("a JSON defect does not apply to a form: refuses to start", not run.up and run.proc.poll() not in (None, 0) and "does not apply" in out, out[-300:])
                    continue
                if defect in DECLINED.get(vendor, ()):
                    out = run.output()
                    run.check("a defect that does not apply: refuses to start", not run.up and run.proc.poll() not in (None, 0) and "does not apply" in out, out[-300:])
                    continue
                run.check("starts and listens", run.up, run.output()[-500:])
                if not run.up:
                    continue
                if defect:
                    self.defect(run)
                else:
                    self.careful(run)
                if run.proc.poll() is not None:
                    run.check("still running", False, run.output()[-500:])
            finally:
                run.stop()
            if os.environ.get("SMOKE_VERBOSE"):
                print(run.output(), end="")
        # A defect that is unknown stops the receiver at once.
        env = dict(os.environ, PORT=str(free_port()), WEBHOOK_SECRET=secret_for(vendor), DEFECT="no-such-defect")
        try:
            proc = subprocess.run(shlex.split(command), cwd=ROOT, env=env, capture_output=True, timeout=20)
            self.record(f"{vendor}: an unknown DEFECT exits with an error", proc.returncode != 0, proc.stderr.decode()[-300:])
        except subprocess.TimeoutExpired:
            self.record(f"{vendor}: an unknown DEFECT exits with an error", False, "still running after 20 s")


def main():
    all_receivers = receivers()
    vendors = sys.argv[1:] or list(all_receivers)
    unknown = [v for v in vendors if v not in all_receivers]
    if unknown:
        sys.exit(f"unknown receiver(s): {', '.join(unknown)}; known: {', '.join(all_receivers)}")
    observer = Observer()
    smoke = Smoke()
    for vendor in vendors:
        smoke.run_vendor(vendor, all_receivers[vendor], observer)
    observer.server.shutdown()
    print(f"smoke {' '.join(vendors)}: {smoke.passed} checks ok, {smoke.failed} not")
    sys.exit(1 if smoke.failed else 0)


if __name__ == "__main__":
    main()
