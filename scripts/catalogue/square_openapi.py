#!/usr/bin/env python3
"""Square events from Square's published OpenAPI document (a developer tool).

Usage: square_openapi.py API_JSON COMMIT HOOKFORGE [EVENT...]

API_JSON is `api.json` of square/connect-api-specification at COMMIT;
HOOKFORGE is this repository. For each EVENT (default: the first PUBLIC event
of every event family the catalogue lacks) it writes
vendors/square/events/EVENT.json, the schema's own `example` as
vendors/square/samples/EVENT/openapi-example.json (2-space indentation; the
spec stores it parsed, keys sorted), a provenance entry, and every component
the event reaches into vendors/square/definitions.json.

Conversion, as for the first nine events: `nullable` admits null; a
component's own `required` is kept (Square documents it); the event itself
requires only `type`, its discriminator; descriptions, lengths, patterns and
SDK hints are dropped. Existing definitions are never changed: one that would
convert differently is reported and the run stops.
"""

import json
import os
import sys

import provenance

KEEP = ("type", "format", "enum", "required")


def convert(s, prefix):
    """An OpenAPI schema as draft-07; `$ref`s point at `prefix` + name."""
    if "$ref" in s:
        out = {"$ref": prefix + s["$ref"].rsplit("/", 1)[1]}
        return {"anyOf": [out, {"type": "null"}]} if s.get("nullable") else out
    out = {k: s[k] for k in KEEP if k in s}
    # RiskEvaluation requires a `status` it does not have.
    if "required" in out:
        out["required"] = [r for r in out["required"] if r in s.get("properties", {})]
        if not out["required"]:
            del out["required"]
    if s.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in s:
        out["properties"] = {k: convert(v, prefix) for k, v in s["properties"].items()}
    if "items" in s:
        out["items"] = convert(s["items"], prefix)
    if isinstance(s.get("additionalProperties"), dict):
        out["additionalProperties"] = convert(s["additionalProperties"], prefix)
    # Key order as the first nine events have it.
    order = ["type", "required", "properties", "items", "additionalProperties", "format", "enum"]
    return {k: out[k] for k in order if k in out}


def refs(s):
    """Names of the components `s` refers to, directly."""
    if isinstance(s, dict):
        if "$ref" in s:
            yield s["$ref"].rsplit("/", 1)[1]
        for v in s.values():
            yield from refs(v)
    elif isinstance(s, list):
        for v in s:
            yield from refs(v)


def reached(schemas, root):
    seen, todo = set(), [root]
    while todo:
        name = todo.pop()
        for r in refs({k: v for k, v in schemas[name].items() if k != "example"}):
            if r not in seen:
                seen.add(r)
                todo.append(r)
    return seen


def event_schema(schemas, comp, event):
    s = schemas[comp]
    props = {k: convert(v, "../definitions.json#/definitions/") for k, v in s["properties"].items()}
    props["type"] = {"type": "string", "const": event}
    data = schemas[s["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
    obj = data["properties"].get("object", {}).get("$ref", "").rsplit("/", 1)[-1]
    inner = schemas.get(obj, {}).get("properties", {})
    where = ""
    if len(inner) == 1:
        (key, prop), = inner.items()
        what = prop.get("$ref", "").rsplit("/", 1)[-1] or key
        where = f"; the {what} is at `data.object.{key}`"
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": event,
        "description": f"Square's `{event}`{where}. Converted from `{comp}` in Square's published OpenAPI "
        "(square/connect-api-specification) by scripts/catalogue/square_openapi.py: every field is optional "
        "there, so only the event type is required here; nullable fields admit null.",
        "type": "object",
        "properties": props,
        "required": ["type"],
    }


def default_events(schemas, have):
    """The first PUBLIC event (by name) of each family the catalogue lacks."""
    by_family = {}
    for comp, s in sorted(schemas.items(), key=lambda kv: kv[1].get("x-webhook", {}).get("event", "")):
        w = s.get("x-webhook")
        if not w or s.get("x-release-status") != "PUBLIC":
            continue
        family = w["event"].split(".")[0]
        if family not in {e.split(".")[0] for e in have}:
            by_family.setdefault(family, w["event"])
    return sorted(by_family.values())


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    api, commit, root = sys.argv[1:4]
    schemas = json.load(open(api))["components"]["schemas"]
    comp_of = {s["x-webhook"]["event"]: k for k, s in schemas.items() if "x-webhook" in s}
    vendor = provenance.vendor_dir(root, "square")
    have = [f.removesuffix(".json") for f in os.listdir(os.path.join(vendor, "events"))]
    events = sys.argv[4:] or default_events(schemas, have)
    defs_path = os.path.join(vendor, "definitions.json")
    defs = json.load(open(defs_path))["definitions"]
    prov_path = os.path.join(vendor, "samples", "provenance.json")
    prov, prov_indent = provenance.load(prov_path)
    for event in events:
        comp = comp_of.get(event) or sys.exit(f"{event}: no component of {api} has x-webhook.event {event!r}")
        for name in sorted(reached(schemas, comp)):
            new = convert(schemas[name], "#/definitions/")
            if name in defs and defs[name] != new:
                sys.exit(f"{name}: converts differently from the definition already in {defs_path}")
            defs[name] = new
        with open(os.path.join(vendor, "events", f"{event}.json"), "w") as f:
            f.write(json.dumps(event_schema(schemas, comp, event), indent=2) + "\n")
        sample_dir = os.path.join(vendor, "samples", event)
        os.makedirs(sample_dir, exist_ok=True)
        with open(os.path.join(sample_dir, "openapi-example.json"), "w") as f:
            f.write(json.dumps(schemas[comp]["example"], indent=2, ensure_ascii=False) + "\n")
        path = f"{event}/openapi-example.json"
        entry = provenance.entry(
            path, "square/connect-api-specification", "api.json", commit,
            f"the `example` of components.schemas.{comp}, re-serialized with 2-space indentation (the spec stores it as parsed JSON with keys sorted)",
        )
        provenance.put(prov["samples"], entry)
        print(f"{event}: {comp}")
    with open(defs_path, "w") as f:
        f.write(json.dumps({"definitions": dict(sorted(defs.items()))}, indent=2) + "\n")
    provenance.save(prov_path, prov, prov_indent)


if __name__ == "__main__":
    main()
