#!/usr/bin/env python3
"""More BigCommerce event families: callback data and the webhook docs pages
(a developer tool).

Usage: bigcommerce_mdx.py DOCS COMMIT HOOKFORGE [SCOPE...]

DOCS is a checkout of bigcommerce/docs at COMMIT (the import used
24f580ca6d2981728b7ed70a2049e00fc602c335, the commit of the first import);
HOOKFORGE is this repository. It reads the callback models and their
examples (docs/webhooks/callbacks/store_*.yml, data/store_*.json) and the
JSON payload examples of the webhook docs pages (docs/**/*.mdx; the event
reference pages docs/integrations/webhooks/events/*.mdx carry them).

A family is a scope less its action when the action is created, updated or
deleted (store/cart/lineItem/created: store/cart/lineItem), else the scope
itself (store/cart/converted; the catalogue already keeps
store/order/statusUpdated beside store/order/created). For each SCOPE
(default: one event for every documented family the catalogue lacks) it
writes vendors/bigcommerce/events/<scope, / as _>.json, the example(s) as
samples (byte for byte, or as `hookforge extract` repairs them, below), and
a provenance entry each:

- a callback example (data/NAME.json) that parses and carries its model's
  own scope is preferred, as bigcommerce_docs.py takes it (docs-data.json,
  the first such event of the family by name);
- else the docs pages' examples: a ```json block whose `scope` (a trailing
  `/` dropped) is one its `##` section documents; every distinct such
  example of the chosen scope is kept (docs-<page>.json, a final newline
  added). A block that is not JSON as published (most carry `//` comments)
  is made JSON by `hookforge extract` (provenance.repaired; the binary is
  HOOKFORGE's target/debug/hookforge or $HOOKFORGE_BIN), written with
  exactly one final newline and its repairs as a second `changes` line
  (provenance.repair_change); one extract cannot repair is skipped and
  named, never hand-fixed. An example that is JSON as published is
  preferred: it picks the family's scope, and a scope that has one keeps
  none of its repaired examples.

The schema is the scope's callback model converted by bigcommerce_docs.py's
functions where BigCommerce publishes one; else it is inferred from the
example (types only; objects open; only `scope`, pinned, required) and says
so. Scopes that carry a channel id (store/channel/{channel_id}/...) are
skipped: no single `scope` value names them.
"""

import json
import os
import re
import sys

import provenance
from bigcommerce_docs import event_schema as callback_schema, example as callback_example, model

CALLBACKS = "docs/webhooks/callbacks"
EVENTS_PAGES = "docs/integrations/webhooks"
CRUD = ("created", "updated", "deleted")
CHANNEL_ID = re.compile(r"^store/channel/(\d+|\{channel_id\})/")


def family(scope):
    head, _, action = scope.rpartition("/")
    return head if action in CRUD else scope


def norm(scope):
    return scope.rstrip("/")


def slug(scope):
    """The event file stem, as `hookforge infer` names one: `/` and any
    character but letters, digits, `.`, `-` and `_` as `_` (so the channel
    wildcard `*` is `_`)."""
    return "".join(c if c.isascii() and (c.isalnum() or c in ".-_") else "_" for c in scope)


def templated(scope):
    return bool(CHANNEL_ID.match(scope))


def page_name(path):
    """docs-events for .../webhooks/events/index.mdx, docs-events-channels, ..."""
    rel = os.path.relpath(path, EVENTS_PAGES) if path.startswith(EVENTS_PAGES + "/") else path
    rel = rel.removesuffix(".mdx").removesuffix("/index")
    return "docs-" + re.sub(r"[^A-Za-z0-9]+", "-", rel).strip("-")


def mdx_files(docs):
    """Every .mdx under docs/, the event reference page first."""
    out = []
    for d, _, files in os.walk(os.path.join(docs, "docs")):
        out += [os.path.relpath(os.path.join(d, f), docs) for f in files if f.endswith(".mdx")]
    first = f"{EVENTS_PAGES}/events/index.mdx"
    return sorted(out, key=lambda p: (p != first, p))


