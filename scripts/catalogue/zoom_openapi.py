#!/usr/bin/env python3
"""Zoom events from the webhook OpenAPI documents on Zoom's pages (a developer tool).

Usage: zoom_openapi.py DOCS_API COMMIT HOOKFORGE [EVENT...]

DOCS_API is `api_reference_documentation/zoom_api_docs/docs/api` of the public
snapshot Oliver-DoWhiz/DoWhiz at COMMIT (Zoom renders these pages
client-side; the snapshot holds each page's embedded OpenAPI document);
HOOKFORGE is this repository. For each EVENT (default: the first event, by
name, of every family the catalogue lacks whose `json-example` parses) it
writes vendors/zoom/events/EVENT.json, the example (a JSON string in the
document) byte for byte as vendors/zoom/samples/EVENT/openapi.json, and a
provenance entry.

Conversion, as for the first six events: descriptions, examples and
`additionalProperties: false` are dropped (objects stay open); integer enums
are dropped (Zoom documents them as lists of codes that grow); `oneOf`
becomes `anyOf` (exactly one cannot hold once objects are open); a string format on a
non-string (`date-time` on epoch milliseconds) is dropped; string enums
and Zoom's own `required` are kept; `event` becomes a const, required
where Zoom requires nothing; where the example's value has another type
than the schema gives, the type is widened to admit it, and a field the
schema requires but the example lacks is not required (each is said).
"""

import json
import os
import sys

import provenance

# Type names some of Zoom's documents use that JSON Schema lacks.
OPENAPI_TYPES = {"long": "integer", "int": "integer", "double": "number", "float": "number"}
STRING_FORMATS = {"date-time", "date", "time", "email", "uri", "uuid", "hostname", "ipv4", "ipv6"}
DROP = {"description", "example", "examples", "title", "deprecated", "readOnly", "writeOnly"}


def convert(s):
    if isinstance(s, list):
        return [convert(v) for v in s]
    if not isinstance(s, dict):
        return s
    out = {}
    for k, v in s.items():
        if k in DROP or k.startswith("x-") or (k == "additionalProperties" and v is False):
            continue
        if k == "enum" and s.get("type") in ("integer", "number"):
            continue
        # `date-time` on an integer (Zoom's chatbot `timestamp`, epoch ms)
        # would type a number as a string.
        if k == "format" and v in STRING_FORMATS and s.get("type") != "string":
            continue
        if k == "properties":
            out[k] = {p: convert(ps) for p, ps in v.items()}
        elif k == "oneOf":
            # Exactly-one needs closed objects; with objects left open two
            # branches can both match (Zoom's scheduler `location`).
            out["anyOf"] = convert(v)
        elif k == "type" and v in OPENAPI_TYPES:
            out[k] = OPENAPI_TYPES[v]
        else:
            out[k] = convert(v)
    return out


def openapi(page):
    text = open(page, encoding="utf-8").read()
    start = text.index("```json", text.index("## OpenAPI")) + len("```json")
    return json.loads(text[start : text.index("\n```", start)])


def events_of(docs_api):
    """event -> (product, request body) across every page."""
    out = {}
    for product in sorted(os.listdir(docs_api)):
        page = os.path.join(docs_api, product, "events", "page.md")
        if not os.path.isfile(page):
            continue
        try:
            doc = openapi(page)
        except (ValueError, OSError) as err:
            print(f"{page}: skipped ({err})", file=sys.stderr)
            continue
        for name, item in (doc.get("paths") or doc.get("webhooks") or {}).items():
            body = item.get("post", {}).get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                out.setdefault(name, (product, body))
    return out


def example(name, body):
    """The json-example text, when it is valid JSON whose `event` is `name`
    (some carry another event's name, or one with a trailing space)."""
    text = body.get("examples", {}).get("json-example", {}).get("value")
    try:
        return text if isinstance(text, str) and json.loads(text).get("event") == name else None
    except (ValueError, AttributeError):
        return None


def json_type(v):
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object", type(None): "null"}[type(v)]


def widen(schema, value, at, notes):
    """Admits the example's own types where Zoom's schema says otherwise: the
    example is what Zoom sends; each widening is reported."""
    t = schema.get("type")
    if t is not None:
        allowed = t if isinstance(t, list) else [t]
        got = json_type(value)
        if got not in allowed and not (got == "integer" and "number" in allowed):
            schema["type"] = allowed + [got]
            notes.append(f"{at or '/'}: {t} in the schema, {got} in the example")
    if isinstance(value, dict):
        absent = [r for r in schema.get("required", []) if r not in value]
        if absent:
            schema["required"] = [r for r in schema["required"] if r not in absent]
            notes.append(f"{at or '/'}: {', '.join(absent)} required in the schema, absent from the example")
        for k, v in value.items():
            if k in schema.get("properties", {}):
                widen(schema["properties"][k], v, f"{at}/{k}", notes)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(value):
            widen(schema["items"], v, f"{at}/{i}", notes)


def event_schema(name, product, body, sample):
    s = convert(body["schema"])
    s["properties"]["event"] = {"const": name}
    # The discriminator is required even where Zoom's schema requires nothing.
    s.setdefault("required", ["event"])
    notes = []
    widen(s, json.loads(sample), "", notes)
    for n in notes:
        print(f"{name}: widened {n}", file=sys.stderr)
    family = name.split(".")[0]
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": name,
        "description": f"Zoom `{name}` ({family} family, {product} events). Shape taken from Zoom's published webhook "
        "OpenAPI with descriptions dropped and objects left open, by scripts/catalogue/zoom_openapi.py.",
        **s,
    }


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    docs_api, commit, root = sys.argv[1:4]
    found = events_of(docs_api)
    vendor = provenance.vendor_dir(root, "zoom")
    have = {f.removesuffix(".json") for f in os.listdir(os.path.join(vendor, "events"))}
    families = {h.split(".")[0] for h in have}
    events = sys.argv[4:]
    if not events:
        for name in sorted(found):
            if name.split(".")[0] not in families and example(name, found[name][1]):
                families.add(name.split(".")[0])
                events.append(name)
    prov_path = os.path.join(vendor, "samples", "provenance.json")
    prov, prov_indent = provenance.load(prov_path)
    for name in events:
        if name not in found:
            sys.exit(f"{name}: no page under {docs_api} documents it")
        product, body = found[name]
        text = example(name, body) or sys.exit(f"{name}: its json-example is missing, not JSON, or for another event")
        with open(os.path.join(vendor, "events", f"{name}.json"), "w") as f:
            f.write(json.dumps(event_schema(name, product, body, text), indent=2, ensure_ascii=False) + "\n")
        os.makedirs(os.path.join(vendor, "samples", name), exist_ok=True)
        with open(os.path.join(vendor, "samples", name, "openapi.json"), "w", encoding="utf-8") as f:
            f.write(text)
        provenance.put(prov["samples"], provenance.entry(
            f"{name}/openapi.json", "Oliver-DoWhiz/DoWhiz",
            f"api_reference_documentation/zoom_api_docs/docs/api/{product}/events/page.md", commit,
            f"the `json-example` value of `{name}` in the webhooks OpenAPI document embedded in Zoom's page, written out byte for byte (the value is a JSON string in the document)",
            source=f"https://developers.zoom.us/docs/api/{product}/events/",
        ))
        print(f"{name}: {product}")
    provenance.save(prov_path, prov, prov_indent)


if __name__ == "__main__":
    main()
