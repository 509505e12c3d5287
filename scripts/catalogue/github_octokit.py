#!/usr/bin/env python3
"""Adds to vendors/github one event per GitHub webhook event that it lacks,
from a checkout of octokit/webhooks (GitHub's Octokit team's payload examples
and published payload schemas):

    python3 scripts/catalogue/github_octokit.py OCTOKIT_DIR COMMIT HOOKFORGE

For each event directory of OCTOKIT_DIR/payload-examples/api.github.com that
vendors/github has no event of, it takes the action with the most examples
(ties: the first by name), and writes:
  - samples/<event>.<action>/<name>.json, each example byte for byte;
  - events/<event>.<action>.json: the types `HOOKFORGE infer` gives for
    those examples, and at every object octokit's schema also describes, its
    `required` from that schema (the keys GitHub documents as always sent),
    kept only where every example has them;
  - an entry per sample in samples/provenance.json, pinned to COMMIT.
Events already in vendors/github are left alone.
"""
import json
import os
import subprocess
import sys
from collections import defaultdict

octokit, commit, hookforge = sys.argv[1:4]
root = os.path.join(os.path.dirname(__file__), "..", "..", "vendors", "github")
examples = os.path.join(octokit, "payload-examples", "api.github.com")
schemas = os.path.join(octokit, "payload-schemas", "api.github.com")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def resolve(node, base):
    """`node` with `$ref`s followed and `allOf` parts merged; None where it
    is a choice (`oneOf`/`anyOf` of several objects) octokit leaves open."""
    while isinstance(node, dict) and "$ref" in node:
        # An event's schema names `common/…` from the root; common schemas
        # name their siblings.
        path = os.path.normpath(os.path.join(base, node["$ref"]))
        if not os.path.exists(path):
            path = os.path.normpath(os.path.join(schemas, node["$ref"]))
        node, base = load(path), os.path.dirname(path)
    if not isinstance(node, dict):
        return None, base
    if "allOf" in node:
        merged = {"required": [], "properties": {}}
        for part in node["allOf"]:
            part, part_base = resolve(part, base)
            if part is None:
                continue
            merged["required"] += part.get("required", [])
            for k, v in part.get("properties", {}).items():
                merged["properties"][k] = (v, part_base)
        return merged, base
    choices = node.get("oneOf") or node.get("anyOf")
    if choices:
        objects = [c for c in choices if c.get("type") != "null"]
        if len(objects) != 1:
            return None, base
        return resolve(objects[0], base)
    props = {k: (v, base) for k, v in node.get("properties", {}).items()}
    return {"required": node.get("required", []), "properties": props}, base


def always_has(docs, key):
    objects = [d for d in docs if isinstance(d, dict)]
    return bool(objects) and all(key in d for d in objects)


def apply_required(ours, theirs, base, docs, defs):
    """Sets `required` on `ours` (an inferred object schema, whose `$ref`s
    point into `defs`) from octokit's node, recursively, for keys every
    example (`docs`) carries there."""
    theirs, base = resolve(theirs, base)
    if theirs is None or not isinstance(ours, dict):
        return
    for node in ours.get("anyOf", [ours]):
        if "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[1]]
        if "properties" not in node:
            continue
        req = [k for k in theirs["required"] if k in node["properties"] and always_has(docs, k)]
        if req:
            node["required"] = sorted(set(req), key=req.index)
        elif "required" in node:
            del node["required"]
        for key, sub in node["properties"].items():
            if key in theirs["properties"]:
                their_sub, sub_base = theirs["properties"][key]
                children = [d[key] for d in docs if isinstance(d, dict) and key in d]
                apply_required(sub, their_sub, sub_base, children, defs)


