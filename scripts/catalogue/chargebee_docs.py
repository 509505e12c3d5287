#!/usr/bin/env python3
"""Chargebee event samples from the per-event pages of Chargebee's API
reference (https://apidocs.chargebee.com/docs/api/events/webhook/<event>).

Usage: chargebee_docs.py PAGES HOOKFORGE

PAGES is a directory of saved page texts, one file per page, named
<event_type>.txt: the page's URL on the first line, a blank line, then the
page text (as the `pages` search corpus returns it; any whitespace layout).
HOOKFORGE is this repository. The pages were chosen by hand, one per
resource family the catalogue lacked (the resource the event is about);
this script does not judge families. The import used the 23 pages whose
URLs follow the first four per-event pages in the manifest's `docs`.

For each page it takes the JSON object after "Sample Payload" (or, on a
page text without that heading, the first `{`), removes every placeholder
member `"...": "..."` (Chargebee abbreviates each object with one; it never
sends them) and writes vendors/chargebee/samples/<event_type>/docs.json
with the members in page order, indented by 2 spaces, plus a final newline,
as the existing docs samples are. A page whose example is not JSON once the
placeholders are out is skipped and named. Event types the catalogue
already has are left alone, unless their docs.json came from the same page
(those are written again, so a second run reproduces the first).

Each new sample gets an event schema inferred from it in the style of the
existing Chargebee ones (types only, objects open, arrays typed by their
items, empty arrays untyped, `event_type` pinned; required are the
envelope fields that Chargebee's OpenAPI event schemas require, as far as
the sample has them), a provenance entry (the page URL as `source`, and
the changes made), and its page URL in the manifest's `docs`.
"""

import json
import os
import re
import sys

import provenance

# Required in every `*Event` schema of chargebee/openapi (v1 and v2 specs).
ENVELOPE = ["api_version", "content", "event_type", "id", "object", "occurred_at", "source", "webhook_status"]
PLACEHOLDER_ID = re.compile(r"^[a-z_]+_example_id$")
# Keys the Node SDK types as lists while the docs show one placeholder object
# (worded as in the existing subscription_cancelled schema).
LISTS = {"credit_notes", "unbilled_charges"}
LIST_NOTE = "any type: the docs' sample shows a placeholder object here (`{{\"id\": \"{0}_example_id\"}}`), while Chargebee's Node SDK types list arrays (`credit_note`, `unbilled_charge`)"


def sample_text(page):
    at = page.find("Sample Payload")
    start = page.find("{", 0 if at < 0 else at)
    if start < 0:
        raise ValueError("no JSON object on the page")
    return page[start:]


def parse(text):
    """The example less its placeholders, and how many were removed."""
    removed = 0

    def pairs(items):
        nonlocal removed
        kept = [(k, v) for k, v in items if not (k == "..." and v == "...")]
        removed += len(items) - len(kept)
        return dict(kept)

    value, _ = json.JSONDecoder(object_pairs_hook=pairs).raw_decode(text)
    if not isinstance(value, dict):
        raise ValueError("the example is not a JSON object")
    return value, removed


def placeholders(content):
    """Members of `content` that are only a placeholder id, as published."""
    return [(k, v["id"]) for k, v in content.items()
            if isinstance(v, dict) and list(v) == ["id"] and isinstance(v["id"], str) and PLACEHOLDER_ID.match(v["id"])]


def infer(value):
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        if not value:
            return {}
        items = {}
        for v in value:
            items = merge(items, infer(v)) if items else infer(v)
        return {"items": items, "type": "array"}
    if isinstance(value, dict):
        if not value:
            return {"type": "object"}
        return {"properties": {k: infer(value[k]) for k in sorted(value)}, "type": "object"}
    return {}


def merge(a, b):
    if a.get("type") == b.get("type") == "object":
        props = dict(a.get("properties", {}))
        for k, v in b.get("properties", {}).items():
            props[k] = merge(props[k], v) if k in props else v
        return {"properties": {k: props[k] for k in sorted(props)}, "type": "object"}
    return a if a == b else {}


