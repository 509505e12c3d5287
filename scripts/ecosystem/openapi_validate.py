import json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
bad = 0
for f in sys.argv[1:]:
    doc = json.load(open(f))
    try:
        validate(doc)
        print(f"{f}: valid OpenAPI {doc['openapi']} ({len(doc.get('webhooks', {}))} webhooks)")
    except Exception as e:
        bad += 1
        print(f"{f}: {type(e).__name__}: {str(e)[:500]}", file=sys.stderr)
sys.exit(1 if bad else 0)
