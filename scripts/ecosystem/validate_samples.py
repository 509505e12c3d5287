"""Validates every sample against its event schema file with python-jsonschema,
resolving each $ref against the file that holds it (file:// URIs, nothing
hookforge-specific): the schemas as any standard tool reads them.

    python3 scripts/validate_samples.py [REPO_ROOT]
Exit 1 when a sample does not validate (each is named).
"""
import json, sys, pathlib
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent).resolve()
def retrieve(uri):
    assert uri.startswith("file://"), uri
    return Resource.from_contents(json.loads(pathlib.Path(uri[len("file://"):]).read_text()), default_specification=DRAFT7)
registry = Registry(retrieve=retrieve)
ok = bad = 0
for vdir in sorted((root / "schemas").iterdir()):
    for ev in sorted((vdir / "events").glob("*.json")):
        schema = json.loads(ev.read_text())
        schema.setdefault("$id", ev.as_uri())
        sdir = root / "samples" / vdir.name / ev.stem
        if not sdir.is_dir(): continue
        v = Draft7Validator(schema, registry=registry)
        for s in sorted(sdir.glob("*.json")):
            try:
                errs = list(v.iter_errors(json.loads(s.read_text())))
            except Exception as e:
                errs = [e]
            if errs:
                bad += 1
                print(f"{s.relative_to(root)}: {errs[0]}", file=sys.stderr)
            else:
                ok += 1
print(f"python-jsonschema, file-based $ref resolution: {ok} samples validate, {bad} do not")
sys.exit(1 if bad or not ok else 0)
