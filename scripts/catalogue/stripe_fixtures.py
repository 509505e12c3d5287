#!/usr/bin/env python3
"""Adds to vendors/stripe one event per Stripe event family it lacks, composed
from stripe/openapi's fixtures3.json (the resources stripe-mock serves):

    python3 scripts/catalogue/stripe_fixtures.py FIXTURES3 COMMIT EVENTS HOOKFORGE

EVENTS is a JSON list of Stripe's event types (the `EnabledEvent` union of
the stripe npm package's WebhookEndpoints.d.ts). A family is a type without
its last segment (`checkout.session` of `checkout.session.completed`). For
each family with no event in vendors/stripe and a resource in the fixtures,
it takes the family's `created` type (else `completed`, `succeeded`,
`chargeable`, `opened`, `updated`, else the first by name), and
writes:
  - samples/<type>/openapi-fixtures3.json: the fixture's `resources.event`
    with `type` set and `data.object` replaced by the resource, as the
    earlier composed samples were;
  - events/<type>.json: the envelope of events/customer.created.json (from
    Stripe's published Event object) with `data.object` the types
    `HOOKFORGE infer` gives for the resource, requiring its `id` and
    `object` (pinned) only;
  - a provenance entry pinned to COMMIT.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

fixtures_path, commit, events_path, hookforge = sys.argv[1:5]
root = os.path.join(os.path.dirname(__file__), "..", "..", "vendors", "stripe")
# Families whose resource is named otherwise in the fixtures.
RESOURCE = {
    "charge.dispute": "dispute",
    "charge.refund": "refund",
    "customer.discount": "discount",
    "customer.tax_id": "tax_id",
    "customer.subscription": "subscription",
    "customer.source": "source",
    "billing.alert": "billing.alert_triggered",
    "sigma.scheduled_query_run": "scheduled_query_run",
    "application_fee.refund": "fee_refund",
    "source.transaction": "source_transaction",
    "account.external_account": "external_account",
    "account.application": "application",
}


def family(event_type):
    return event_type.rsplit(".", 1)[0]


def resource_of(fam, resources):
    for name in (RESOURCE.get(fam), fam, fam.replace("issuing_", "issuing.", 1)):
        if name and name in resources:
            return name
    return None


def pick(types):
    for action in ("created", "completed", "succeeded", "chargeable", "opened", "updated"):
        for t in types:
            if t.endswith("." + action):
                return t
    return sorted(types)[0]


def object_schema(obj, title):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(obj, f)
    try:
        out = subprocess.run([hookforge, "infer", "--title", title, f.name],
                             capture_output=True, check=True, text=True).stdout
    finally:
        os.unlink(f.name)
    schema = json.loads(out)
    for key in ("$schema", "title", "description"):
        schema.pop(key, None)
    schema["required"] = [k for k in ("id", "object") if k in obj]
    if isinstance(obj.get("object"), str):
        schema["properties"]["object"] = {"type": "string", "const": obj["object"]}
    return schema


def main():
    fixtures = json.load(open(fixtures_path, encoding="utf-8"))
    resources = fixtures["resources"]
    every = json.load(open(events_path, encoding="utf-8"))
    have = {family(n[: -len(".json")]) for n in os.listdir(os.path.join(root, "events"))}
    template = json.load(open(os.path.join(root, "events", "customer.created.json"), encoding="utf-8"))
    provenance_path = os.path.join(root, "samples", "provenance.json")
    provenance = json.load(open(provenance_path, encoding="utf-8"))
    by_family = {}
    for t in every:
        by_family.setdefault(family(t), []).append(t)
    added, missing = [], []
    for fam in sorted(by_family):
        if fam in have:
            continue
        name = resource_of(fam, resources)
        if name is None:
            missing.append(fam)
            continue
        event_type = pick(by_family[fam])
        obj = resources[name]
        sample = copy.deepcopy(resources["event"])
        sample["type"] = event_type
        sample["data"]["object"] = obj
        os.makedirs(os.path.join(root, "samples", event_type), exist_ok=True)
        with open(os.path.join(root, "samples", event_type, "openapi-fixtures3.json"), "w", encoding="utf-8") as f:
            json.dump(sample, f, indent=2, ensure_ascii=False)
            f.write("\n")
        schema = copy.deepcopy(template)
        schema["title"] = event_type
        schema["description"] = (
            f"A Stripe `{event_type}` event; `data.object` is the `{obj.get('object', name)}` object. Envelope fields, "
            "`required` and nullability from Stripe's published Event object (API reference); the `data.object` "
            f"properties are inferred from stripe/openapi's fixtures3.json resource `{name}` (the data stripe-mock "
            "serves), so they are a sketch of the resource, not its full schema."
        )
        schema["properties"]["type"]["const"] = event_type
        inferred = object_schema(obj, event_type)
        if "definitions" in inferred:
            schema["definitions"] = inferred.pop("definitions")
        schema["properties"]["data"]["properties"]["object"] = inferred
        with open(os.path.join(root, "events", f"{event_type}.json"), "w", encoding="utf-8") as f:
            json.dump(schema, f, indent=2, ensure_ascii=False)
            f.write("\n")
        unchanged = event_type == resources["event"]["type"]
        provenance["samples"].append({
            "path": f"{event_type}/openapi-fixtures3.json",
            "source": f"https://github.com/stripe/openapi/blob/{commit}/openapi/fixtures3.json",
            "repository": "stripe/openapi",
            "file": "openapi/fixtures3.json",
            "commit": commit,
            "changes": [
                "none: `resources.event` as it is, re-serialized with 2-space indentation" if unchanged else
                f"composed: the envelope is `resources.event` (an event of type plan.created in the fixture) with `type` "
                f"set to `{event_type}` and `data.object` replaced by `resources.{name}`; nothing else changed, keys in "
                "the fixture's order, re-serialized with 2-space indentation",
                "the event id, `created` and `api_version` are the fixture's, shared by every composed sample; the "
                "resource's values are synthetic (stripe-mock's)",
            ],
        })
        added.append(event_type)
    with open(provenance_path, "w", encoding="utf-8") as f:
        json.dump(provenance, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"{len(added)} events added: {', '.join(added)}")
    print(f"{len(missing)} families without a fixture resource: {', '.join(missing)}")


main()
