#!/usr/bin/env python3
"""Clerk events from Clerk's published webhook OpenAPI (a developer tool).

Usage: clerk_openapi.py WEBHOOKS_YML COMMIT HOOKFORGE [EVENT... | --new]

WEBHOOKS_YML is `webhooks/2025-04-15.yml` of clerk/openapi-specs at COMMIT
(needs PyYAML); HOOKFORGE is this repository. For each EVENT (default: the
first event of every family the catalogue lacks; with --new: every event of
the document the catalogue lacks, in the document's order) it writes
vendors/clerk/events/EVENT.json, the event's example as
vendors/clerk/samples/EVENT/openapi-example.json (or
openapi-NAME.json when the example is the component NAME), and a provenance
entry.

The event schema is the envelope (`WebhookEventPayload`, whose required
fields stay required) with `type` pinned and `data` referring to the
component the document names; every component is already in
vendors/clerk/definitions.json, converted with the first events. An event
whose component is missing there, or that has no example, stops the run
before anything is written; with --new it is skipped instead (named on
stderr with the reason) and the others are imported. Where the example
breaks its own schema, also inside a nullable component, the definition is
loosened to admit it and says so.
"""

import json
import os
import sys

import yaml

import provenance


def event_schema(name, data_ref, envelope):
    props = json.loads(json.dumps(envelope["properties"]))
    props["type"] = {"type": "string", "const": name}
    props["data"] = {"$ref": f"../definitions.json#/definitions/{data_ref}"}
    family = name.split(".")[0]
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": name,
        "description": f"Clerk's `{name}` ({family} events); `data` is a {data_ref}. Converted from the event in Clerk's "
        "published webhook OpenAPI (clerk/openapi-specs, webhooks/2025-04-15.yml) by scripts/catalogue/clerk_openapi.py; "
        "the envelope fields it marks required are required here and `type` is pinned.",
        "type": "object",
        "required": envelope["required"] + ["data"],
        "properties": props,
    }