def blocks(text):
    """(section heading, scopes the section documents, caption, first and
    last line of the body (1-based), body) for each fenced block."""
    lines = text.split("\n")
    sections, fences, i = [], [], 0
    while i < len(lines):
        m = re.match(r"^```(\S*)(.*)$", lines[i])
        if m:
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            fences.append((i, j, m.group(1), m.group(2)))
            i = j + 1
            continue
        if lines[i].startswith("## "):
            sections.append((i, lines[i][3:].strip()))
        i += 1
    inside = {k for a, b, _, _ in fences for k in range(a, b + 1)}

    def documented(start, end):
        found = set()
        for k in range(start, end):
            if k in inside:
                continue
            line = lines[k]
            found |= {norm(s) for s in re.findall(r"`(store/[^`\s]+)`", line)}
            if line.startswith("|"):
                cell = line.split("|")[1].strip().strip("`")
                if cell.startswith("store/"):
                    found.add(norm(cell))
            m = re.match(r"^\s*\*\s+`?(store/[^`\s]+)", line)
            if m:
                found.add(norm(m.group(1)))
        return {s for s in found if not s.endswith("*")}

    for a, b, lang, rest in fences:
        at = [s for s in sections if s[0] < a]
        start, head = at[-1] if at else (0, "")
        nxt = [s[0] for s in sections if s[0] > start]
        end = nxt[0] if nxt else len(lines)
        cap = re.search(r'filename="([^"]*)"', rest)
        yield lang, head, documented(start, end), cap.group(1) if cap else "", a + 2, b, "\n".join(lines[a + 1 : b])


def page_examples(docs, root):
    """The docs pages' payload examples: (file, heading, documented scopes,
    caption, first line, last line, text, parsed or the error, scope, and
    the repairs, `[]` when the block was JSON as published). A block that is
    not JSON is passed through `hookforge extract` (provenance.repaired, at
    ROOT); `text` is then the repaired JSON and `published` the block."""
    for path in mdx_files(docs):
        text = open(os.path.join(docs, path), encoding="utf-8").read()
        for lang, head, documented, cap, a, b, body in blocks(text):
            if lang != "json" or not re.search(r'^\s*"scope"\s*:', body, re.M):
                continue
            published, repairs = body, []
            try:
                doc = json.loads(body)
            except ValueError as err:
                doc = err
                try:
                    fixed, repairs = provenance.repaired(root, body)  # no binary: SourceError, one line and exit 1
                except provenance.Unrepairable as why:
                    doc = ValueError(f"{err}; `hookforge extract` cannot repair it: {why}")
                else:
                    doc = json.loads(fixed)
                    if isinstance(doc, dict):
                        body = fixed.rstrip("\n")
                    else:
                        doc, repairs = ValueError(f"{err}; repaired by `hookforge extract`, it is not a JSON object"), []
            if isinstance(doc, dict):
                if "data" not in doc:
                    continue  # not a callback payload (a webhook's own record)
                scope = doc.get("scope")
            else:
                m = re.search(r'^ {0,2}"scope"\s*:\s*"([^"]*)"', body, re.M)
                if not m or "payload" not in cap:
                    continue
                scope = m.group(1)
            yield dict(file=path, head=head, documented=documented, caption=cap, lines=(a, b), text=body, doc=doc, scope=scope,
                       published=published, repairs=repairs)


def documented_scopes(docs):
    """Every scope BigCommerce documents: a callback model each, and the
    table rows and lists of the webhook pages."""
    out = set()
    for f in os.listdir(os.path.join(docs, CALLBACKS)):
        if f.startswith("store_") and f.endswith(".yml"):
            out.add(model(os.path.join(docs, CALLBACKS), f.removesuffix(".yml"))[0])
    for path in mdx_files(docs):
        if path.startswith(EVENTS_PAGES + "/"):
            for _, _, documented, _, _, _, _ in blocks(open(os.path.join(docs, path), encoding="utf-8").read()):
                out |= documented
    return {s for s in out if re.fullmatch(r"store(/[A-Za-z0-9_{}*]+)+", s)}


def infer(v):
    if isinstance(v, bool):
        return {"type": "boolean"}
    if isinstance(v, int):
        return {"type": "integer"}
    if isinstance(v, float):
        return {"type": "number"}
    if isinstance(v, str):
        return {"type": "string"}
    if v is None:
        return {"type": "null"}
    if isinstance(v, list):
        items = merge([infer(x) for x in v])
        return {"type": "array", "items": items} if items else {"type": "array"}
    return {"type": "object", "properties": {k: infer(x) for k, x in v.items()}} if v else {"type": "object"}


def merge(schemas):
    """One schema for several array items (objects: every key seen)."""
    if not schemas:
        return None
    if all(s == schemas[0] for s in schemas):
        return schemas[0]
    if all(s.get("type") == "object" for s in schemas):
        props = {}
        for s in schemas:
            for k, p in s.get("properties", {}).items():
                props[k] = merge([props[k], p]) if k in props else p
        return {"type": "object", "properties": props}
    types = []
    for s in schemas:
        if s.get("type") not in types:
            types.append(s.get("type"))
    return {"type": types}


def repaired_note(ex):
    return (" That example is not JSON as published; `hookforge extract` made it JSON (" + "; ".join(ex["repairs"]) + ")."
            if ex["repairs"] else "")


