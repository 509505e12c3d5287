#!/usr/bin/env python3
"""Azure Event Grid samples from the system-topic pages of Microsoft's Event
Grid docs (MicrosoftDocs/azure-docs, articles/event-grid/event-schema-*.md).

Usage: azure_event_grid_docs.py PAGES HOOKFORGE
       azure_event_grid_docs.py --git GIT_DIR HOOKFORGE

HOOKFORGE is this repository. The page texts come either from PAGES, a
directory of read_file answers saved as JSON (one per file, named after the
file: `event-schema-api-center.json` for .../event-schema-api-center.md;
keys repo, path, commit, text; `text` from offset 0 through at least the
example, as the import used them: MicrosoftDocs/azure-docs is too large to
mirror here), or, with --git, from a git directory of MicrosoftDocs/azure-docs
(`git show COMMIT:FILE`). Either way each file is read at the commit SOURCES
names for it (the one its stored copy was read at), and a saved answer for
another commit is refused.

SOURCES lists, for each family of the manifest's `unsampled` list that has a
usable example, the file to read: the family's event-schema page, or for
Azure Policy and Service Bus the include file that page renders (the pages
themselves hold only the INCLUDE line). The families left out, and why, are
in SKIPPED; their `why` in the manifest is set from it.

For each file it takes the first ```json block (any case) that is not under
a `# [Cloud event schema](#tab/cloud-event-schema)` tab and names an
`eventType` (for a file in START, only blocks after the heading START gives
it: those pages show a schema outline, not an event, before their examples):
the text between the fence lines, byte for byte, plus a final newline unless
it already ends with one. A block that is not JSON as published is passed
through `hookforge extract` (provenance.repaired, run with HOOKFORGE's
target/debug/hookforge or $HOOKFORGE_BIN), as the built-in vendors' docs
examples are: the sample is then extract's text, its end normalised to
exactly one newline, and its provenance entry lists the repairs; one that
extract cannot repair (unquoted keys, elided values) is named and skipped,
never hand-fixed. A block that is a lone event object, not an array, is
wrapped by `wrap_lone_event`: a `[` line before it and a `]` line after it,
the event's own text unchanged, since Event Grid delivers an array of events
(its webhook delivery docs); its entry says so. The result must be a non-empty
array of objects that validates against vendors/azure_event_grid/events/
events.json with Draft7Validator and its format checker (hookforge's own
check asserts formats for Draft 7); one that does not is named and skipped.
It is written to vendors/azure_event_grid/samples/events/<namespace>-<event
type in kebab case>.json (`Microsoft.Cache.PatchingCompleted` ->
cache-patching-completed.json; an event type published without its
`Microsoft.<namespace>.` prefix takes the namespace from its family), with a
provenance entry; the family is taken out of the manifest's `unsampled` list
and the page's learn.microsoft.com URL added to its `docs`. Existing samples
and entries are left alone, except that a second run rewrites what the first
wrote. The manifest and the provenance file keep their JSON layout (2-space
indent, UTF-8, final newline). Finally every sample of the vendor is
validated and the results printed.
"""

import json
import os
import re
import sys

import jsonschema

import provenance

REPO = "MicrosoftDocs/azure-docs"
LEARN = "https://learn.microsoft.com/azure/event-grid/"

