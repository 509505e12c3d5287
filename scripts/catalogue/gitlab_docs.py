#!/usr/bin/env python3
"""GitLab events from GitLab's webhook_events documentation (a developer tool).

Usage: gitlab_docs.py [--file FILE] WEBHOOK_EVENTS_MD COMMIT HOOKFORGE_BIN HOOKFORGE [KIND...]

WEBHOOK_EVENTS_MD is a local copy of FILE (default
doc/user/project/integrations/webhook_events.md) of gitlabhq/gitlabhq at
COMMIT; HOOKFORGE_BIN is a built `hookforge`; HOOKFORGE is this repository.
For each KIND (default: every `object_kind` with a usable payload example
that the catalogue lacks) it writes the examples as
vendors/gitlab/samples/KIND/docs.json (docs-2.json, ... for more), a
provenance entry each pinned to COMMIT, the X-Gitlab-Event header the
section names into the manifest (and the pinned page into its docs when it
is not there), and vendors/gitlab/events/KIND.json inferred from the
examples by `hookforge infer`, with `object_kind` pinned and alone required
(GitLab documents no always-present fields). Only the KINDs named are
written, so one event can come from another revision or file (milestone:
the catalogue's revision predates it) while the others stay pinned where
they are.

An example that is JSON as published is written byte for byte, a trailing
newline added. One that is not (GitLab's Job and Release examples carry
`//` comments) is made JSON by `hookforge extract`, as the built-in
vendors' docs examples are (provenance.repaired, run with HOOKFORGE_BIN):
it is written as extract wrote it, its end normalised to exactly one
newline, and its entry lists the repairs. One extract cannot mend (an
elision, a value left out) is skipped and named, never hand-fixed.

FILE may be a localized copy of the page (doc-locale/LOCALE/...): its
payload examples and headers are not translated, and a heading's
`{#anchor}` names the section as the English page does.
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


def title(head):
    """The section's English name: a localized heading's `{#anchor}` in
    words (`{#milestone-events}`: `Milestone events`), else the heading."""
    anchor = re.search(r"\s*\{#([a-z0-9-]+)\}\s*$", head)
    return anchor.group(1).replace("-", " ").capitalize() if anchor else head


def examples(doc, root):
    """object_kind -> [(heading, hook, text to write, repairs)]; and the
    headings skipped. An example that is not JSON is repaired by `hookforge
    extract` (repairs non-empty) or skipped when extract cannot mend it."""
    out, skipped = {}, []
    for head, hook, text in sections(doc):
        repairs = []
        try:
            value = json.loads(text)
            text += "\n"
        except ValueError as err:
            try:
                text, repairs = provenance.repaired(root, text)  # Unrepairable: skipped, never hand-fixed
            except provenance.Unrepairable as why:
                skipped.append(f"{head}: not JSON ({err}) and `hookforge extract` cannot repair it ({why})")
                continue
            value = json.loads(text)
        kind = value.get("object_kind") if isinstance(value, dict) else None
        if kind:
            out.setdefault(kind, []).append((head, hook, text, repairs))
    return out, skipped


def changes(head, repairs):
    """The provenance `changes` for one example taken from section HEAD."""
    name = title(head)
    where = f"'{name}'" if name == head else f"'{name}' (headed '{head}' on this localized page, whose payload examples are not translated)"
    if not repairs:
        return [f"copied from the fenced payload example under {where} as published; a trailing newline added"]
    return [f"the fenced payload example under {where}, written out as repaired below",
            *provenance.repair_changes(repairs)]


def infer(binary, files, kind, hook, head):
    head = title(head)
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
    args = sys.argv[1:]
    file = "doc/user/project/integrations/webhook_events.md"
    if args[:1] == ["--file"] and len(args) > 1:
        file, args = args[1], args[2:]
    if len(args) < 4:
        sys.exit(__doc__)
    src, commit, binary, root = args[:4]
    os.environ["HOOKFORGE_BIN"] = os.path.abspath(binary)  # what provenance.repaired runs
    found, skipped = examples(open(src, encoding="utf-8").read(), root)
    for s in skipped:
        print(f"skipped {s}", file=sys.stderr)
    vendor = provenance.vendor_dir(root, "gitlab")
    have = {f.removesuffix(".json") for f in os.listdir(os.path.join(vendor, "events"))}
    kinds = args[4:] or sorted(k for k in found if k not in have)
    prov_path = os.path.join(vendor, "samples", "provenance.json")
    prov, indent = provenance.load(prov_path)
    manifest_path = os.path.join(vendor, "manifest.json")
    manifest = json.load(open(manifest_path))
    for kind in kinds:
        if kind not in found:
            sys.exit(f"{kind}: {src} has no usable example with that object_kind")
        files = []
        for i, (head, hook, text, repairs) in enumerate(found[kind]):
            name = "docs.json" if i == 0 else f"docs-{i + 1}.json"
            os.makedirs(os.path.join(vendor, "samples", kind), exist_ok=True)
            files.append(os.path.join(vendor, "samples", kind, name))
            with open(files[-1], "w", encoding="utf-8") as f:
                f.write(text)
            lines = changes(head, repairs)
            entry = provenance.entry(f"{kind}/{name}", "gitlabhq/gitlabhq", file, commit, lines[0])
            entry["changes"] = lines
            provenance.put(prov["samples"], entry)
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
        page = f"https://github.com/gitlabhq/gitlabhq/blob/{commit}/{file}"
        if page not in manifest["docs"]:
            manifest["docs"].append(page)
        repaired = sum(1 for e in found[kind] if e[3])
        print(f"{kind}: {len(files)} example(s), {hook}" + (f", {repaired} repaired" if repaired else ""))
    provenance.save(prov_path, prov, indent)
    with open(manifest_path, "w") as f:
        f.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    provenance.run(main)