def inferred_schema(scope, ex):
    s = infer(ex["doc"])
    s["properties"]["scope"] = {"type": "string", "const": scope}
    extra = ""
    if "/*/" in scope:
        extra = (" Its `scope` carries `*` in the channel's place, as the example publishes it: the event fires once for "
                 "all storefront channels.")
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": scope,
        "description": f"BigCommerce `{scope}`. Inferred by scripts/catalogue/bigcommerce_mdx.py from the example payload on "
        f"BigCommerce's webhook docs page (bigcommerce/docs, {ex['file']}); BigCommerce publishes no callback model for this "
        "scope. Field types are the example's, objects stay open, and only `scope` (the event type) is required." + extra
        + repaired_note(ex),
        "type": "object",
        "required": ["scope"],
        "properties": s["properties"],
    }


def modelled_schema(scope, schema, name, ex):
    s = callback_schema(scope, schema, name)
    s["description"] = (
        f"BigCommerce `{scope}`. Schema from BigCommerce's published webhook callback models (bigcommerce/docs, "
        f"docs/webhooks/callbacks/{name}.yml), converted by scripts/catalogue/bigcommerce_mdx.py as bigcommerce_docs.py "
        "converts them; they mark no field required, so only `scope` (the event type) is required here. The callback data "
        f"has no usable example for it, so its sample is the one on the webhook docs page {ex['file']}." + repaired_note(ex)
    )
    return s


def names(caption, scope):
    """Whether a block's caption names the scope's resource (or, for an
    action other than created/updated/deleted, the action)."""
    head, _, action = scope.rpartition("/")
    word = head.rpartition("/")[2] if action in CRUD else action
    return word.replace("_", "").lower() in caption.replace(" ", "").lower()


def producer_note(text):
    return "; `producer` is the placeholder `stores/{store_hash}` as published" if '"stores/{store_hash}"' in text else ""


