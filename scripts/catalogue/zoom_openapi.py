#!/usr/bin/env python3
"""Zoom events from Zoom's webhook OpenAPI documents (a developer tool).

Usage: zoom_openapi.py DOCS_API COMMIT HOOKFORGE [EVENT... | --new]
       zoom_openapi.py --webhooks SPEC REPOSITORY FILE COMMIT HOOKFORGE [EVENT... | --new]

DOCS_API is `api_reference_documentation/zoom_api_docs/docs/api` of the public
snapshot Oliver-DoWhiz/DoWhiz at COMMIT (Zoom renders these pages
client-side; the snapshot holds each page's embedded OpenAPI document).
With --webhooks, SPEC is a local copy of FILE at COMMIT of REPOSITORY, a
public copy of one of Zoom's raw webhook documents
(developers.zoom.us/api-hub/PRODUCT/events/webhooks.json, OpenAPI 3.1 with
the events under `webhooks`); COPIES lists the copies known and how each
relates to what Zoom serves, which the provenance entries say.
HOOKFORGE is this repository. For each EVENT (default: for every family the
catalogue lacks, its headline event (HEADLINE) if its `json-example` is
usable, else the first event by name whose `json-example` is usable) it
writes vendors/zoom/events/EVENT.json, the example (a JSON string in the
document) byte for byte as vendors/zoom/samples/EVENT/openapi.json, and a
provenance entry. An example is usable when it is JSON, or when
`hookforge extract` makes it JSON (the repairs the built-in vendors' docs
examples get; Zoom's Calendar examples carry `//` comments): a repaired
example is written as extract wrote it, its end normalised to one newline,
and its entry lists the repairs (provenance.repaired, run with HOOKFORGE's
target/debug/hookforge or $HOOKFORGE_BIN). An example extract cannot mend (an
elision, a value left out) is skipped, never hand-fixed. With --new
instead of EVENTs it imports every event of the document the catalogue
lacks, naming on stderr (and skipping) each one without a usable example:
how the meetings and phone documents were imported whole.

Conversion, as for the first six events: descriptions, examples and
`additionalProperties: false` are dropped (objects stay open); integer enums
are dropped (Zoom documents them as lists of codes that grow); `oneOf`
becomes `anyOf` (exactly one cannot hold once objects are open); a string format on a
non-string (`date-time` on epoch milliseconds) is dropped; string enums
and Zoom's own `required` are kept (each value and name once); `event` becomes a const, required
where Zoom requires nothing. Where Zoom's example breaks Zoom's schema, the
schema admits the example: a type is widened to the example's, a string
missing from an enum is added to it, a `date-time` format the example's
string breaks is dropped, and a field the schema requires but the example
lacks is not required (each is said on stderr and, for --webhooks
documents, in the event schema's description). Local `$ref`s are inlined
first; Zoom writes them as `#/paths/EVENT/...` also in documents that hold
their events under `webhooks`, so a pointer that does not resolve is tried
under the other of the two.
"""

import json
import os
import re
import sys

import provenance

# Type names some of Zoom's documents use that JSON Schema lacks.
OPENAPI_TYPES = {"long": "integer", "int": "integer", "double": "number", "float": "number"}
STRING_FORMATS = {"date-time", "date", "time", "email", "uri", "uuid", "hostname", "ipv4", "ipv6"}
# RFC 3339 date-time, as JSON Schema's `date-time` format reads it.
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE)
DROP = {"description", "example", "examples", "title", "deprecated", "readOnly", "writeOnly"}

# The event that stands for its family, where the first by name would not:
# recording.completed is the one that carries the files and their
# download_token (the first by name is recording.archive_files_completed).
HEADLINE = {"recording": "recording.completed"}

# Public copies of Zoom's raw webhooks.json documents: (repository, file) ->
# (product, how the copy relates to what Zoom serves at webhooks_url(product)).
COPIES = {
    ("campfhir/renkei", "docs/zoom-meeting-events-open-api-spec.json"): (
        "meetings",
        "The copy is not byte for byte what Zoom serves: the repository's scripts/download-zoom-api-specs.sh "
        "downloaded {url} and wrote it through `jq .`, and the file as committed is also re-wrapped as the "
        "repository's Prettier commit hook writes JSON (short arrays on one line); the example string decodes "
        "to the same value either way",
    ),
    ("api-evangelist/zoom-phone", "openapi/zoom-phone-webhooks-openapi.json"): (
        "phone",
        "The copy is, by the repository's README, harvested verbatim from {url}",
    ),
}


def webhooks_url(product):
    return f"https://developers.zoom.us/api-hub/{product}/events/webhooks.json"


