"""What the catalogue importers share: samples/provenance.json as they read
and rewrite it, and reading the sources they are pointed at."""

import json
import os
import shutil
import subprocess
import sys
import tempfile


def load(path):
    """The document, and the indentation it was written with (kept)."""
    text = open(path, encoding="utf-8").read()
    second = text.split("\n")[1]
    return json.loads(text), len(second) - len(second.lstrip(" "))


# `changes` lines the import scripts write themselves (after the first): a
# re-import writes them afresh, so old ones are never kept as a person's.
REPAIRED = "made JSON by `hookforge extract`"
NORMALISED_END = "its end normalised to exactly one newline"
GENERATED = (REPAIRED, NORMALISED_END, "then wrapped in the one-element array")


def put(entries, entry):
    """Replaces the entry for the same path in place, keeping the notes a
    person added to its `changes`, else appends."""
    at = [i for i, e in enumerate(entries) if e["path"] == entry["path"]]
    if at:
        added = [c for c in entries[at[0]].get("changes", [])[1:]
                 if c not in entry["changes"] and not c.startswith(GENERATED)]
        entries[at[0]] = {**entry, "changes": entry["changes"] + added}
    else:
        entries.append(entry)


def save(path, doc, indent):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=indent, ensure_ascii=False) + "\n")


def json_type(v):
    """The JSON Schema type of a parsed JSON value."""
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object", type(None): "null"}[type(v)]


def vendor_dir(root, vendor):
    """vendors/VENDOR of the repository at `root`; exits saying so if absent."""
    path = os.path.join(root, "vendors", vendor)
    if not os.path.isdir(os.path.join(path, "events")):
        sys.exit(f"{root}: no vendors/{vendor}/events here (HOOKFORGE is this repository's root)")
    return path


def entry(path, repository, file, commit, change, source=None):
    """A provenance entry for one sample: where it was taken, and how."""
    return {
        "path": path,
        "source": source or f"https://github.com/{repository}/blob/{commit}/{file}",
        "repository": repository,
        "file": file,
        "commit": commit,
        "changes": [change],
    }


class SourceError(ValueError):
    """A source an import was pointed at is missing or unreadable."""


def git_show(git_dir, commit, path):
    """PATH at COMMIT of the git directory GIT_DIR, as text."""
    r = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"], capture_output=True)
    if r.returncode:
        why = (r.stderr.decode("utf-8", "replace").strip().splitlines() or ["git failed"])[-1]
        raise SourceError(f"{git_dir}: cannot read {path} at {commit}: {why}")
    return r.stdout.decode("utf-8")


def source_dir(path, what):
    """PATH, which must be a directory (WHAT says which)."""
    if not os.path.isdir(path):
        raise SourceError(f"{path}: not a directory ({what})")
    return path


class Unrepairable(ValueError):
    """An example `hookforge extract` cannot make JSON without inventing data
    (an elided `{ ... }`, a value left out)."""


def hookforge_bin(root):
    """The hookforge binary: $HOOKFORGE_BIN, else the repository's debug build."""
    path = os.environ.get("HOOKFORGE_BIN") or os.path.join(root, "target", "debug", "hookforge")
    if not os.access(path, os.X_OK):
        raise SourceError(f"{path}: no hookforge binary (run `cargo build -p hookforge`, or set HOOKFORGE_BIN)")
    return path


def repaired(root, text):
    """TEXT, one example as a vendor's docs publish it, made JSON by
    `hookforge extract` (the repairs the built-in vendors' samples get:
    comments, missing or trailing commas, typographic quotes, ...): the
    JSON text, ending in exactly one newline, and the repairs, each in words,
    `[]` when it was JSON already.
    Raises Unrepairable when extract cannot (it never invents a value)."""
    work = tempfile.mkdtemp(prefix="hookforge-repair-")
    try:
        doc = os.path.join(work, "example.txt")
        with open(doc, "w", encoding="utf-8") as f:
            f.write(text if text.endswith("\n") else text + "\n")
        out = os.path.join(work, "out")
        binary = hookforge_bin(root)
        r = subprocess.run([binary, "extract", doc, "--out", out], capture_output=True)
        try:
            report = json.load(open(os.path.join(out, "provenance.json"), encoding="utf-8"))
        except OSError:
            stderr = r.stderr.decode("utf-8", "replace").strip()
            raise SourceError(f"{binary} extract wrote no report (exit {r.returncode}): {stderr}") from None
        if r.returncode or len(report["examples"]) != 1:
            why = [u["message"] for u in report["unrepairable"]] or [f"{len(report['examples'])} examples found, not 1"]
            raise Unrepairable("; ".join(why))
        found = report["examples"][0]
        fixed = open(os.path.join(out, found["file"]), encoding="utf-8").read().rstrip() + "\n"
        repairs = found["repairs"]
        if not repairs and fixed != text.strip() + "\n":
            # Extract takes text around the braces for prose and says nothing.
            repairs = ["kept only the example's braces: the text before or after them was dropped"]
        return fixed, repairs
    finally:
        shutil.rmtree(work)


def repair_change(repairs):
    """The provenance `changes` line for an example `repaired` mended."""
    return (REPAIRED + ", as the built-in vendors' docs examples are (line numbers count from the example's "
            "first line): " + "; ".join(repairs))


def repair_changes(repairs):
    """The `changes` lines for a repaired example: its repairs, and its end."""
    return [repair_change(repairs), NORMALISED_END]


def run(main, *args):
    """An import's main: a missing source is one line and exit 1, not a traceback."""
    try:
        return main(*args)
    except SourceError as e:
        sys.exit(f"error: {e}")