def schema(event_type, example):
    content = example.get("content", {})
    props = {}
    for k in sorted(example):
        if k == "event_type":
            props[k] = {"type": "string", "const": event_type}
        elif k == "content" and isinstance(content, dict):
            c = infer(content)
            for key, pid in placeholders(content):
                if key in LISTS:
                    c["properties"][key] = {"description": LIST_NOTE.format(key)}
                else:
                    c["properties"][key] = {"description": f"the docs' sample shows only a placeholder id here (`{pid}`)", **c["properties"][key]}
            props[k] = c
        else:
            props[k] = infer(example[k])
    if not content:
        what = "The page's sample has an empty `content`; its resources are left open."
    else:
        what = "The resources under `content` are left optional."
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": event_type,
        "description": f"Chargebee event `{event_type}` (API v2 content). Types inferred from the sample on Chargebee's per-event reference page, which abbreviates each object; envelope required fields from Chargebee's published OpenAPI event schemas. {what}",
        "type": "object",
        "required": [k for k in ENVELOPE if k in example],
        "properties": props,
    }


def changes(removed, content):
    if removed == 1:
        first = "removed the `\"...\": \"...\"` placeholder member; indentation normalised to 2 spaces"
    elif removed:
        first = f"removed the {removed} `\"...\": \"...\"` placeholder members; indentation normalised to 2 spaces"
    else:
        first = "indentation normalised to 2 spaces"
    out = [first]
    held = placeholders(content) if isinstance(content, dict) else []
    if held:
        names = " and ".join(f"`{k}`" for k, _ in held) if len(held) <= 2 else ", ".join(f"`{k}`" for k, _ in held[:-1]) + f" and `{held[-1][0]}`"
        ids = ", ".join(f"`{{\"id\": \"{pid}\"}}`" for _, pid in held)
        verb = "is a placeholder object" if len(held) == 1 else "are placeholder objects"
        out.append(f"{names} {verb} as published ({ids})")
    if isinstance(content, dict) and not content:
        out.append("`content` is empty as published")
    return out


def save_provenance(path, doc):
    """Written as the file is laid out by hand: one line per entry member."""
    lines = ["{", f"  \"note\": {json.dumps(doc['note'], ensure_ascii=False)},", "  \"samples\": ["]
    for i, e in enumerate(doc["samples"]):
        members = [f"      {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in e.items()]
        lines += ["    {", ",\n".join(members), "    }" + ("," if i < len(doc["samples"]) - 1 else "")]
    lines += ["  ]", "}"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    pages, root = sys.argv[1:]
    provenance.source_dir(pages, "the saved page texts")
    vendor = provenance.vendor_dir(root, "chargebee")
    prov_path = os.path.join(vendor, "samples", "provenance.json")
    doc = json.load(open(prov_path, encoding="utf-8"))
    manifest_path = os.path.join(vendor, "manifest.json")
    manifest = json.load(open(manifest_path, encoding="utf-8"))
    have = {f[:-5] for f in os.listdir(os.path.join(vendor, "events"))}

    added = []
    for name in sorted(os.listdir(pages)):
        if not name.endswith(".txt"):
            continue
        url, _, page = open(os.path.join(pages, name), encoding="utf-8").read().partition("\n\n")
        url = url.strip()
        try:
            example, removed = parse(sample_text(page))
        except ValueError as err:
            print(f"skipped, not JSON once the placeholders are out: {url}: {err}", file=sys.stderr)
            continue
        event_type = example.get("event_type")
        if event_type != name[:-4]:
            print(f"skipped: {name} holds a `{event_type}` sample ({url})", file=sys.stderr)
            continue
        if event_type in have and not any(e["path"] == f"{event_type}/docs.json" and e["source"] == url for e in doc["samples"]):
            continue
        have.add(event_type)
        path = f"{event_type}/docs.json"
        os.makedirs(os.path.join(vendor, "samples", event_type), exist_ok=True)
        with open(os.path.join(vendor, "samples", path), "w", encoding="utf-8") as f:
            f.write(json.dumps(example, indent=2, ensure_ascii=False) + "\n")
        with open(os.path.join(vendor, "events", f"{event_type}.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(schema(event_type, example), indent=2, ensure_ascii=False) + "\n")
        provenance.put(doc["samples"], {"path": path, "source": url, "changes": changes(removed, example.get("content"))})
        if url not in manifest["docs"]:
            at = max(i for i, d in enumerate(manifest["docs"]) if "/events/webhook/" in d)
            manifest["docs"].insert(at + 1, url)
        added.append(path)
    save_provenance(prov_path, doc)
    with open(manifest_path, "w", encoding="utf-8") as f:
        f.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    print("\n".join(added))


if __name__ == "__main__":
    provenance.run(main)