def plan(docs, root, have, wanted):
    """[(scope, how, payload)], and the reasons families were skipped."""
    callbacks = os.path.join(docs, CALLBACKS)
    models = {}
    for f in sorted(os.listdir(callbacks)):
        if f.startswith("store_") and f.endswith(".yml"):
            name = f.removesuffix(".yml")
            scope = model(callbacks, name)[0]
            # Where two models claim one scope (store_priceList_records_updated.yml
            # is keyed store/priceList/records/created), the one named for it.
            if scope not in models or name == scope.replace("/", "_"):
                models[scope] = name
    pages = list(page_examples(docs, root))
    scopes = documented_scopes(docs) | {norm(e["scope"]) for e in pages if e["scope"]}
    covered = {family(s) for s in have}
    skipped, out = [], []
    families = {}
    if wanted:
        for s in wanted:
            families.setdefault(family(s), []).append(s)
    else:
        for s in sorted(scopes):
            key = family(CHANNEL_ID.sub("store/channel/{channel_id}/", s))
            if key not in covered:
                families.setdefault(key, []).append(s)
    for fam, members in sorted(families.items()):
        if templated(fam):
            skipped.append(f"{fam}: its scope carries the channel id (store/channel/{{channel_id}}/...), so no single `scope` names the event")
            continue
        why = []
        choice = None
        for s in sorted(members):
            if s in models and (not wanted or s in wanted):
                text, reason = callback_example(callbacks, models[s], s)
                if text is not None:
                    choice = (s, "data", models[s], text)
                    break
                why.append(f"{models[s]}: no callback data example" if "FileNotFoundError" in reason else reason)
        if choice is None:
            found = []
            for e in pages:
                if e["scope"] is None or family(norm(e["scope"])) != fam or (wanted and norm(e["scope"]) not in wanted):
                    continue
                where = f"{e['file']}:{e['lines'][0]}-{e['lines'][1]} ({e['caption']!r})"
                if not isinstance(e["doc"], dict):
                    why.append(f"{where}: not JSON as published ({e['doc']})")
                    continue
                if e["repairs"]:
                    where += " (repaired)"
                if norm(e["scope"]) not in e["documented"]:
                    why.append(f"{where}: its scope {e['scope']} is not one its section ({e['head']}) documents")
                else:
                    found.append(e)
            # An example that was JSON as published comes before a repaired
            # one: it picks the scope, and a scope that has one keeps no
            # repaired example.
            found.sort(key=lambda e: bool(e["repairs"]))
            if found:
                scope = norm(found[0]["scope"])
                ours = [e for e in found if norm(e["scope"]) == scope]
                for e in ours:
                    if e["repairs"] and not ours[0]["repairs"]:
                        why.append(f"{e['file']}:{e['lines'][0]}-{e['lines'][1]} ({e['caption']!r}): not used, being repaired "
                                   "where the same scope has an example that is JSON as published")
                ours = [e for e in ours if bool(e["repairs"]) == bool(ours[0]["repairs"])]
                kept, texts = [], set()
                for e in ours:
                    if e["text"] not in texts:
                        texts.add(e["text"])
                        kept.append(e)
                same = [e for e in ours if e not in kept]
                choice = (scope, "pages", models.get(scope), kept, same)
        if choice is None:
            skipped.append(f"{fam}: no usable example" + ("".join(f"\n    {w}" for w in why) if why else
                                                          " (neither the callback data nor the docs pages publish one)"))
            continue
        for w in why:
            print(f"note {fam}: {w}", file=sys.stderr)
        out.append(choice)
    return out, skipped


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    docs, commit, root = sys.argv[1:4]
    vendor = provenance.vendor_dir(root, "bigcommerce")
    provenance.source_dir(os.path.join(docs, CALLBACKS), f"{CALLBACKS} of a bigcommerce/docs checkout")
    have = [json.load(open(os.path.join(vendor, "events", f)))["title"] for f in sorted(os.listdir(os.path.join(vendor, "events")))]
    callbacks = os.path.join(docs, CALLBACKS)
    todo, skipped = plan(docs, root, have, [norm(s) for s in sys.argv[4:]])
    for why in skipped:
        print(f"skipped {why}", file=sys.stderr)
    prov_path = os.path.join(vendor, "samples", "provenance.json")
    prov, indent = provenance.load(prov_path)
    for choice in todo:
        scope, how = choice[0], choice[1]
        name = slug(scope)
        os.makedirs(os.path.join(vendor, "samples", name), exist_ok=True)
        if how == "data":
            _, _, stem, text = choice
            schema = callback_schema(scope, model(callbacks, stem)[1], stem)
            with open(os.path.join(vendor, "samples", name, "docs-data.json"), "w", encoding="utf-8") as f:
                f.write(text)
            provenance.put(prov["samples"], provenance.entry(
                f"{name}/docs-data.json", "bigcommerce/docs", f"{CALLBACKS}/data/{stem}.json", commit,
                "none: byte for byte" + ("" if text.endswith("\n") else " (no final newline)") + producer_note(text),
            ))
            print(f"{name}: {scope} (callback model and data)")
        else:
            _, _, stem, kept, same = choice
            schema = modelled_schema(scope, model(callbacks, stem)[1], stem, kept[0]) if stem else inferred_schema(scope, kept[0])
            for e in kept:
                file = f"{page_name(e['file'])}.json"
                with open(os.path.join(vendor, "samples", name, file), "w", encoding="utf-8") as f:
                    f.write(e["text"] + "\n")
                a, b = e["lines"]
                if e["repairs"]:
                    change = (f"the `{e['caption']}` block (lines {a}-{b}), made JSON as the next line says, ending in exactly one "
                              "newline" + producer_note(e["text"]))
                else:
                    change = f"the `{e['caption']}` block (lines {a}-{b}), as published, plus a final newline" + producer_note(e["text"])
                if e["scope"] != scope:
                    change += f"; its `scope` reads {e['scope']!r}, kept as published"
                if not names(e["caption"], scope):
                    change += f"; the caption names another event, but its section ({e['head']}) documents `{scope}`, the scope it carries"
                for d in same:
                    if d["published"] == e["published"]:
                        change += f"; the same block is at {d['file']} lines {d['lines'][0]}-{d['lines'][1]}"
                    elif d["text"] == e["text"]:
                        change += f"; the block at {d['file']} lines {d['lines'][0]}-{d['lines'][1]} repairs to the same JSON"
                new = provenance.entry(
                    f"{name}/{file}", "bigcommerce/docs", e["file"], commit, change,
                    source=f"https://github.com/bigcommerce/docs/blob/{commit}/{e['file']}#L{a}-L{b}",
                )
                if e["repairs"]:
                    new["changes"].append(provenance.repair_change(e["repairs"]))
                provenance.put(prov["samples"], new)
            fixed = sum(1 for e in kept if e["repairs"])
            print(f"{name}: {scope} ({'callback model' if stem else 'inferred'}; {len(kept)} docs page example(s)"
                  + (f", {fixed} repaired)" if fixed else ")"))
        with open(os.path.join(vendor, "events", f"{name}.json"), "w") as f:
            f.write(json.dumps(schema, indent=2) + "\n")
    provenance.save(prov_path, prov, indent)


if __name__ == "__main__":
    provenance.run(main)
