#!/usr/bin/env python3
"""Recurly JSON notification samples from the source of docs.recurly.com
(a developer tool).

Usage: recurly_docs.py DOCS COMMIT HOOKFORGE

DOCS is a git directory of recurly/recurly-docs (the readme.com sync of
docs.recurly.com; the import used its `v1.0` branch at
38cfcc4cf21e85267c7edb3dee4bd9b9eab4c622); HOOKFORGE is this repository.

It reads the ```json blocks of docs/WEBHOOKS/notifications/*.md at COMMIT.
A block that parses and names an `object_type` is an example of that
object type (the catalogue keys Recurly events by `object_type`). For each
object type the catalogue lacks, the first such example (in page order, as
`_order.yaml` lists the pages) becomes vendors/recurly/samples/<type>/<slug
of the section heading, or of the type when the heading names none of
it>.json, byte for byte plus a final newline, with a
provenance entry pinned to COMMIT and lines, and an event schema inferred
from it in the style of the existing ones (types only, `event_time` a
date-time, `object_type` pinned and the only required field, objects
open). Blocks that are not JSON as published are skipped and named.

Samples already in the catalogue whose bytes (less the final newline) equal
a block at COMMIT get their provenance pinned to that block.
"""

import json
import os
import re
import sys

import provenance

PAGES = "docs/WEBHOOKS/notifications"
REPO = "recurly/recurly-docs"




def blocks(docs, commit):
    """(file, first line, last line, heading, text) of every ```json block."""
    order = [l[2:].strip() for l in provenance.git_show(docs, commit, f"{PAGES}/_order.yaml").splitlines() if l.startswith("- ")]
    for page in order:
        file = f"{PAGES}/{page}.md"
        lines = provenance.git_show(docs, commit, file).split("\n")
        heading, i = None, 0
        while i < len(lines):
            if lines[i].startswith("#"):
                heading = lines[i].lstrip("#").strip()
            if lines[i].strip() == "```json":
                j = i + 1
                while not lines[j].startswith("```"):
                    j += 1
                yield file, i + 2, j, heading, "\n".join(lines[i + 1 : j])
                i = j
            i += 1


def slug(heading):
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def schema(object_type, example):
    def kind(v):
        return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(v), "object")

    props = {}
    for k in sorted(example):
        if k == "object_type":
            props[k] = {"type": "string", "const": object_type}
        elif k == "event_time":
            props[k] = {"format": "date-time", "type": "string"}
        elif example[k] is None:
            props[k] = {}
        else:
            props[k] = {"type": kind(example[k])}
    ids = "ids only" if "id" in example else "ids only (no `id` of its own)"
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": object_type,
        "description": f"Recurly JSON notification for the `{object_type}` object (its action in `event_type`); a light payload with {ids}. Inferred from samples in Recurly's docs; only the discriminator is required, since the docs list no always-present fields.",
        "type": "object",
        "required": ["object_type"],
        "properties": props,
    }


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    docs, commit, root = sys.argv[1:]
    vendor = provenance.vendor_dir(root, "recurly")
    prov_path = os.path.join(vendor, "samples", "provenance.json")
    doc, indent = provenance.load(prov_path)
    have = {f[:-5] for f in os.listdir(os.path.join(vendor, "events"))}
    found = list(blocks(docs, commit))

    def pinned(file, first, last):
        return f"https://github.com/{REPO}/blob/{commit}/{file}#L{first}-L{last}"

    # Pin the samples already there to the block they are.
    for i, e in enumerate(doc["samples"]):
        body = open(os.path.join(vendor, "samples", e["path"]), encoding="utf-8").read()
        for file, first, last, heading, text in found:
            if e.get("commit") is None and body in (text, text + "\n"):
                doc["samples"][i] = provenance.entry(
                    e["path"], REPO, file, commit,
                    f"none: the `{heading}` JSON example, byte for byte, plus a final newline; the same example is shown at {e['source']}",
                    pinned(file, first, last),
                )
                break

    added = []
    for file, first, last, heading, text in found:
        try:
            example = json.loads(text)
        except ValueError as err:
            print(f"skipped, not JSON as published: {file}#L{first}-L{last} ({heading}): {err}", file=sys.stderr)
            continue
        ot = example.get("object_type") if isinstance(example, dict) else None
        if not ot or ot in have:
            continue
        have.add(ot)
        name = slug(heading)
        if not any(w in name.split("-") for w in ot.split("_")):
            name = ot.replace("_", "-")  # a generic heading ("Key details")
        path = f"{ot}/{name}.json"
        os.makedirs(os.path.join(vendor, "samples", ot), exist_ok=True)
        with open(os.path.join(vendor, "samples", path), "w", encoding="utf-8") as f:
            f.write(text + "\n")
        with open(os.path.join(vendor, "events", f"{ot}.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(schema(ot, example), indent=2) + "\n")
        provenance.put(doc["samples"], provenance.entry(
            path, REPO, file, commit,
            f"none: the `{heading}` JSON example, byte for byte, plus a final newline",
            pinned(file, first, last),
        ))
        added.append(path)
    provenance.save(prov_path, doc, indent)
    print("\n".join(added))


if __name__ == "__main__":
    provenance.run(main)
