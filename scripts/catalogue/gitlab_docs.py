#!/usr/bin/env python3
"""GitLab events from GitLab's webhook_events documentation (a developer tool).

Usage: gitlab_docs.py WEBHOOK_EVENTS_MD COMMIT HOOKFORGE_BIN HOOKFORGE [KIND...]

WEBHOOK_EVENTS_MD is doc/user/project/integrations/webhook_events.md of
gitlabhq/gitlabhq at COMMIT; HOOKFORGE_BIN is a built `hookforge`; HOOKFORGE
is this repository. For each KIND (default: every `object_kind` whose
payload examples parse as JSON and that the catalogue lacks) it writes the
examples byte for byte (a trailing newline added) as
vendors/gitlab/samples/KIND/docs.json (docs-2.json, ... for more), a
provenance entry each, the X-Gitlab-Event header the section names into the
manifest, and vendors/gitlab/events/KIND.json inferred from the examples
by `hookforge infer`, with `object_kind` pinned and alone required (GitLab
documents no always-present fields). Examples that are not JSON (GitLab's
Job and Release examples carry `//` comments) are skipped and named.
"""

import json
import os
import re
import subprocess
import sys

import provenance


def sections(doc):
    """(heading, X-Gitlab-Event or None, example text) per JSON example."""
    heads = [(m.start(), m.group(1)) for m in re.finditer(r"^## (.*)$", doc, re.M)]
    for m in re.finditer(r"```json\n(.*?)\n```", doc, re.S):
        head_at, head = [h for h in heads if h[0] < m.start()][-1]
        hook = re.search(r"X-Gitlab-Event: (.*)", doc[head_at : m.start()])
        yield head, hook.group(1).strip() if hook else None, m.group(1)


def examples(doc):
    """object_kind -> [(heading, hook, text)]; and the headings skipped."""
    out, skipped = {}, []
    for head, hook, text in sections(doc):
        try:
            kind = json.loads(text).get("object_kind")
        except ValueError as err:
            skipped.append(f"{head}: not JSON ({err})")
            continue
        if kind:
            out.setdefault(kind, []).append((head, hook, text))
    return out, skipped


def infer(binary, files, kind, hook, head):
    schema = json.loads(subprocess.run([binary, "infer", *files, "--title", kind], check=True, capture_output=True, text=True).stdout)
    schema["properties"]["object_kind"] = {"const": kind}
    schema["required"] = ["object_kind"]
    schema["description"] = (
        f"GitLab's {head.lower()} (X-Gitlab-Event: {hook}). Types inferred by scripts/catalogue/gitlab_docs.py from "
        "GitLab's webhook_events examples; only the discriminator `object_kind` is required, since GitLab documents "
        "no always-present field list."
    )
    order = ("$schema", "title", "description", "properties", "required", "type", "definitions")
    return {k: schema[k] for k in order if k in schema} | {k: v for k, v in schema.items() if k not in order}


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    src, commit, binary, root = sys.argv[1:5]
    found, skipped = examples(open(src, encoding="utf-8").read())
    for s in skipped:
        print(f"skipped {s}", file=sys.stderr)
    vendor = provenance.vendor_dir(root, "gitlab")
    have = {f.removesuffix(".json") for f in os.listdir(os.path.join(vendor, "events"))}
    kinds = sys.argv[5:] or sorted(k for k in found if k not in have)
    prov_path = os.path.join(vendor, "samples", "provenance.json")
    prov, indent = provenance.load(prov_path)
    manifest_path = os.path.join(vendor, "manifest.json")
    manifest = json.load(open(manifest_path))
    for kind in kinds:
        if kind not in found:
            sys.exit(f"{kind}: {src} has no JSON example with that object_kind")
        files = []
        for i, (head, hook, text) in enumerate(found[kind]):
            name = "docs.json" if i == 0 else f"docs-{i + 1}.json"
            os.makedirs(os.path.join(vendor, "samples", kind), exist_ok=True)
            files.append(os.path.join(vendor, "samples", kind, name))
            with open(files[-1], "w", encoding="utf-8") as f:
                f.write(text + "\n")
            provenance.put(prov["samples"], provenance.entry(
                f"{kind}/{name}", "gitlabhq/gitlabhq", "doc/user/project/integrations/webhook_events.md", commit,
                f"copied from the fenced payload example under '{head}' as published; a trailing newline added",
            ))
        head, hook = found[kind][0][:2]
        if not hook:
            sys.exit(f"{kind}: the section '{head}' names no X-Gitlab-Event header")
        with open(os.path.join(vendor, "events", f"{kind}.json"), "w") as f:
            f.write(json.dumps(infer(binary, files, kind, hook, head), indent=2) + "\n")
        header = {"name": "X-Gitlab-Event", "value": hook, "only_when": f"event={kind}",
                  "note": f"the hook's name, not `object_kind`: `{hook}` carries `{kind}`"}
        if header not in manifest["headers"]:
            last = max(i for i, h in enumerate(manifest["headers"]) if h["name"] == "X-Gitlab-Event")
            manifest["headers"].insert(last + 1, header)
        print(f"{kind}: {len(files)} example(s), {hook}")
    provenance.save(prov_path, prov, indent)
    with open(manifest_path, "w") as f:
        f.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