# family, file, commit, the event-schema page that shows it, notes on the
# example (as published).
SOURCES = [
    ("Microsoft.ApiCenter.*", "articles/event-grid/event-schema-api-center.md",
     "03adcc30b28ecad9f81aba5638a15fb1930f5ec0", "event-schema-api-center", []),
    ("Microsoft.ContainerService.*", "articles/event-grid/event-schema-aks.md",
     "0f671cf12688e9df0e018636f60386fa5c64c6a0", "event-schema-aks",
     ["its `resourceGroups<rg>` with no `/` between is as published"]),
    ("Microsoft.ApiManagement.*", "articles/event-grid/event-schema-api-management.md",
     "02d2f99a9ea97d881e0714d94234d04beb7cf915", "event-schema-api-management", []),
    ("Microsoft.AppConfiguration.*", "articles/event-grid/event-schema-app-configuration.md",
     "38285e00034d90cb3a13c7df18b71d67369b15cf", "event-schema-app-configuration", []),
    ("Microsoft.Cache.*", "articles/event-grid/event-schema-azure-cache.md",
     "0a8a1a9ae76215cd2722eea0a97e0979046feb7c", "event-schema-azure-cache",
     ["its lower-case `dataversion` key is as published, so the event has no `dataVersion`"]),
    ("Microsoft.HealthcareApis.*", "articles/event-grid/event-schema-azure-health-data-services.md",
     "03e5750af10b23b5ba437d5b333ec5e9437844f9", "event-schema-azure-health-data-services", []),
    ("Microsoft.Maps.*", "articles/event-grid/event-schema-azure-maps.md",
     "177572a77416a4136356ef783fd73d614f35e8a8", "event-schema-azure-maps",
     ["the spaces at the ends of its lines are as published"]),
    ("Microsoft.Communication.*", "articles/event-grid/event-schema-communication-services.md",
     "03c35069ba44a0e79b4c8ef88b01131fe960326b", "event-schema-communication-services",
     ["this 2021 version of the page has no schema tabs; the `filter` snippet before it is not an event",
      "the phone numbers are Microsoft's 555 placeholders"]),
    ("Microsoft.DataBox.*", "articles/event-grid/event-schema-data-box.md",
     "18ea00a34a43ae6863d5694be3c1ccb97a264b7c", "event-schema-data-box", []),
    ("Microsoft.AgFoodPlatform.*", "articles/event-grid/event-schema-data-manager-for-agriculture.md",
     "03e5750af10b23b5ba437d5b333ec5e9437844f9", "event-schema-data-manager-for-agriculture",
     ["its placeholder ids, `<YOUR-PARTY-ID>` and zero GUIDs of odd lengths, are as published"]),
    ("Microsoft.EventGrid.MQTTClient*", "articles/event-grid/event-schema-event-grid-namespace.md",
     "1893f6dcd44481507f8b5dba31d4b6c14b7e6490", "event-schema-event-grid-namespace", []),
    ("Microsoft.ResourceNotifications.*", "articles/event-grid/event-schema-health-resources.md",
     "023881da947467c83c5a49299588e9221bf505e6", "event-schema-health-resources",
     ["from the Health Resources page, one of the Azure Resource Notifications pages, as their overview page has no example event",
      "its `id` with a `q` in it is as published"]),
    ("Microsoft.Devices.*", "articles/event-grid/event-schema-iot-hub.md",
     "067519c7ad391ed7fb149bdaa956f768ea360fa6", "event-schema-iot-hub",
     ["the spaces after several commas and the one before `:` are as published"]),
    ("Microsoft.MachineLearningServices.*", "articles/event-grid/event-schema-machine-learning.md",
     "0aa2b14aec0e5cae30883a8e96f8eafafc88767f", "event-schema-machine-learning", []),
    ("Microsoft.Maintenance.*", "articles/event-grid/event-schema-maintenance-configuration.md",
     "0240f8ece630c801eaeb08fa03743af091376927", "event-schema-maintenance-configuration",
     ["extract writes the `}` closing `data` as `},`, so the space that followed it is gone"]),
    ("Microsoft.PolicyInsights.*", "articles/governance/includes/policy/policy-events.md",
     "03e5750af10b23b5ba437d5b333ec5e9437844f9", "event-schema-policy",
     ["from the include file that articles/event-grid/event-schema-policy.md renders"]),
    ("Microsoft.ServiceBus.*", "articles/service-bus-messaging/includes/event-grid-service-bus.md",
     "14a4f0b6644e0578f21d5eea174e25715d0f477a", "event-schema-service-bus",
     ["from the include file that articles/event-grid/event-schema-service-bus.md renders"]),
    ("Microsoft.SignalRService.*", "articles/event-grid/event-schema-azure-signalr.md",
     "03adcc30b28ecad9f81aba5638a15fb1930f5ec0", "event-schema-azure-signalr", []),
    ("Microsoft.StorageActions.*", "articles/event-grid/event-schema-storage-actions.md",
     "1795e324f804f2064fd8ebb274495d49284991d7", "event-schema-storage-actions", []),
]

# Files whose examples are searched for only after this heading: before it
# they show a schema outline (`"id": string`, ...) that names an eventType.
START = {
    "articles/event-grid/event-schema-health-resources.md": "## Example events",
}

