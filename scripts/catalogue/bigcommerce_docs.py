#!/usr/bin/env python3
"""BigCommerce events from BigCommerce's webhook callback models (a developer tool).

Usage: bigcommerce_docs.py CALLBACKS COMMIT HOOKFORGE [NAME...]

CALLBACKS is docs/webhooks/callbacks of bigcommerce/docs at COMMIT (one
`store_*.yml` model per scope, and `data/store_*.json`, the example each model
is generated from); HOOKFORGE is this repository. For each NAME (a file stem
such as store_sku_created; default: the first, by name, of every scope family
the catalogue lacks whose example parses and carries the model's own scope)
it writes vendors/bigcommerce/events/NAME.json, the example byte for byte as
vendors/bigcommerce/samples/NAME/docs-data.json, and a provenance entry.

Conversion, as for the first seven events: descriptions are dropped; the
models mark nothing required, so only `scope` (pinned) is required.
Examples whose scope is another model's (several in `data/` are swapped)
are skipped and named.
"""

import json
import os
import sys

import yaml

import provenance


def convert(s):
    if isinstance(s, list):
        return [convert(v) for v in s]
    if not isinstance(s, dict):
        return s
    return {k: ({p: convert(v) for p, v in s[k].items()} if k == "properties" else convert(s[k])) for k in s if k != "description"}


def model(callbacks, name):
    """(scope, model) of store_*.yml NAME."""
    doc = yaml.safe_load(open(os.path.join(callbacks, f"{name}.yml")))
    (scope, schema), = doc["properties"].items()
    return scope, schema


def example(callbacks, name, scope):
    """The example's text when it parses and carries `scope`; else why not."""
    path = os.path.join(callbacks, "data", f"{name}.json")
    try:
        text = open(path, encoding="utf-8").read()
        got = json.loads(text).get("scope")
    except (OSError, ValueError, AttributeError) as err:
        return None, f"{name}: no usable example ({type(err).__name__})"
    return (text, None) if got == scope else (None, f"{name}: its example's scope is {got}, not {scope}")


def event_schema(scope, schema, name):
    s = convert(schema)
    s["properties"]["scope"] = {"type": "string", "const": scope}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": scope,
        "description": f"BigCommerce `{scope}`. Schema from BigCommerce's published webhook callback models (bigcommerce/docs, "
        f"docs/webhooks/callbacks/{name}.yml) by scripts/catalogue/bigcommerce_docs.py; they mark no field required, so only "
        "`scope` (the event type) is required here.",
        "type": "object",
        "required": ["scope"],
        "properties": s["properties"],
    }


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    callbacks, commit, root = sys.argv[1:4]
    vendor = provenance.vendor_dir(root, "bigcommerce")
    have = [f.removesuffix(".json") for f in os.listdir(os.path.join(vendor, "events"))]
    family = lambda name: name.split("_")[1]
    families = {family(h) for h in have}
    names = sys.argv[4:]
    if not names:
        for f in sorted(os.listdir(callbacks)):
            name = f.removesuffix(".yml")
            if f.startswith("store_") and f.endswith(".yml") and family(name) not in families:
                text, why = example(callbacks, name, model(callbacks, name)[0])
                if text is None:
                    print(f"skipped {why}", file=sys.stderr)
                    continue
                families.add(family(name))
                names.append(name)
    prov_path = os.path.join(vendor, "samples", "provenance.json")
    prov, indent = provenance.load(prov_path)
    for name in names:
        scope, schema = model(callbacks, name)
        text, why = example(callbacks, name, scope)
        if text is None:
            sys.exit(why)
        with open(os.path.join(vendor, "events", f"{name}.json"), "w") as f:
            f.write(json.dumps(event_schema(scope, schema, name), indent=2) + "\n")
        os.makedirs(os.path.join(vendor, "samples", name), exist_ok=True)
        with open(os.path.join(vendor, "samples", name, "docs-data.json"), "w", encoding="utf-8") as f:
            f.write(text)
        provenance.put(prov["samples"], provenance.entry(
            f"{name}/docs-data.json", "bigcommerce/docs", f"docs/webhooks/callbacks/data/{name}.json", commit,
            "none: byte for byte" + ("" if text.endswith("\n") else " (no final newline)")
            + ("; `producer` is the placeholder `stores/{store_hash}` as published" if '"stores/{store_hash}"' in text else ""),
        ))
        print(f"{name}: {scope}")
    provenance.save(prov_path, prov, indent)


if __name__ == "__main__":
    main()
