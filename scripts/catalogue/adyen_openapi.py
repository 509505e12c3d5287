#!/usr/bin/env python3
"""Adyen standard-webhook events from Adyen's published OpenAPI (a developer tool).

Usage: adyen_openapi.py WEBHOOKS_V1_JSON COMMIT HOOKFORGE [EVENT_CODE...]

WEBHOOKS_V1_JSON is `json/Webhooks-v1.json` of Adyen/adyen-openapi at COMMIT;
HOOKFORGE is this repository. For each EVENT_CODE (default: every code with a
published example and a `notificationItems` body that the catalogue lacks)
it writes vendors/adyen/events/CODE.json, each of the code's examples as
vendors/adyen/samples/CODE/openapi-example[-NAME].json (2-space indentation),
a provenance entry, and the components the item reaches into
vendors/adyen/definitions.json.

Conversion, as for the first seven events: descriptions, `example`s, lengths
and `additionalProperties: false` (not a map's value schema) are dropped (a vendor's new field must not
fail a delivery); a component's own `required` is kept; the event pins the
first item's eventCode. Existing definitions are never changed: one that
would convert differently stops the run.
"""

import json
import os
import sys

import provenance

DROP = {"description", "example", "maxLength", "minLength", "x-addedInVersion", "deprecated", "x-deprecatedInVersion"}


def convert(s):
    if isinstance(s, dict):
        out = {}
        for k, v in s.items():
            if k in DROP or k.startswith("x-") or (k == "additionalProperties" and v is False):
                continue
            if k == "$ref":
                out[k] = "#/definitions/" + v.rsplit("/", 1)[1]
            elif k == "properties":
                out[k] = {p: convert(ps) for p, ps in v.items()}
            else:
                out[k] = convert(v)
        return out
    if isinstance(s, list):
        return [convert(v) for v in s]
    return s


def refs(s):
    if isinstance(s, dict):
        if "$ref" in s:
            yield s["$ref"].rsplit("/", 1)[1]
        for k, v in s.items():
            if k != "example":
                yield from refs(v)
    elif isinstance(s, list):
        for v in s:
            yield from refs(v)


def reached(schemas, root):
    seen, todo = {root}, [root]
    while todo:
        for r in refs(schemas[todo.pop()]):
            if r not in seen:
                seen.add(r)
                todo.append(r)
    return seen


def event_schema(code, summary, request, wrapper):
    pin = {
        "type": "object",
        "required": ["NotificationRequestItem"],
        "properties": {
            "NotificationRequestItem": {
                "type": "object",
                "required": ["eventCode"],
                "properties": {"eventCode": {"type": "string", "const": code}},
            }
        },
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": code,
        "description": f"Adyen's `{code}` ({summary}). A batch: `notificationItems` may hold several items; "
        f"the first one's eventCode is pinned here. Converted from `{request}` in Adyen's published "
        "Webhooks-v1 OpenAPI (Adyen/adyen-openapi) by scripts/catalogue/adyen_openapi.py.",
        "properties": {
            "live": {"type": "string"},
            "notificationItems": {
                "items": {"allOf": [{"$ref": f"../definitions.json#/definitions/{wrapper}"}, pin]},
                "type": "array",
                "minItems": 1,
            },
        },
        "type": "object",
        "required": ["notificationItems"],
    }


def operations(doc):
    """code -> (summary, request component, [(example name, example key)])."""
    out = {}
    for path, item in doc["webhooks"].items():
        post = item["post"]
        content = post["requestBody"]["content"]["application/json"]
        request = content["schema"]["$ref"].rsplit("/", 1)[1]
        examples = [(n, e["$ref"].rsplit("/", 1)[1]) for n, e in content.get("examples", {}).items()]
        out[path.strip("/")] = (post.get("summary", ""), request, examples)
    return out


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    src, commit, root = sys.argv[1:4]
    doc = json.load(open(src))
    schemas = doc["components"]["schemas"]
    ops = operations(doc)
    vendor = provenance.vendor_dir(root, "adyen")
    have = {f.removesuffix(".json") for f in os.listdir(os.path.join(vendor, "events"))}

    def batch(code):
        props = schemas[ops[code][1]].get("properties", {})
        return "notificationItems" in props

    codes = sys.argv[4:] or sorted(c for c in ops if c not in have and ops[c][2] and batch(c))
    defs_path = os.path.join(vendor, "definitions.json")
    defs = json.load(open(defs_path))["definitions"]
    prov_path = os.path.join(vendor, "samples", "provenance.json")
    prov, prov_indent = provenance.load(prov_path)
    for code in codes:
        if code not in ops:
            sys.exit(f"{code}: {src} has no webhook /{code}")
        summary, request, examples = ops[code]
        if not batch(code):
            sys.exit(f"{code}: `{request}` has no notificationItems, so the catalogue's eventCode pointer cannot read it")
        wrapper = schemas[request]["properties"]["notificationItems"]["items"]["$ref"].rsplit("/", 1)[1]
        for name in sorted(reached(schemas, wrapper)):
            new = convert(schemas[name])
            if name in defs and defs[name] != new:
                sys.exit(f"{name}: converts differently from the definition already in {defs_path}")
            defs[name] = new
        with open(os.path.join(vendor, "events", f"{code}.json"), "w") as f:
            f.write(json.dumps(event_schema(code, summary, request, wrapper), indent=2) + "\n")
        os.makedirs(os.path.join(vendor, "samples", code), exist_ok=True)
        for i, (name, key) in enumerate(examples):
            file = "openapi-example.json" if i == 0 else f"openapi-example-{name}.json"
            with open(os.path.join(vendor, "samples", code, file), "w") as f:
                f.write(json.dumps(doc["components"]["examples"][key]["value"], indent=2, ensure_ascii=False) + "\n")
            path = f"{code}/{file}"
            entry = provenance.entry(
                path, "Adyen/adyen-openapi", "json/Webhooks-v1.json", commit,
                f"components.examples.{key}.value, re-serialized with 2-space indentation (no hmacSignature: the example is unsigned)",
            )
            provenance.put(prov["samples"], entry)
        print(f"{code}: {request}, {len(examples)} example(s)")
    with open(defs_path, "w") as f:
        f.write(json.dumps({"definitions": dict(sorted(defs.items()))}, indent=2, sort_keys=True) + "\n")
    provenance.save(prov_path, prov, prov_indent)


if __name__ == "__main__":
    main()
