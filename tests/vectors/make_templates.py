#!/usr/bin/env python3
"""Writes templates.json: signatures of real vendors' schemes computed with
Python's standard library (hmac, hashlib, base64), each with the manifest
`auth` (the `signature` scheme) that describes it, for tests/auth_templates.rs.

    python3 tests/vectors/make_templates.py > tests/vectors/templates.json
"""
import base64
import hashlib
import hmac
import json

BODY = '{"id":"evt_1","type":"invoice.paid","data":{"amount":1999,"note":"ünïcödé ✓"}}'
TS = 1700000000


def mac(key, msg, h=hashlib.sha256):
    return hmac.new(key, msg.encode() if isinstance(msg, str) else msg, h).digest()


vectors = []

# GitHub's published example (docs: "Validating webhook deliveries").
vectors.append({
    "name": "github (published example)",
    "auth": {"scheme": "signature", "header": "X-Hub-Signature-256", "format": "sha256={sig}",
             "hash": "sha256", "encoding": "hex"},
    "secret": "It's a Secret to Everybody", "body": "Hello, World!",
    "headers": [["x-hub-signature-256",
                 "sha256=" + mac(b"It's a Secret to Everybody", "Hello, World!").hex()]],
})

# Slack's documented example (docs: "Verifying requests from Slack").
slack_body = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
              "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
              "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
              "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
slack_secret = "8f742231b10e8888abcd99yyyzzz85a5"
vectors.append({
    "name": "slack (documented example)",
    "auth": {"scheme": "signature", "header": "X-Slack-Signature", "format": "v0={sig}",
             "signed": "v0:{timestamp}:{body}", "hash": "sha256", "encoding": "hex",
             "timestamp_header": "X-Slack-Request-Timestamp", "tolerance_secs": 300},
    "secret": slack_secret, "body": slack_body, "timestamp": 1531420618,
    "headers": [["x-slack-request-timestamp", "1531420618"],
                ["x-slack-signature",
                 "v0=" + mac(slack_secret.encode(), f"v0:1531420618:{slack_body}").hex()]],
})

# Stripe: `t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">`.
stripe_secret = "whsec_test_stripe_0123456789abcdef"
vectors.append({
    "name": "stripe",
    "auth": {"scheme": "signature", "header": "Stripe-Signature", "format": "t={timestamp},v1={sig}",
             "separator": ",", "signed": "{timestamp}.{body}", "hash": "sha256", "encoding": "hex",
             "tolerance_secs": 300},
    "secret": stripe_secret, "body": BODY, "timestamp": TS,
    "headers": [["stripe-signature",
                 f"t={TS},v1=" + mac(stripe_secret.encode(), f"{TS}.{BODY}").hex()]],
})

# Shopify: base64 HMAC-SHA256 of the raw body.
shopify_secret = "shpss_0123456789abcdef0123456789abcdef"
vectors.append({
    "name": "shopify",
    "auth": {"scheme": "signature", "header": "X-Shopify-Hmac-Sha256", "hash": "sha256",
             "encoding": "base64"},
    "secret": shopify_secret, "body": BODY,
    "headers": [["x-shopify-hmac-sha256",
                 base64.b64encode(mac(shopify_secret.encode(), BODY)).decode()]],
})

# Standard Webhooks, written out in the template language; the spec's example.
key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
vectors.append({
    "name": "standard webhooks (specification example)",
    "auth": {"scheme": "signature", "header": "webhook-signature", "format": "v1,{sig}",
             "separator": " ", "signed": "{id}.{timestamp}.{body}", "hash": "sha256",
             "encoding": "base64", "key": "whsec", "timestamp_header": "webhook-timestamp",
             "id_header": "webhook-id"},
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "body": '{"test": 2432232314}',
    "timestamp": 1614265330, "message_id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "headers": [["webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"],
                ["webhook-timestamp", "1614265330"],
                ["webhook-signature", "v1," + base64.b64encode(
                    mac(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}')).decode()]],
})

# Square: base64 HMAC-SHA256 of the notification URL followed by the body.
square_secret = "sq0whs-0123456789abcdef"
url = "https://example.com/hooks/square"
vectors.append({
    "name": "square (url + body)",
    "auth": {"scheme": "signature", "header": "x-square-hmacsha256-signature", "signed": "{url}{body}",
             "hash": "sha256", "encoding": "base64"},
    "secret": square_secret, "body": BODY, "url": url,
    "headers": [["x-square-hmacsha256-signature",
                 base64.b64encode(mac(square_secret.encode(), url + BODY)).decode()]],
})

# SHA-1 and SHA-512 with a base64 key (key handling).
b64_key = bytes(range(40))
vectors.append({
    "name": "sha512 with a base64 key",
    "auth": {"scheme": "signature", "header": "X-Sig", "format": "sha512={sig}", "hash": "sha512",
             "encoding": "hex", "key": "base64"},
    "secret": base64.b64encode(b64_key).decode(), "body": BODY,
    "headers": [["x-sig", "sha512=" + mac(b64_key, BODY, hashlib.sha512).hex()]],
})
vectors.append({
    "name": "github sha1 (X-Hub-Signature)",
    "auth": {"scheme": "signature", "header": "X-Hub-Signature", "format": "sha1={sig}", "hash": "sha1",
             "encoding": "hex"},
    "secret": "It's a Secret to Everybody", "body": "Hello, World!",
    "headers": [["x-hub-signature",
                 "sha1=" + mac(b"It's a Secret to Everybody", "Hello, World!", hashlib.sha1).hex()]],
})

print(json.dumps({"generated_by": "tests/vectors/make_templates.py", "vectors": vectors},
                 indent=1, ensure_ascii=False))
