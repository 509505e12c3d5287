#!/usr/bin/env python3
"""Square events from Square's published OpenAPI document (a developer tool).

Usage: square_openapi.py API_JSON COMMIT HOOKFORGE [EVENT... | --new]

API_JSON is `api.json` of square/connect-api-specification at COMMIT;
HOOKFORGE is this repository. For each EVENT (default: the first PUBLIC event
of every event family the catalogue lacks; with --new: every PUBLIC event the
catalogue lacks) it writes
vendors/square/events/EVENT.json, the schema's own `example` as
vendors/square/samples/EVENT/openapi-example.json (2-space indentation; the
spec stores it parsed, keys sorted), a provenance entry, and every component
the event reaches into vendors/square/definitions.json.

Conversion, as for the first nine events: `nullable` admits null; a
component's own `required` is kept (Square documents it); the event itself
requires only `type`, its discriminator; descriptions, lengths, patterns and
SDK hints are dropped. Where Square's own example breaks Square's schema (a
string outside an enum, a value of another type, a required field absent),
the schema admits the example: the value is added to the enum, the type is
widened, the field is not required; the loosened schema says so in its
description, and so does each event whose example needed it. A component is
loosened for the examples of every event of the catalogue (and of the run)
that reaches it, so re-running any of them rewrites it byte for byte.
Existing definitions are never changed: one that would convert differently is
reported and the run stops, as it does for an event whose component has no
`example`. With --new such an event is skipped instead (named on stderr with
the reason) and nothing of it is written; the others are imported. BETA and
DEPRECATED events are left to be named explicitly.
"""

import copy
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


def loosen(schema, value, defs, at, notes):
    """Admits `value`, Square's own example, where the converted `schema`
    (whose `$ref`s point into `defs`, changed in place) refuses it; each
    change goes in the loosened schema's description and, briefly, `notes`."""
    if "$ref" in schema:
        if value is not None:
            name = schema["$ref"].rsplit("/", 1)[1]
            loosen(defs[name], value, defs, name, notes)
        return
    if "anyOf" in schema:
        if value is not None:
            for branch in schema["anyOf"]:
                if branch != {"type": "null"}:
                    loosen(branch, value, defs, at, notes)
        return

    def say(why, note):
        schema["description"] = (schema.get("description", "") + " " + why).strip()
        notes.append(f"{at}: {note}")

    t = schema.get("type")
    allowed = t if isinstance(t, list) else [t] if t else None
    got = provenance.json_type(value)
    if allowed and got not in allowed and not (got == "integer" and "number" in allowed):
        schema["type"] = allowed + [got]
        say(f"Square's spec gives {' or '.join(allowed)}; its own webhook examples send a {got} here, so that is admitted too.",
            f"a {got} admitted")
    if "enum" in schema and value not in schema["enum"]:
        say(f"Square's spec lists {', '.join(map(str, schema['enum']))}; its own webhook examples send {value}, so that is admitted too.",
            f"{json.dumps(value)} added to the enum")
        schema["enum"] = schema["enum"] + [value]
    if isinstance(value, dict):
        absent = [r for r in schema.get("required", []) if r not in value]
        if absent:
            schema["required"] = [r for r in schema["required"] if r not in absent]
            if not schema["required"]:
                del schema["required"]
            say(f"Square's spec requires {', '.join(absent)}; its own webhook examples omit it, so it is optional here.",
                f"{', '.join(absent)} not required")
        for k, v in value.items():
            if k in schema.get("properties", {}):
                loosen(schema["properties"][k], v, defs, f"{at}.{k}" if at else k, notes)
            elif isinstance(schema.get("additionalProperties"), dict):
                loosen(schema["additionalProperties"], v, defs, f"{at}.*" if at else "*", notes)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for v in value:
            loosen(schema["items"], v, defs, f"{at}[]", notes)


def converted(schemas, comps):
    """Every component the event components `comps` reach, converted."""
    return {n: convert(schemas[n], "#/definitions/") for c in comps for n in reached(schemas, c)}


def loosened(schemas, comps):
    """`converted`, each component loosened for the examples of all `comps`
    that reach it (so not for which of them a run names)."""
    defs = converted(schemas, comps)
    for comp in sorted(comps):
        loosen(event_schema(schemas, comp, ""), schemas[comp]["example"], defs, "", [])
    return defs


def event_schema(schemas, comp, event, pristine=None):
    """The event's schema; given `pristine` (`converted` of at least `comp`),
    loosened for its own example, which its description then says."""
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
    out = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": event,
        "description": f"Square's `{event}`{where}. Converted from `{comp}` in Square's published OpenAPI "
        "(square/connect-api-specification) by scripts/catalogue/square_openapi.py: every field is optional "
        "there, so only the event type is required here; nullable fields admit null.",
        "type": "object",
        "properties": props,
        "required": ["type"],
    }
    if pristine is not None:
        notes = []
        loosen(out, s["example"], copy.deepcopy(pristine), "", notes)
        if notes:
            out["description"] += " Loosened where Square's own example breaks Square's schema: " + "; ".join(notes) + "."
    return out


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


def new_events(schemas, have):
    """Every PUBLIC event (by name) the catalogue lacks."""
    return sorted(
        s["x-webhook"]["event"] for s in schemas.values()
        if "x-webhook" in s and s.get("x-release-status") == "PUBLIC" and s["x-webhook"]["event"] not in have
    )


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    api, commit, root = sys.argv[1:4]
    schemas = json.load(open(api))["components"]["schemas"]
    comp_of = {s["x-webhook"]["event"]: k for k, s in schemas.items() if "x-webhook" in s}
    vendor = provenance.vendor_dir(root, "square")
    have = [f.removesuffix(".json") for f in os.listdir(os.path.join(vendor, "events"))]
    skip = sys.argv[4:] == ["--new"]
    if "--new" in sys.argv[4:] and len(sys.argv[4:]) > 1:
        sys.exit("--new imports every event the catalogue lacks: give it alone, without event names")
    events = new_events(schemas, have) if skip else sys.argv[4:] or default_events(schemas, have)
    defs_path = os.path.join(vendor, "definitions.json")
    defs = json.load(open(defs_path))["definitions"]
    prov_path = os.path.join(vendor, "samples", "provenance.json")
    prov, prov_indent = provenance.load(prov_path)
    take = []
    for event in events:
        comp = comp_of.get(event) or sys.exit(f"{event}: no component of {api} has x-webhook.event {event!r}")
        if "example" in schemas[comp]:
            take.append(event)
        elif not skip:
            sys.exit(f"{event}: {comp} has no `example` to sample")
        else:
            print(f"skipped {event}: {comp} has no `example` to sample", file=sys.stderr)
    catalogue = {comp_of[e] for e in have if e in comp_of and "example" in schemas[comp_of[e]]}
    while True:
        new = loosened(schemas, catalogue | {comp_of[e] for e in take})
        clash = {}
        for event in take:
            for name in sorted(reached(schemas, comp_of[event])):
                if name in defs and defs[name] != new[name]:
                    clash.setdefault(event, f"{name}: converts differently from the definition already in {defs_path}")
        if not clash:
            break
        for event, why in clash.items():
            if not skip:
                sys.exit(f"{event}: {why}")
            print(f"skipped {event}: {why}", file=sys.stderr)
            take.remove(event)
    for event in take:
        comp = comp_of[event]
        defs.update({name: new[name] for name in reached(schemas, comp)})
        with open(os.path.join(vendor, "events", f"{event}.json"), "w") as f:
            f.write(json.dumps(event_schema(schemas, comp, event, converted(schemas, [comp])), indent=2) + "\n")
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
