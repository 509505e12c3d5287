#!/usr/bin/env python3
"""Whole webhook events found in vendors' own SDK tests (Chargebee, PayPal).

Usage: sdk_event_fixtures.py CHARGEBEE_PHP_GIT PAYPAL_JAVA_GIT HOOKFORGE [HOOKFORGE_BIN]

CHARGEBEE_PHP_GIT and PAYPAL_JAVA_GIT are git directories (bare clones) of
chargebee/chargebee-php and paypal/PayPal-Java-SDK; each event is read at the
commit pinned below with `git show`. HOOKFORGE is this repository;
HOOKFORGE_BIN a built `hookforge` (default HOOKFORGE/target/debug/hookforge),
used only for `hookforge infer`.

For each event it writes the literal's value byte for byte as the sample, a
provenance entry, and the event schema: `hookforge infer` on the sample, then
the vendor's existing conventions -
  chargebee: `null` dropped from every type, `event_type` pinned, the envelope
    fields Chargebee's OpenAPI requires made required, less those the sample
    lacks (named in the description);
  paypal: every `id` a non-null string, `event_type` pinned and the only
    required field (PayPal's Event schema marks none).
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import provenance

CHARGEBEE = {
    "vendor": "chargebee",
    "repository": "chargebee/chargebee-php",
    "file": "test/ChargeBee/SampleData.php",
    "commit": "e148f2b38d9bf724730b25db7989f658a7159805",  # v3.24.1, the last version holding the file
    "event": "payment_succeeded",
    "sample": "php-sdk-test-data.json",
    # SampleData::webhookData(): a single-quoted PHP literal (checked below to hold no escapes)
    "literal": r"function webhookData\(\)\s*\{\s*return '([^'\\]*)';",
    "unescape": lambda s: s,
    "change": "the string `SampleData::webhookData()` returns (a single-quoted PHP literal without escapes), byte for byte "
    "(no final newline); the same event is in chargebee/chargebee-go tests/sample_data.go. It dates from 2012 and "
    "has no `api_version` or `source`; `card.object` is `credit_card`, as published",
}

PAYPAL = {
    "vendor": "paypal",
    "repository": "paypal/PayPal-Java-SDK",
    "file": "rest-api-sdk/src/test/java/com/paypal/base/ValidateCertTest.java",
    "commit": "1867a4283647db4b1dc95bbe9d7f55419c9ce00f",  # the only version with this event
    "event": "BILLING.PLAN.CREATED",
    "sample": "java-sdk-validate-cert-test.json",
    "literal": r'requestBody = "((?:[^"\\]|\\")*)";',
    "unescape": lambda s: s.replace('\\"', '"'),
    "change": "the `requestBody` Java string literal in `setUp()`, its `\\\"` escapes undone, byte for byte (no final "
    "newline); the headers the test sets are in the .headers file beside it (webhook id: 96605875FF6516633; "
    "`PAYPAL-CERT-URL` is the test's stub path, the signature checks against the test's "
    "rest-api-sdk/src/test/resources/testClientCert.crt, PayPal's sandbox message-verification certificate); "
    "`resource.links[].href` has no scheme, as published",
    "headers": [
        ("PAYPAL_HEADER_CERT_URL", "PAYPAL-CERT-URL"),
        ("PAYPAL_HEADER_TRANSMISSION_ID", "PAYPAL-TRANSMISSION-ID"),
        ("PAYPAL_HEADER_TRANSMISSION_TIME", "PAYPAL-TRANSMISSION-TIME"),
        ("PAYPAL_HEADER_AUTH_ALGO", "PAYPAL-AUTH-ALGO"),
        ("PAYPAL_HEADER_TRANSMISSION_SIG", "PAYPAL-TRANSMISSION-SIG"),
    ],
}

# Chargebee's OpenAPI (chargebee/openapi spec/chargebee_api_v1_spec.json, PaymentSucceededEvent and every
# other *Event schema) requires these envelope fields.
CHARGEBEE_ENVELOPE = ["api_version", "content", "event_type", "id", "object", "occurred_at", "source", "webhook_status"]


def save_compact(path, doc, indent):
    """provenance.save, but each `changes` list on one line, as these two vendors' files have it."""
    text = json.dumps(doc, indent=indent, ensure_ascii=False) + "\n"

    def one(m):
        items = json.loads("[" + m.group(2) + "]")
        return m.group(1) + "[" + ", ".join(json.dumps(i, ensure_ascii=False) for i in items) + "]"

    with open(path, "w", encoding="utf-8") as f:
        f.write(re.sub(r'("changes": )\[\n((?:\s*".*",?\n)*?)\s*\]', one, text))


