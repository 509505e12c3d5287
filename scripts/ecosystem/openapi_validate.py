"""Each `hookforge export openapi` document: valid OpenAPI 3.1
(openapi-spec-validator); every schema valid under JSON Schema 2020-12, the
dialect OpenAPI 3.1 uses (a draft-07 tuple `items` is not); no header pinned
to one delivery's value with `const`; every example accepted by its body's
schema, refs resolved in the document."""

import json
import sys

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


def pointer(*parts):
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def problems(doc):
    out = []
    registry = Registry().with_resource(
        "urn:doc", Resource(contents=doc, specification=DRAFT202012)
    )
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as e:
            out.append(f"components/schemas/{name}: not 2020-12: {str(e)[:200]}")
    for event, item in doc.get("webhooks", {}).items():
        op = item["post"]
        for p in op.get("parameters", []):
            if "const" in p["schema"]:
                out.append(f"{event}: header {p['name']} pinned to {p['schema']['const']!r}")
        for ctype, media in op["requestBody"]["content"].items():
            at = pointer("webhooks", event, "post", "requestBody", "content", ctype, "schema")
            try:
                Draft202012Validator.check_schema(media["schema"])
            except Exception as e:
                out.append(f"{event} {ctype}: not 2020-12: {str(e)[:200]}")
                continue
            v = Draft202012Validator({"$ref": "urn:doc#" + at}, registry=registry)
            for ex, example in media.get("examples", {}).items():
                errors = list(v.iter_errors(example["value"]))
                if errors:
                    out.append(f"{event} example {ex}: {errors[0].message[:200]}")
    return out


bad = 0
for f in sys.argv[1:]:
    doc = json.load(open(f))
    try:
        validate(doc)
    except Exception as e:
        bad += 1
        print(f"{f}: {type(e).__name__}: {str(e)[:500]}", file=sys.stderr)
        continue
    found = problems(doc)
    for p in found:
        print(f"{f}: {p}", file=sys.stderr)
    bad += bool(found)
    if not found:
        print(f"{f}: valid OpenAPI {doc['openapi']} ({len(doc.get('webhooks', {}))} webhooks; schemas 2020-12; examples accepted)")
sys.exit(1 if bad else 0)