def pointer(doc, ref):
    node = doc
    for part in ref[2:].split("/") if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def inline(doc, s, seen=()):
    """`s` with each local `$ref` replaced by what it points to (its sibling
    keys kept over the target's). Zoom points into `#/paths/...` in documents
    whose events sit under `webhooks` (and could the other way round), so the
    other root is tried when the pointer fails. Raises ValueError on a ref
    that resolves nowhere or refers to itself."""
    if isinstance(s, list):
        return [inline(doc, v, seen) for v in s]
    if not isinstance(s, dict):
        return s
    ref = s.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#"):
        return {k: inline(doc, v, seen) for k, v in s.items()}
    if ref in seen:
        raise ValueError(f"{ref} refers to itself")
    tries = [ref]
    for a, b in (("#/paths/", "#/webhooks/"), ("#/webhooks/", "#/paths/")):
        if ref.startswith(a):
            tries.append(b + ref[len(a):])
    for t in tries:
        try:
            target = pointer(doc, t)
        except (KeyError, IndexError, ValueError, TypeError):
            continue
        rest = {k: v for k, v in s.items() if k != "$ref"}
        return inline(doc, {**target, **rest}, seen + (ref,))
    raise ValueError(f"{ref} resolves nowhere in the document")


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
        elif k == "required" and isinstance(v, list):
            # Zoom lists some twice (account.lock_settings_updated); JSON
            # Schema wants each once.
            out[k] = list(dict.fromkeys(v))
        elif k == "enum" and isinstance(v, list):
            # Zoom Phone repeats values too (phone.callee_unhold's
            # `extension_type`); JSON Schema wants them unique, and AsyncAPI
            # tools refuse the repeat.
            out[k] = [e for i, e in enumerate(v) if e not in v[:i]]
        elif k == "type" and v in OPENAPI_TYPES:
            out[k] = OPENAPI_TYPES[v]
        else:
            out[k] = convert(v)
    return out


def openapi(page):
    text = open(page, encoding="utf-8").read()
    start = text.index("```json", text.index("## OpenAPI")) + len("```json")
    return json.loads(text[start : text.index("\n```", start)])


def bodies(doc, product, out, where):
    """Adds each event of `doc` as event -> (product, request body with local
    refs inlined) to `out`, the first document naming an event winning."""
    for name, item in (doc.get("paths") or doc.get("webhooks") or {}).items():
        body = item.get("post", {}).get("requestBody", {}).get("content", {}).get("application/json")
        if body and name not in out:
            try:
                out[name] = (product, inline(doc, body))
            except ValueError as err:
                print(f"{where}: {name} skipped ({err})", file=sys.stderr)
    return out


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
        bodies(doc, product, out, page)
    return out


def example(root, name, body):
    """(text, repairs) for the json-example, when it is valid JSON whose
    `event` is `name` (some carry another event's name, or one with a
    trailing space): the text byte for byte and no repairs, or, when it is
    not JSON, as `hookforge extract` repaired it (ending in exactly one
    newline) and the repairs made. None when neither."""
    text = body.get("examples", {}).get("json-example", {}).get("value")
    if not isinstance(text, str):
        return None
    repairs = []
    try:
        value = json.loads(text)
    except ValueError:
        try:
            text, repairs = provenance.repaired(root, text)
        except provenance.Unrepairable as err:
            print(f"{name}: json-example is not JSON and `hookforge extract` cannot repair it ({err})", file=sys.stderr)
            return None
        value = json.loads(text)
    return (text, repairs) if isinstance(value, dict) and value.get("event") == name else None


def repair_changes(repairs):
    """The `changes` lines after the first for a repaired example."""
    return provenance.repair_changes(repairs) if repairs else []


def widen(schema, value, at, notes):
    """Admits the example's own types where Zoom's schema says otherwise: the
    example is what Zoom sends; each widening is reported."""
    t = schema.get("type")
    if t is not None:
        allowed = t if isinstance(t, list) else [t]
        got = provenance.json_type(value)
        if got not in allowed and not (got == "integer" and "number" in allowed):
            schema["type"] = allowed + [got]
            notes.append(f"{at or '/'}: {t} in the schema, {got} in the example")
    if isinstance(value, str) and isinstance(schema.get("enum"), list) and value not in schema["enum"]:
        schema["enum"] = schema["enum"] + [value]
        notes.append(f"{at or '/'}: {value!r} not in the schema's enum, in the example")
    if isinstance(value, str) and schema.get("format") == "date-time" and not DATE_TIME.match(value):
        del schema["format"]
        notes.append(f"{at or '/'}: date-time in the schema, {value!r} in the example")
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


def event_schema(name, product, body, sample, say_widened=False):
    s = convert(body["schema"])
    s["properties"]["event"] = {"const": name}
    # The discriminator is required even where Zoom's schema requires nothing.
    s.setdefault("required", ["event"])
    notes = []
    widen(s, json.loads(sample), "", notes)
    for n in notes:
        print(f"{name}: widened {n}", file=sys.stderr)
    family = name.split(".")[0]
    description = (f"Zoom `{name}` ({family} family, {product} events). Shape taken from Zoom's published webhook "
                   "OpenAPI with descriptions dropped and objects left open, by scripts/catalogue/zoom_openapi.py.")
    if say_widened and notes:
        description += " Widened where Zoom's own example breaks Zoom's schema: " + "; ".join(notes) + "."
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": name,
        "description": description,
        **s,
    }


