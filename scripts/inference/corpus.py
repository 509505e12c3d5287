"""Reading a corpus of real webhook payloads, shared by compare.py and
required_rules.py: CORPUS/<event>/<action>[.<variant>].payload.json
(octokit/webhooks' payload-examples/api.github.com layout), or
CORPUS/<event>/<n>.json."""
import os
from collections import defaultdict

MAX_MUTANTS = 40  # per held-out payload and kind, spread evenly


def groups_of(corpus):
    """The payload files per event (event + action), events with two or
    more examples only."""
    groups = defaultdict(list)
    for event in sorted(os.listdir(corpus)):
        d = os.path.join(corpus, event)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if f.endswith(".json"):
                # CORPUS/<event>/<n>.json (one event per directory), or octokit's
                # CORPUS/<event>/<action>[.<variant>].payload.json.
                key = event if f[:-5].isdigit() else f"{event}.{f.split('.')[0]}"
                groups[key].append(os.path.join(d, f))
    return {k: v for k, v in groups.items() if len(v) >= 2}


def keys(v, at=()):
    """Every object key's path; keys inside arrays are not "always present"
    in a useful sense."""
    if isinstance(v, dict):
        for k, c in v.items():
            yield at + (k,)
            yield from keys(c, at + (k,))


def get(v, path):
    for p in path:
        v = v[p]
    return v


def has(v, path):
    try:
        get(v, path)
        return True
    except (KeyError, IndexError, TypeError):
        return False


def spread(items):
    """At most MAX_MUTANTS of `items`, spread evenly."""
    if len(items) <= MAX_MUTANTS:
        return items
    step = len(items) / MAX_MUTANTS
    return [items[int(i * step)] for i in range(MAX_MUTANTS)]