def infer(binary, title, text):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "sample.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        out = subprocess.run([binary, "infer", "--title", title, path], check=True, capture_output=True).stdout
    return json.loads(out)


def walk(s, f):
    """Applies f to every subschema (depth first), returning the new schema."""
    if isinstance(s, list):
        return [walk(v, f) for v in s]
    if not isinstance(s, dict):
        return s
    out = {}
    for k, v in s.items():
        if k in ("properties", "definitions"):
            out[k] = {p: walk(sub, f) for p, sub in v.items()}
        elif k in ("items", "additionalProperties") and isinstance(v, dict):
            out[k] = walk(v, f)
        else:
            out[k] = v
    return f(out)


def no_null(s):
    t = s.get("type")
    if isinstance(t, list):
        rest = [x for x in t if x != "null"]
        s["type"] = rest[0] if len(rest) == 1 else rest
    return s


def ids_are_strings(s):
    props = s.get("properties")
    if props and "id" in props:
        props["id"] = {"type": "string"}
    return s


def chargebee_schema(inferred, event, sample):
    s = walk(inferred, no_null)
    s["properties"]["event_type"] = {"type": "string", "const": event}
    absent = [f for f in CHARGEBEE_ENVELOPE if f not in sample]
    required = [f for f in CHARGEBEE_ENVELOPE if f in sample]
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": event,
        "description": f"Chargebee event `{event}`: a payment succeeded (the `transaction` under `content`, with its invoice, "
        "subscription, customer and card). Types inferred from the one whole event Chargebee publishes for it, a 2012 "
        "event in its PHP SDK's tests; envelope required fields from Chargebee's published OpenAPI event schemas, less "
        + " and ".join(f"`{f}`" for f in absent)
        + ", which that event predates. The resources under `content` are left optional.",
        "type": "object",
        "required": required,
        "properties": s["properties"],
    }


def paypal_schema(inferred, event):
    s = walk(inferred, ids_are_strings)
    s["properties"]["id"] = {"type": "string"}
    s["properties"]["event_type"] = {"type": "string", "const": event}
    out = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": event,
        "description": "A billing plan (v1 Billing Plans API) was created; the Plan is at `resource`. Inferred from samples; "
        "PayPal's published Event schema (notifications_webhooks_v1) marks no field required, so only the type is.",
    }
    if "definitions" in s:
        out["definitions"] = s["definitions"]
    out.update({"properties": s["properties"], "required": ["event_type"], "type": "object"})
    return out


def extract(src, git_dir):
    text = provenance.git_show(git_dir, src["commit"], src["file"])
    m = re.search(src["literal"], text)
    if not m:
        sys.exit(f"{src['repository']} {src['file']}: the literal is not where it was")
    body = src["unescape"](m.group(1))
    if json.loads(body).get("event_type") != src["event"]:
        sys.exit(f"{src['file']}: not a {src['event']} event")
    headers = None
    if "headers" in src:
        lines = []
        for const, name in src["headers"]:
            h = re.search(rf'headers\.put\(Constants\.{const}, "([^"]*)"\)', text)
            if not h:
                sys.exit(f"{src['file']}: no {const} header")
            lines.append(f"{name}: {h.group(1)}\n")
        headers = "".join(lines)
    return body, headers


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    cb_git, pp_git, root = sys.argv[1:4]
    binary = sys.argv[4] if len(sys.argv) == 5 else os.path.join(root, "target", "debug", "hookforge")
    for src, git_dir in ((CHARGEBEE, cb_git), (PAYPAL, pp_git)):
        vendor = provenance.vendor_dir(root, src["vendor"])
        body, headers = extract(src, git_dir)
        inferred = infer(binary, src["event"], body)
        schema = (chargebee_schema(inferred, src["event"], json.loads(body)) if src["vendor"] == "chargebee"
                  else paypal_schema(inferred, src["event"]))
        with open(os.path.join(vendor, "events", f"{src['event']}.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
        folder = os.path.join(vendor, "samples", src["event"])
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, src["sample"]), "w", encoding="utf-8") as f:
            f.write(body)
        if headers is not None:
            with open(os.path.join(folder, src["sample"].removesuffix(".json") + ".headers"), "w", encoding="utf-8") as f:
                f.write(headers)
        prov_path = os.path.join(vendor, "samples", "provenance.json")
        prov, indent = provenance.load(prov_path)
        provenance.put(prov["samples"], provenance.entry(
            f"{src['event']}/{src['sample']}", src["repository"], src["file"], src["commit"], src["change"]))
        save_compact(prov_path, prov, indent)
        print(f"{src['vendor']}: {src['event']}")


if __name__ == "__main__":
    provenance.run(main)