def pages_entry(name, product, commit, repairs):
    how = "written out as repaired below" if repairs else "written out byte for byte"
    e = provenance.entry(
        f"{name}/openapi.json", "Oliver-DoWhiz/DoWhiz",
        f"api_reference_documentation/zoom_api_docs/docs/api/{product}/events/page.md", commit,
        f"the `json-example` value of `{name}` in the webhooks OpenAPI document embedded in Zoom's page, {how} (the value is a JSON string in the document)",
        source=f"https://developers.zoom.us/docs/api/{product}/events/",
    )
    e["changes"] += repair_changes(repairs)
    return e


def webhooks_entry(name, product, repository, file, commit, relation, repairs):
    """Zoom's own example (origin first-party) read from a third party's copy
    of Zoom's document, as other vendors' entries mark such copies."""
    url = webhooks_url(product)
    how = ("the text it decodes to repaired as the lines below say" if repairs
           else "written out byte for byte as the text it decodes to")
    e = provenance.entry(
        f"{name}/openapi.json", repository, file, commit,
        f"the `json-example` value of `{name}` in Zoom's {product} webhooks OpenAPI document ({url}), read from the "
        f"copy at https://github.com/{repository}/blob/{commit}/{file}: the value is a JSON string in the document, "
        f"parsed from it and {how}. {relation.format(url=url)}",
        source=url,
    )
    changes = e["changes"] + repair_changes(repairs)
    return {**{k: v for k, v in e.items() if k != "changes"}, "origin": "first-party", "changes": changes}


def webhooks_source(args):
    """The events of a --webhooks SPEC, and how to write each one's entry."""
    if len(args) < 5:
        sys.exit(__doc__)
    spec, repository, file, commit, root = args[:5]
    if (repository, file) not in COPIES:
        sys.exit(f"{repository} {file}: not a copy this script knows; add it to COPIES, saying how it relates to Zoom's document")
    product, relation = COPIES[(repository, file)]
    doc = json.load(open(spec, encoding="utf-8"))
    if not isinstance(doc.get("webhooks"), dict):
        sys.exit(f"{spec}: no `webhooks` object (not a raw Zoom webhooks.json)")
    found = bodies(doc, product, {}, spec)
    return root, args[5:], found, f"{spec} has no webhook of that name", True, \
        lambda name, product, repairs: webhooks_entry(name, product, repository, file, commit, relation, repairs)


def main():
    if sys.argv[1:2] == ["--webhooks"]:
        root, events, found, absent, say_widened, entry = webhooks_source(sys.argv[2:])
    else:
        if len(sys.argv) < 4:
            sys.exit(__doc__)
        docs_api, commit, root = sys.argv[1:4]
        events, found, absent, say_widened = sys.argv[4:], events_of(docs_api), f"no page under {docs_api} documents it", False
        entry = lambda name, product, repairs: pages_entry(name, product, commit, repairs)
    vendor = provenance.vendor_dir(root, "zoom")
    have = {f.removesuffix(".json") for f in os.listdir(os.path.join(vendor, "events"))}
    families = {h.split(".")[0] for h in have}
    every_new = events == ["--new"]
    if "--new" in events and len(events) > 1:
        sys.exit("--new imports every event the catalogue lacks: give it alone, without event names")
    if every_new:
        events = sorted(n for n in found if n not in have)
    elif not events:
        for name in sorted(found):
            family = name.split(".")[0]
            if family in families:
                continue
            head = HEADLINE.get(family)
            if head in found and example(root, head, found[head][1]):
                name = head
            if example(root, name, found[name][1]):
                families.add(family)
                events.append(name)
    prov_path = os.path.join(vendor, "samples", "provenance.json")
    prov, prov_indent = provenance.load(prov_path)
    for name in events:
        if name not in found:
            sys.exit(f"{name}: {absent}")
        product, body = found[name]
        usable = example(root, name, body)
        unusable = f"{name}: its json-example is missing, not JSON even after `hookforge extract`, or for another event"
        if not usable and every_new:
            print(f"skipped {unusable}", file=sys.stderr)
            continue
        text, repairs = usable or sys.exit(unusable)
        with open(os.path.join(vendor, "events", f"{name}.json"), "w") as f:
            f.write(json.dumps(event_schema(name, product, body, text, say_widened), indent=2, ensure_ascii=False) + "\n")
        os.makedirs(os.path.join(vendor, "samples", name), exist_ok=True)
        with open(os.path.join(vendor, "samples", name, "openapi.json"), "w", encoding="utf-8") as f:
            f.write(text)
        provenance.put(prov["samples"], entry(name, product, repairs))
        print(f"{name}: {product}")
    provenance.save(prov_path, prov, prov_indent)


if __name__ == "__main__":
    provenance.run(main)
