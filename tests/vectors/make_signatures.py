#!/usr/bin/env python3
"""Writes signatures.json: authentication headers computed with Python's
standard library (hmac, hashlib, base64), not with hookforge, for
tests/auth.rs to compare hookforge's signer and verifier against.

    python3 tests/vectors/make_signatures.py > tests/vectors/signatures.json
"""
import base64
import hashlib
import hmac
import json

BODIES = [
    '{"type":"quote.created","data":{"quoteId":"q-1"}}',
    '{"Event":"quote.approved","Changes":["Name"],"Note":"ünïcödé ✓"}',
]
SECRETS = [
    "s3cr3t",
    # Longer than the SHA-512 block (128 bytes): the key is hashed first.
    "k" * 70 + "-a-key-longer-than-every-hash-block-" + "y" * 40,
]
HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def encode(mac, encoding):
    return mac.hex() if encoding == "hex" else base64.b64encode(mac).decode()


vectors = []
for body in BODIES:
    raw = body.encode()
    for secret in SECRETS:
        for hash_name, h in HASHES.items():
            for encoding in ["hex", "base64"]:
                mac = hmac.new(secret.encode(), raw, h).digest()
                vectors.append({
                    "scheme": "hmac", "hash": hash_name, "encoding": encoding,
                    "header": "x-signature", "secret": secret, "body": body,
                    "headers": [["x-signature", encode(mac, encoding)]],
                })
        vectors.append({
            "scheme": "bearer", "header": "authorization", "prefix": "Bearer ",
            "secret": secret, "body": body,
            "headers": [["authorization", "Bearer " + secret]],
        })
        vectors.append({
            "scheme": "shared-secret", "header": "x-webhook-secret",
            "secret": secret, "body": body,
            "headers": [["x-webhook-secret", secret]],
        })
    # Standard Webhooks (standardwebhooks.com spec): HMAC-SHA256 over
    # "{id}.{timestamp}.{body}" with the base64-decoded `whsec_` key.
    for key in [b"0123456789abcdefghijklmn", bytes(range(64))]:
        secret = "whsec_" + base64.b64encode(key).decode()
        msg_id, ts = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1614265330
        mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + raw, hashlib.sha256).digest()
        vectors.append({
            "scheme": "standard-webhooks", "secret": secret, "body": body,
            "message_id": msg_id, "timestamp": ts,
            "headers": [
                ["webhook-id", msg_id],
                ["webhook-timestamp", str(ts)],
                ["webhook-signature", "v1," + base64.b64encode(mac).decode()],
            ],
        })

# The example from the Standard Webhooks specification's own test suite.
vectors.append({
    "scheme": "standard-webhooks",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "body": '{"test": 2432232314}',
    "message_id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "timestamp": 1614265330,
    "headers": [
        ["webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"],
        ["webhook-timestamp", "1614265330"],
        ["webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="],
    ],
})
print(json.dumps({"generated_by": "tests/vectors/make_signatures.py", "vectors": vectors},
                 indent=1, ensure_ascii=False))
