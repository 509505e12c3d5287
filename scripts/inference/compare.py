#!/usr/bin/env python3
"""Leave-one-out comparison of `hookforge infer` with quicktype on a corpus
of real webhook payloads: CORPUS/<event>/<action>[.<variant>].payload.json
(octokit/webhooks' payload-examples/api.github.com layout), or
CORPUS/<event>/<n>.json.

For every event (event + action) with two or more examples, each example is
held out in turn; each tool infers a schema from the others, then:
  (a) the held-out payload should be accepted;
  (b) mutants of it should be rejected: a scalar given another JSON type,
      and a key removed that every training example (and the held-out one)
      has. The type mutants of fields the training examples typed (a
      non-null scalar there) are also counted on their own ("typed"): a
      field no example showed can rightly be anything.
Usage: compare.py CORPUS HOOKFORGE QUICKTYPE
"""
import json
import subprocess
import sys
import tempfile
from collections import defaultdict

from corpus import get, groups_of, has, keys, spread
from jsonschema import FormatChecker
from jsonschema.validators import validator_for

corpus, hookforge, quicktype = sys.argv[1:4]
groups = groups_of(corpus)


def leaves(v, at=()):
    if isinstance(v, dict):
        for k, c in v.items():
            yield from leaves(c, at + (k,))
    elif isinstance(v, list):
        for i, c in enumerate(v):
            yield from leaves(c, at + (i,))
    else:
        yield at, v


def other_type(v):
    if isinstance(v, bool):
        return "not-a-boolean"
    if isinstance(v, (int, float)):
        return "not-a-number"
    if isinstance(v, str):
        return 12345
    return None  # null: any other type may be fine; not a clear mutant


def shape(path):
    """A path with array indices generalised: every element is one field."""
    return tuple("*" if isinstance(p, int) else p for p in path)


def typed_fields(training):
    """Fields some training example gives a non-null scalar: the examples
    show their type, so a schema can know a mutant of them is wrong."""
    return {shape(p) for t in training for p, v in leaves(t) if v is not None}


def mutants(doc, training):
    out = []
    typed = typed_fields(training)
    for path, v in spread([(p, v) for p, v in leaves(doc) if other_type(v) is not None]):
        m = json.loads(json.dumps(doc))
        parent = get(m, path[:-1])
        parent[path[-1]] = other_type(v)
        out.append(("type", m))
        # The same mutant, counted again when the examples typed the field
        # (not one they never showed, or showed only as null or []).
        if shape(path) in typed:
            out.append(("typed", m))
    always = [p for p in keys(doc) if all(has(t, p) for t in training)]
    for path in spread(always):
        m = json.loads(json.dumps(doc))
        del get(m, path[:-1])[path[-1]]
        out.append(("removed", m))
    return out


def infer(tool, files, tmp):
    if tool == "hookforge":
        out = subprocess.run([hookforge, "infer", "--title", "event", *files],
                             capture_output=True, check=True).stdout
    else:
        out = subprocess.run([quicktype, "--lang", "schema", "--src-lang", "json", "-t", "Event", *files],
                             capture_output=True, check=True).stdout
    return json.loads(out)


def validator(schema):
    cls = validator_for(schema)
    return cls(schema, format_checker=FormatChecker())


stats = {t: defaultdict(int) for t in ("hookforge", "quicktype")}
with tempfile.TemporaryDirectory() as tmp:
    for name, files in groups.items():
        docs = [json.load(open(f)) for f in files]
        for i, held in enumerate(docs):
            training_files = files[:i] + files[i + 1:]
            training = docs[:i] + docs[i + 1:]
            ms = mutants(held, training)
            for tool in stats:
                v = validator(infer(tool, training_files, tmp))
                s = stats[tool]
                s["held_out"] += 1
                s["accepted"] += v.is_valid(held)
                for kind, m in ms:
                    s[f"{kind}_mutants"] += 1
                    s[f"{kind}_rejected"] += not v.is_valid(m)
        print(f"{name}: {len(files)} examples", file=sys.stderr)

print(json.dumps({"events": len(groups), "payloads": sum(len(f) for f in groups.values()),
                  "tools": stats}, indent=1))