_DOCS = "Microsoft documents the {what} system-topic events in its Event Grid docs ({page}, MicrosoftDocs/azure-docs), but "
SKIPPED = {
    "Microsoft.ContainerRegistry.*": _DOCS.format(what="Azure Container Registry", page="event-schema-container-registry.md")
    + "its April 2018 version (commit 038376b7) shows only a template with empty values (`\"size\": ,`), and the "
    "August 2018 version (fdc5ef7d) gives `eventType` as `ImagePushed`, without the `Microsoft.ContainerRegistry.` prefix "
    "its own table of event types (and every delivery) carries, so it is not taken as what Event Grid sends.",
    "Microsoft.Web.*": _DOCS.format(what="Azure App Service", page="event-schema-app-service.md")
    + "both stored versions of that page (commits 232c7487 and 6e649e9a, from 2020) give every example as a JavaScript "
    "object literal (```js: unquoted keys, single quotes, missing commas), and `hookforge extract` cannot make one JSON "
    "(it does not quote keys: \"key must be a string at line 2 column 5\"). A later version with JSON examples is in the "
    "search index, but its commit could not be found, so it cannot be pinned.",
    "Microsoft.Media.*": _DOCS.format(what="Azure Media Services", page="event-schema-media-services.md")
    + "in both stored versions of that page (commits 06477775 and 3b9d7e48, the latter dated December 2022) the first "
    "Event Grid-schema example (JobStateChange) has an `eventTime` without a UTC offset (`2018-04-20T21:26:13.8978772`), "
    "which the `events` schema's date-time format rejects; that is a value, not a defect `hookforge extract` repairs.",
}

NOTE = ("Example events from Microsoft's Event Grid docs (MicrosoftDocs/azure-docs: the articles/event-grid pages, "
        "and for Azure Policy and Service Bus the include files their pages render), Event Grid schema, each an array "
        "of one event as delivered by default; for the system topics added by scripts/catalogue/azure_event_grid_docs.py, "
        "the first Event Grid-schema example of each page, pinned to the commit the page was read at. Where a page "
        "shows that example as a lone event, the sample wraps it in the one-element array Event Grid delivers; where it "
        "is not JSON as published only for a defect `hookforge extract` repairs, the sample is extract's repair; each "
        "entry says so. The SubscriptionValidationEvent is not a sample: it is the handshake's example in manifest.json. "
        "The families whose page has no usable example are listed, with why, in manifest.json's `unsampled`.")

FENCE = re.compile(r"^```\s*(\S*)\s*$")
TAB = re.compile(r"^# \[[^\]]*\]\(#tab/([\w-]+)\)\s*$")


def page_text(pages, git_dir, file, commit):
    if git_dir:
        return provenance.git_show(git_dir, commit, file)
    name = os.path.basename(file)[: -len(".md")] + ".json"
    doc = json.load(open(os.path.join(pages, name), encoding="utf-8"))
    if (doc.get("repo"), doc.get("path"), doc.get("commit")) != (REPO, file, commit):
        raise ValueError(f"{name} is {doc.get('repo')}:{doc.get('path')}@{doc.get('commit')}, not {REPO}:{file}@{commit}")
    if doc.get("offset", 0) != 0:
        raise ValueError(f"{name} does not start at offset 0")
    return doc["text"]


def first_example(text, start=None):
    """(block text as published, fence info, whether the page has tabs) of the
    first Event Grid-schema ```json block naming an eventType; with START,
    the first after the line that is START (a heading)."""
    lines = text.split("\n")
    tab, tabs, i = None, False, 0
    if start is not None:
        if start not in lines:
            raise ValueError(f"no {start!r} line in the text given")
        tabs = any(TAB.match(line) for line in lines[: lines.index(start)])
        i = lines.index(start) + 1
    while i < len(lines):
        line = lines[i]
        m = TAB.match(line)
        if m:
            tab, tabs = m.group(1), True
        elif line.strip() == "---":
            tab = None
        f = FENCE.match(line)
        if f and f.group(1):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            if j == len(lines):
                raise ValueError(f"the block opened on line {i + 1} is not closed in the text given")
            body = "\n".join(lines[i + 1 : j])
            if f.group(1).lower() == "json" and tab != "cloud-event-schema" and '"eventType"' in body:
                return body, f.group(1), tabs
            i = j
        i += 1
    raise ValueError("no Event Grid-schema ```json block naming an eventType")


def wrap_lone_event(body):
    """The lone event a page shows (BODY, the block's text as published) in
    the one-element array Event Grid delivers (its webhook delivery docs: the
    body is an array of events): a `[` line before it and a `]` line after
    it, the event's own text unchanged. Applied only where the block is a
    JSON object."""
    return "[\n" + body + ("" if body.endswith("\n") else "\n") + "]"


WRAPPED = "wrapped in the one-element array Event Grid delivers; the page shows the event alone"