def loosen(defs, schema, value, at, notes):
    """Where Clerk's own example breaks its schema (a required field absent,
    a value outside an enum, another type), the definition admits the
    example, says why in its description, and the change is reported: the
    example is what Clerk sends. Nullable components (anyOf [X, null]) are
    followed into X."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return loosen(defs, defs[name], value, f"{name}", notes)
    for branch in schema.get("allOf", []):
        loosen(defs, branch, value, at, notes)
    # A nullable component as converted, anyOf [the component, null]: a
    # value that is not null is checked against the component.
    some = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if value is not None and len(some) == 1 and len(schema["anyOf"]) == 2:
        loosen(defs, some[0], value, at, notes)

    def say(why):
        schema["description"] = (schema.get("description", "") + " " + why).strip()
        notes.append(f"{at}: {why}")

    if "enum" in schema and value not in schema["enum"]:
        listed = ", ".join(map(json.dumps, schema.pop("enum")))
        say(f"Clerk's spec lists only {listed}; its own example sends {json.dumps(value)}, so any value is accepted.")
    t = schema.get("type")
    allowed = t if isinstance(t, list) else [t] if t else None
    got = provenance.json_type(value)
    if allowed and got not in allowed and not (got == "integer" and "number" in allowed):
        schema["type"] = allowed + [got]
        say(f"Clerk's spec gives {t}; its own example sends {got}.")
    if isinstance(value, dict):
        absent = [r for r in schema.get("required", []) if r not in value]
        if absent:
            schema["required"] = [r for r in schema["required"] if r not in absent]
            say(f"Clerk's spec requires {', '.join(absent)}; its own example omits {'it, so it is' if len(absent) == 1 else 'them, so they are'} optional here.")
        for k, v in value.items():
            if k in schema.get("properties", {}):
                loosen(defs, schema["properties"][k], v, f"{at}.{k}", notes)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for v in value:
            loosen(defs, schema["items"], v, f"{at}[]", notes)


class Unusable(ValueError):
    """An event this script cannot import: no entry, no example, or a data
    component definitions.json lacks."""


def parts(doc, name):
    """(data component, example value, sample file, where the example is)."""
    if name not in doc["x-webhooks"]:
        raise Unusable("the document has no x-webhooks entry for it")
    body = doc["x-webhooks"][name]["post"]["requestBody"]["content"]["application/json"]
    data = body["schema"]["allOf"][1]["properties"]["data"]
    # organizationInvitation.*: the component, then a nested `data` object
    # no example has; the component is what is sent.
    data = (data.get("$ref") or data["allOf"][0]["$ref"]).rsplit("/", 1)[1]
    if "example" in body:
        where = f"`x-webhooks['{name}'].post.requestBody.content['application/json'].example`"
        return data, body["example"], "openapi-example.json", where
    if not body.get("examples"):
        raise Unusable("it has no example")
    ref = next(iter(body["examples"].values()))["$ref"].rsplit("/", 1)[1]
    if "value" not in doc.get("components", {}).get("examples", {}).get(ref, {}):
        raise Unusable(f"its example, {ref}, is not in components.examples")
    where = f"`components.examples.{ref}.value`"
    return data, doc["components"]["examples"][ref]["value"], f"openapi-{ref}.json", where


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    src, commit, root = sys.argv[1:4]
    doc = yaml.safe_load(open(src))
    vendor = provenance.vendor_dir(root, "clerk")
    defs_path = os.path.join(vendor, "definitions.json")
    defs = json.load(open(defs_path))["definitions"]
    have = {f.removesuffix(".json") for f in os.listdir(os.path.join(vendor, "events"))}
    families = {h.split(".")[0] for h in have}
    skip = sys.argv[4:] == ["--new"]
    if "--new" in sys.argv[4:] and len(sys.argv[4:]) > 1:
        sys.exit("--new imports every event the catalogue lacks: give it alone, without event names")
    events = [name for name in doc["x-webhooks"] if name not in have] if skip else sys.argv[4:]
    if not skip and not events:
        for name in doc["x-webhooks"]:
            if name.split(".")[0] not in families:
                families.add(name.split(".")[0])
                events.append(name)
    taken = []
    for name in events:
        try:
            data, value, file, where = parts(doc, name)
            if data not in defs:
                raise Unusable(f"its data, {data}, is not in vendors/clerk/definitions.json")
        except Unusable as why:
            if not skip:
                sys.exit(f"{name}: {why} ({src}); nothing written")
            print(f"{name}: skipped, {why}", file=sys.stderr)
            continue
        taken.append((name, data, value, file, where))
    prov_path = os.path.join(vendor, "samples", "provenance.json")
    prov, prov_indent = provenance.load(prov_path)
    for name, data, value, file, where in taken:
        notes = []
        loosen(defs, {"$ref": f"#/definitions/{data}"}, value.get("data"), data, notes)
        for n in notes:
            print(f"{name}: loosened {n}", file=sys.stderr)
        with open(os.path.join(vendor, "events", f"{name}.json"), "w") as f:
            f.write(json.dumps(event_schema(name, data, defs["WebhookEventPayload"]), indent=2) + "\n")
        os.makedirs(os.path.join(vendor, "samples", name), exist_ok=True)
        with open(os.path.join(vendor, "samples", name, file), "w") as f:
            f.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
        provenance.put(prov["samples"], provenance.entry(
            f"{name}/{file}", "clerk/openapi-specs", "webhooks/2025-04-15.yml", commit,
            f"the YAML example at {where}, written out as JSON (2-space indentation, keys in the order given); values unchanged",
        ))
        print(f"{name}: {data}, {file}")
    provenance.save(prov_path, prov, prov_indent)
    with open(defs_path, "w") as f:
        f.write(json.dumps({"definitions": defs}, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
