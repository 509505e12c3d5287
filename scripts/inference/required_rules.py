#!/usr/bin/env python3
"""What each rule for "required" would cost and catch, leave one out, on the
corpus `compare.py` reads (no tool is run: the rules are applied to the key
sets directly, so type refusals are not counted).

For every event with two or more examples, each example is held out; a rule
marks required some of the keys every training example has. Counted:
  accepted  the held-out payload has every required key (under a parent it has);
  rejected  of the keys the held-out payload shares with every training
            example (at most 40 per payload, spread evenly, as compare.py),
            how many the rule made required: a mutant without it is refused.
Rules:
  top       hookforge infer's: the envelope names at the top level only;
  name      the top rule, plus `id` and `type` below (infer's rule until
            2026-12-06);
  all       every key every example has (quicktype's);
  idlike    the name rule, plus keys named like identifiers (`*_id`, `node_id`,
            `login`, `url`, `html_url`, `name`, `sha`);
  sameN     the name rule, plus a key every object under the same key name
            has (`sender`, `owner`, ... wherever they stand), when at least N
            such objects were seen in the training examples.
Usage: required_rules.py CORPUS RULE...
"""
import json
import sys
from collections import defaultdict

from corpus import groups_of, has, keys, spread

TOP = {"id", "type", "event", "event_type", "eventType", "event_id", "eventId", "object",
       "object_kind", "kind", "action", "topic", "created", "created_at", "createdAt",
       "timestamp", "data", "payload"}
IDLIKE = {"node_id", "login", "url", "html_url", "name", "sha"}

def by_key_name(v, name="", out=None):
    """Objects per the key that holds them (array items: the array's key):
    how many, and how many of them have each key."""
    if out is None:
        out = defaultdict(lambda: [0, defaultdict(int)])
    if isinstance(v, dict):
        out[name][0] += 1
        for k, c in v.items():
            out[name][1][k] += 1
            by_key_name(c, k, out)
    elif isinstance(v, list):
        for c in v:
            by_key_name(c, name, out)
    return out


def required(rule, path, seen):
    parent, k = path[:-1], path[-1]
    if not parent and k in TOP:
        return True
    if rule == "top":
        return False
    if parent and k in ("id", "type"):
        return True
    if rule == "all":
        return True
    if rule == "idlike":
        return k.endswith("_id") or k in IDLIKE
    if rule.startswith("same"):
        name = next((p for p in reversed(parent) if isinstance(p, str)), "")
        n, counts = seen[name]
        return n >= int(rule[4:]) and counts[k] == n
    return False


def main(corpus, rules):
    stats = {r: defaultdict(int) for r in rules}
    for files in groups_of(corpus).values():
        docs = [json.load(open(f)) for f in files]
        for i, held in enumerate(docs):
            training = docs[:i] + docs[i + 1:]
            shared = set(keys(training[0]))
            for t in training[1:]:
                shared &= set(keys(t))
            seen = defaultdict(lambda: [0, defaultdict(int)])
            for t in training:
                by_key_name(t, "", seen)
            mutants = spread([p for p in keys(held) if p in shared])
            for rule in rules:
                req = {p for p in shared if required(rule, p, seen)}
                s = stats[rule]
                s["held_out"] += 1
                s["accepted"] += all(has(held, p) or not has(held, p[:-1]) for p in req)
                s["mutants"] += len(mutants)
                s["rejected"] += sum(p in req for p in mutants)
    share = lambda n, d: f"{100 * n / d:.1f}%" if d else "n/a"
    for rule, s in stats.items():
        print(f"{rule:8} accepted {s['accepted']}/{s['held_out']} "
              f"({share(s['accepted'], s['held_out'])}), key removed rejected "
              f"{s['rejected']}/{s['mutants']} ({share(s['rejected'], s['mutants'])})")


if __name__ == "__main__":
    known = {"top", "name", "all", "idlike"}
    bad = [r for r in sys.argv[2:] if r not in known and not (r.startswith("same") and r[4:].isdigit())]
    if len(sys.argv) < 3 or bad:
        sys.exit(f"usage: required_rules.py CORPUS RULE... (top, name, all, idlike, sameN); unknown: {bad}")
    main(sys.argv[1], sys.argv[2:])