def unrequire_missing(schema, docs):
    """Drops each `required` key an example lacks: a definition is shared by
    several places, and octokit's node for one of them may require a key
    the examples do not carry at another."""
    from jsonschema import Draft7Validator
    while True:
        errors = [e for d in docs for e in Draft7Validator(schema).iter_errors(d) if e.validator == "required"]
        if not errors:
            return
        changed = False
        for e in errors:
            node = schema
            for step in list(e.schema_path)[:-1]:
                node = schema["definitions"][node[step].rsplit("/", 1)[1]] if step == "$ref" else node[step]
            missing = e.message.split("'")[1]
            if missing in node.get("required", []):
                node["required"].remove(missing)
                changed = True
            if not node.get("required"):
                node.pop("required", None)
        if not changed:
            raise SystemExit(f"cannot fix: {errors[0].message} at {list(errors[0].schema_path)}")


def rename_shared(schema, event):
    """Renames the inferred definitions whose names definitions.json also
    defines (`User`): bundled, both would be `#/definitions/User`."""
    shared = load(os.path.join(root, "definitions.json")).get("definitions", {})
    local = schema.get("definitions", {})
    prefix = "".join(w.capitalize() for w in event.split("_"))
    renames = {n: prefix + n for n in local if n in shared}
    for old, new in renames.items():
        local[new] = local.pop(old)
    text = json.dumps(schema)
    for old, new in renames.items():
        text = text.replace(f'"#/definitions/{old}"', f'"#/definitions/{new}"')
    schema.clear()
    schema.update(json.loads(text))


def main():
    have = {name.split(".")[0] for name in os.listdir(os.path.join(root, "events"))}
    provenance_path = os.path.join(root, "samples", "provenance.json")
    provenance = load(provenance_path)
    added = []
    for event in sorted(os.listdir(examples)):
        folder = os.path.join(examples, event)
        if event in have or not os.path.isdir(folder):
            continue
        by_action = defaultdict(list)
        for f in sorted(os.listdir(folder)):
            body = load(os.path.join(folder, f))
            by_action[body.get("action")].append(f)
        action = sorted(by_action, key=lambda a: (-len(by_action[a]), a or ""))[0]
        files = by_action[action]
        name = f"{event}.{action}" if action else event
        docs = [load(os.path.join(folder, f)) for f in files]
        out = subprocess.run([hookforge, "infer", "--title", name, *(os.path.join(folder, f) for f in files)],
                             capture_output=True, check=True, text=True).stdout
        schema = json.loads(out)
        their = os.path.join(schemas, event, f"{action or 'event'}.schema.json")
        if os.path.exists(their):
            defs = schema.get("definitions", {})
            apply_required(schema, {"$ref": os.path.basename(their)}, os.path.dirname(their), docs, defs)
            unrequire_missing(schema, docs)
            source = f"octokit's published `{name}` schema"
        else:
            source = "no octokit schema: inferred `required`"
        rename_shared(schema, event)
        schema["description"] = (
            f"Types inferred from the octokit/webhooks payload examples; required fields from {source}."
        )
        with open(os.path.join(root, "events", f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump(schema, f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.makedirs(os.path.join(root, "samples", name), exist_ok=True)
        for f in files:
            stem = f.removesuffix(".json").removesuffix(".payload")
            short = stem.split(".", 1)[1] if "." in stem else stem
            target = f"{name}/{short}.json"
            with open(os.path.join(folder, f), "rb") as src:
                data = src.read()
            with open(os.path.join(root, "samples", target), "wb") as dst:
                dst.write(data)
            file = f"payload-examples/api.github.com/{event}/{f}"
            provenance["samples"].append({
                "path": target,
                "source": f"https://github.com/octokit/webhooks/blob/{commit}/{file}",
                "repository": "octokit/webhooks",
                "file": file,
                "commit": commit,
                "changes": [],
            })
        added.append(f"{name} ({len(files)})")
    with open(provenance_path, "w", encoding="utf-8") as f:
        json.dump(provenance, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"{len(added)} events added: {', '.join(added)}")


main()