def kebab(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower()


def validator(vendor):
    schema = json.load(open(os.path.join(vendor, "events", "events.json"), encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def save_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def main(argv):
    if len(argv) == 4 and argv[1] == "--git":
        pages, git_dir, root = None, argv[2], argv[3]
    elif len(argv) == 3 and not argv[1].startswith("-"):
        pages, git_dir, root = argv[1], None, argv[2]
    else:
        sys.exit(__doc__)
    vendor = provenance.vendor_dir(root, "azure_event_grid")
    if pages:
        provenance.source_dir(pages, "the saved page texts")
    else:
        provenance.source_dir(git_dir, "a git directory of MicrosoftDocs/azure-docs")
    check = validator(vendor)
    prov_path = os.path.join(vendor, "samples", "provenance.json")
    prov, indent = provenance.load(prov_path)
    manifest_path = os.path.join(vendor, "manifest.json")
    manifest = json.load(open(manifest_path, encoding="utf-8"))

    sampled = {}
    for family, file, commit, page, notes in SOURCES:
        try:
            body, info, tabs = first_example(page_text(pages, git_dir, file, commit), START.get(file))
            text, repairs = body, []
            try:
                value = json.loads(text)
            except ValueError:
                text, repairs = provenance.repaired(root, body)  # Unrepairable: skipped below, never hand-fixed
                value = json.loads(text)
            wrapped = isinstance(value, dict)
            if wrapped:
                text, value = wrap_lone_event(text), [value]
            if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
                raise ValueError("the example is neither an array of events nor a lone event")
            errors = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in check.iter_errors(value)]
            if errors:
                raise ValueError("does not validate: " + "; ".join(errors))
        except provenance.Unrepairable as e:
            print(f"skipped {family} ({file}@{commit[:8]}): not JSON, and `hookforge extract` cannot repair it: {e}")
            continue
        except provenance.SourceError:
            raise  # no binary, an unreadable page: the run stops, not a skip
        except (ValueError, OSError) as e:
            print(f"skipped {family} ({file}@{commit[:8]}): {e}")
            continue
        event_type = value[0]["eventType"]
        if event_type.startswith("Microsoft."):
            namespace, _, name = event_type.removeprefix("Microsoft.").partition(".")
        else:  # published without its prefix: the namespace is the family's
            namespace, name = family.removeprefix("Microsoft.").partition(".")[0], event_type
        rel = f"events/{namespace.lower()}-{kebab(name.replace('.', ''))}.json"
        added = not text.endswith("\n")
        with open(os.path.join(vendor, "samples", rel), "w", encoding="utf-8", newline="") as f:
            f.write(text + ("\n" if added else ""))
        what = f"the Event Grid schema tab's {name} example" if tabs else f"the {name} example"
        if info != "json":
            notes = notes + [f"its fence is written ```{info}"]
        notes = f" ({'; '.join(notes)})" if notes else ""
        if repairs:
            changes = [f"{what}, written out as repaired below{notes}",
                       *provenance.repair_changes(repairs)]
            if wrapped:
                changes.append(f"then {WRAPPED} (a `[` line before it and a `]` line after it)")
        else:
            change = f"{what}, byte for byte{notes}"
            if wrapped:
                change += f", {WRAPPED} (a `[` line before it and a `]` line after it)"
            change += "; a final newline added" if added else "; its block ends with a blank line, so it already ends with a newline and nothing was added"
            changes = [change]
        e = provenance.entry(rel, REPO, file, commit, changes[0])
        e["changes"] = changes
        provenance.put(prov["samples"], e)
        sampled[family] = (rel, f"{LEARN}{page}")
        print(f"sampled {family}: samples/{rel} ({event_type}, {file}@{commit[:8]}"
              + (", repaired" if repairs else "") + (", wrapped" if wrapped else "") + ")")

    manifest["unsampled"] = [u for u in manifest["unsampled"] if u["family"] not in sampled]
    for u in manifest["unsampled"]:
        if u["family"] in SKIPPED:
            u["why"] = SKIPPED[u["family"]]
    for family, (_, url) in sampled.items():
        if url not in manifest["docs"]:
            manifest["docs"].append(url)
    save_json(manifest_path, manifest)
    prov["note"] = NOTE
    provenance.save(prov_path, prov, indent)

    failed = 0
    samples_dir = os.path.join(vendor, "samples", "events")
    for name in sorted(os.listdir(samples_dir)):
        raw = open(os.path.join(samples_dir, name), "rb").read()
        errors = [e.message for e in check.iter_errors(json.loads(raw))]
        failed += bool(errors)
        print(f"{'FAIL' if errors else 'ok  '} samples/events/{name}" + (f": {errors}" if errors else ""))
    print(f"{len(sampled)} sampled, {len(manifest['unsampled'])} families still unsampled, {failed} sample(s) failing")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(provenance.run(main, sys.argv))
