//! Onboarding a vendor from its samples alone (`hookforge infer
//! --vendor-dir`): where its event type is (a top-level or nested field, a
//! header, or a header joined with a field, as GitHub's `issues` +
//! `opened`), and where its event id is. Samples come grouped by event, in
//! directories named after the event (`orders-create` for Shopify's
//! `orders/create`); a sample's headers, when the vendor sends the type or
//! id there, are in a `<name>.headers` file beside it (`Name: value` lines).

use serde_json::{Value, json};

/// One sample payload and the headers it came with.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Sample {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A line of a `.headers` file that is not a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderLineError {
    /// No `:` on the line.
    NoColon { line: usize, text: String },
    /// What stands before the `:` is not an RFC 9110 token.
    BadName { line: usize, name: String },
}

impl std::fmt::Display for HeaderLineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderLineError::NoColon { line, text } => {
                write!(f, "line {line}: expected `Name: value`, got {text:?}")
            }
            HeaderLineError::BadName { line, name } => {
                write!(f, "line {line}: {name:?} is not a header name")
            }
        }
    }
}

impl std::error::Error for HeaderLineError {}

/// `Name: value` lines (blank lines and `#` comments skipped).
pub fn parse_headers(text: &str) -> Result<Vec<(String, String)>, HeaderLineError> {
    let mut out = Vec::new();
    for (i, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = line.trim();
        // HTTP/2 pseudo-headers (`:method: POST`), as browsers' developer
        // tools copy them, are not headers a vendor sends.
        if line.is_empty() || line.starts_with('#') || line.starts_with(':') {
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            return Err(HeaderLineError::NoColon {
                line: i + 1,
                text: line.to_string(),
            });
        };
        let name = k.trim();
        // RFC 9110's token characters: anything else is no header name.
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            return Err(HeaderLineError::BadName {
                line: i + 1,
                name: name.to_string(),
            });
        }
        out.push((name.to_string(), v.trim().to_string()));
    }
    Ok(out)
}

/// Where the event type was found, and each directory's event name as the
/// vendor writes it (`orders/create`).
#[derive(Debug, Clone, PartialEq)]
pub struct EventType {
    /// The manifest's `event_type` locator.
    pub locator: Value,
    /// The body pointer, if the type (or its second part) is in the body:
    /// pinned in the schemas.
    pub pointer: Option<String>,
    pub names: Vec<String>,
}

/// Where each event's samples name the event: the first place (shallowest
/// field, then a header, then a header joined with a field by `.`) whose
/// value, in every sample, is its directory's name (compared with any
/// punctuation as `_`, so `orders-create` matches `orders/create`).
pub fn event_type(events: &[(String, Vec<Sample>)]) -> Option<EventType> {
    if is_batch(events) {
        // A JSON array is a batch, one event for the manifest (SendGrid's,
        // HubSpot's): named with `value`, which only one directory can be.
        let [(name, _)] = events else { return None };
        return Some(EventType {
            locator: json!({"value": name}),
            pointer: None,
            names: vec![name.clone()],
        });
    }
    candidates(events)
        .into_iter()
        .find_map(|c| c.names(events).map(|names| c.found(names)))
}

/// The place that came nearest to naming the events, when none names them
/// all: for telling the user which samples disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearest {
    /// The place, in words (`the field /type`, `the header X-Event`).
    pub place: String,
    /// How many samples hold their directory's name there, of how many.
    pub matched: usize,
    pub total: usize,
    /// The samples that do not: (directory index, sample index, the value
    /// found there, if any).
    pub misses: Vec<(usize, usize, Option<String>)>,
}

/// The candidate place holding its directory's name in the most samples
/// (at least one); the first such in [`event_type`]'s order on a tie.
pub fn nearest_event_type(events: &[(String, Vec<Sample>)]) -> Option<Nearest> {
    let total = events.iter().map(|(_, s)| s.len()).sum();
    let mut best: Option<Nearest> = None;
    for place in candidates(events) {
        let mut misses = Vec::new();
        for (d, (dir, samples)) in events.iter().enumerate() {
            for (i, sample) in samples.iter().enumerate() {
                let value = place.value(sample);
                if value.as_deref().map(fold) != Some(fold(dir)) {
                    misses.push((d, i, value));
                }
            }
        }
        let matched = total - misses.len();
        if matched > 0 && best.as_ref().is_none_or(|b| matched > b.matched) {
            best = Some(Nearest {
                place: place.describe(),
                matched,
                total,
                misses,
            });
        }
    }
    best
}

/// Where the event type may be: every string field (shallowest first),
/// every header, and each header joined with a top-level field. Places
/// come from every sample, the first sample's first: a field only some
/// events have (GitHub's and Gitea's `/action`, absent from `create`) is
/// still tried when the first directory's samples lack it.
fn candidates(events: &[(String, Vec<Sample>)]) -> Vec<Place> {
    let all = events.iter().flat_map(|(_, samples)| samples);
    let mut pointers = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut headers: Vec<String> = Vec::new();
    for sample in all {
        let mut found = Vec::new();
        string_leaves(&sample.body, String::new(), 0, &mut found);
        pointers.extend(found.into_iter().filter(|p| seen.insert(p.clone())));
        for (h, _) in &sample.headers {
            if !headers.iter().any(|known| known.eq_ignore_ascii_case(h)) {
                headers.push(h.clone());
            }
        }
    }
    pointers.sort_by_key(|p| p.matches('/').count());
    let mut candidates: Vec<Place> = pointers.iter().map(|p| Place::Pointer(p.clone())).collect();
    candidates.extend(headers.iter().map(|h| Place::Header(h.clone())));
    for h in &headers {
        for p in pointers.iter().filter(|p| p.matches('/').count() == 1) {
            candidates.push(Place::Joined(h.clone(), p.clone()));
        }
    }
    candidates
}

/// Whether every sample's body is a JSON array (a batch of items).
pub fn is_batch(events: &[(String, Vec<Sample>)]) -> bool {
    let mut bodies = events
        .iter()
        .flat_map(|(_, samples)| samples)
        .map(|s| &s.body);
    bodies.clone().next().is_some() && bodies.all(Value::is_array)
}

#[derive(Debug, Clone)]
enum Place {
    Pointer(String),
    Header(String),
    Joined(String, String),
}

impl Place {
    fn value(&self, s: &Sample) -> Option<String> {
        match self {
            Place::Pointer(p) => s.body.pointer(p)?.as_str().map(String::from),
            Place::Header(h) => s.header(h).map(String::from),
            Place::Joined(h, p) => {
                let head = s.header(h)?;
                Some(match s.body.pointer(p).and_then(Value::as_str) {
                    Some(tail) => format!("{head}.{tail}"),
                    None => head.to_string(),
                })
            }
        }
    }

    /// The event name per directory, if every sample's value matches it.
    fn names(&self, events: &[(String, Vec<Sample>)]) -> Option<Vec<String>> {
        let mut names = Vec::new();
        for (dir, samples) in events {
            let values: Vec<String> = samples
                .iter()
                .map(|s| self.value(s))
                .collect::<Option<_>>()?;
            let name = values.first()?;
            if values.iter().any(|v| v != name) || fold(name) != fold(dir) {
                return None;
            }
            names.push(name.clone());
        }
        Some(names)
    }

    fn describe(&self) -> String {
        match self {
            Place::Pointer(p) => format!("the field {p}"),
            Place::Header(h) => format!("the header {h}"),
            Place::Joined(h, p) => format!("the header {h} joined with the field {p}"),
        }
    }

    fn found(self, names: Vec<String>) -> EventType {
        let (locator, pointer) = match self {
            Place::Pointer(p) => (json!({"pointer": p}), Some(p)),
            Place::Header(h) => (json!({"header": h}), None),
            Place::Joined(h, p) => (json!({"header": h, "pointer": p, "join": "."}), Some(p)),
        };
        EventType {
            locator,
            pointer,
            names,
        }
    }
}

/// Letters and digits kept (lower case), each run of anything else one `_`
/// (`ordering::file_added` matches the directory `ordering.file_added`).
fn fold(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out
}

/// Pointers to the string values of `v`, four levels deep at most (an
/// array is entered at its first item only).
fn string_leaves(v: &Value, at: String, depth: usize, out: &mut Vec<String>) {
    if depth > 4 {
        return;
    }
    match v {
        Value::String(_) if !at.is_empty() => out.push(at),
        Value::Object(o) => {
            for (k, child) in o {
                let token = crate::manifest::escape_token(k);
                string_leaves(child, format!("{at}/{token}"), depth + 1, out);
            }
        }
        Value::Array(a) => {
            if let Some(item) = a.first() {
                string_leaves(item, format!("{at}/0"), depth + 1, out);
            }
        }
        _ => {}
    }
}

/// Where the event id is: a header named like a delivery or event id, or a
/// body field named like one (`event_id`, or `id` at the top level),
/// present in every sample. A name that could mean something else (a
/// header ending `-id`, a top-level `id`, which may be the resource's) must
/// also have a value no two samples share; docs often repeat one
/// placeholder `event_id`, so that name needs none, nor an `id` whose every
/// value starts `evt` or `event` (Stripe's `evt_…`). `None` when nothing
/// qualifies (a vendor may send no id). `type_at`: the body pointer of the
/// event type, if found there: an `id` beside a nested type
/// (`/meta/event/type` → `/meta/event/id`) is the event's own, tried before
/// a top-level `id`, with the same care.
pub fn event_id(events: &[(String, Vec<Sample>)], type_at: Option<&str>) -> Option<Value> {
    let all: Vec<&Sample> = events.iter().flat_map(|(_, s)| s).collect();
    let first = all.first()?;
    let distinct = |values: Option<Vec<String>>| {
        values.is_some_and(|mut v| {
            let n = v.len();
            v.sort();
            v.dedup();
            v.len() == n
        })
    };
    for (h, _) in &first.headers {
        let l = h.to_ascii_lowercase();
        let named = [
            "delivery",
            "event-id",
            "webhook-id",
            "message-id",
            "notification-id",
        ]
        .iter()
        .any(|n| l.contains(n))
            || l.ends_with("-id") && !l.contains("account") && !l.contains("shop");
        let values = all.iter().map(|s| s.header(h).map(String::from)).collect();
        if named && distinct(values) {
            let example = first.header(h).unwrap_or_default();
            return Some(json!({"header": h, "example": example}));
        }
    }
    const NAMES: &[&str] = &[
        "/event_id",
        "/eventId",
        "/eventID",
        "/EventId",
        "/event/id",
        "/meta/event_id",
        "/meta/eventId",
        "/notification_id",
        "/notificationId",
        "/message_id",
        "/messageId",
    ];
    let candidates = id_candidates(NAMES, type_at);
    let scalar = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    candidates.into_iter().find_map(|p| {
        let p = p.as_str();
        let values: Option<Vec<String>> = all
            .iter()
            .map(|s| s.body.pointer(p).and_then(scalar))
            .collect();
        let unambiguous = !(p.ends_with("/id") || p.ends_with("/uuid")) || p == "/event/id";
        // An `id` whose values say they are events' or notifications'
        // (`evt_…`, `notif_…`), placeholder or not, in most samples: a
        // sample without one (Intercom's `ping` has `"id": null`) is then
        // keyed by its body.
        let present: Vec<String> = all
            .iter()
            .filter_map(|s| s.body.pointer(p).and_then(scalar))
            .collect();
        let eventlike = present.len() * 2 > all.len()
            && present.iter().all(|x| {
                let x = x.to_ascii_lowercase();
                x.starts_with("evt") || x.starts_with("event") || x.starts_with("notif")
            })
            && (values.is_some() || distinct(Some(present.clone())));
        let ok = if eventlike {
            true
        } else if unambiguous {
            values.is_some()
        } else {
            distinct(values)
        };
        ok.then(|| {
            let example = present.first().cloned().unwrap_or_default();
            json!({"pointer": p, "example": example})
        })
    })
}

/// The body pointers tried for the event id, in order: the named ones, then
/// (only in an object named as the event: beside Twitch's
/// `/subscription/type` is the subscription's id, which every notification
/// of it shares; taken as the event id, all but the first would be dropped
/// as duplicates) the ids beside a nested type, then a top-level `uuid` or
/// `id`.
fn id_candidates(names: &[&str], type_at: Option<&str>) -> Vec<String> {
    let eventlike = |parent: &str| {
        let last = parent
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        ["event", "notification", "message", "webhook"]
            .iter()
            .any(|n| last.contains(n))
    };
    let beside: Vec<String> = match type_at.and_then(|p| p.rsplit_once('/')) {
        Some((parent, _)) if !parent.is_empty() && eventlike(parent) => {
            ["id", "event_id", "eventId", "uuid"]
                .iter()
                .map(|k| format!("{parent}/{k}"))
                .collect()
        }
        _ => Vec::new(),
    };
    (names.iter().map(|p| p.to_string()))
        .chain(beside)
        .chain(["/uuid".to_string(), "/id".to_string()])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(body: Value, headers: &[(&str, &str)]) -> Sample {
        Sample {
            body,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// A header joined with a field only some events have is found whatever
    /// the directories' order: `create` (no `/action`) sorted first hid it
    /// (helper-67's review: exit 1, "event type not found").
    #[test]
    fn a_joined_field_is_found_when_the_first_event_lacks_it() {
        let events = vec![
            (
                "create".to_string(),
                vec![sample(
                    json!({"ref": "main"}),
                    &[("X-Gitea-Event", "create")],
                )],
            ),
            (
                "issues.opened".to_string(),
                vec![sample(
                    json!({"action": "opened", "number": 1}),
                    &[("X-Gitea-Event", "issues")],
                )],
            ),
        ];
        let found = event_type(&events).unwrap();
        assert_eq!(
            found.locator,
            json!({"header": "X-Gitea-Event", "pointer": "/action", "join": "."})
        );
        assert_eq!(found.names, ["create", "issues.opened"]);
    }

    /// An `id` beside a nested type is the event's id (helper-54's review:
    /// `/meta/event/type` was found, `/meta/event/id` beside it was not).
    #[test]
    fn an_id_beside_a_nested_type_is_the_events() {
        let events: Vec<(String, Vec<Sample>)> = [("order.paid", "e1"), ("order.refunded", "e2")]
            .iter()
            .map(|(t, id)| {
                let body = json!({"meta": {"event": {"type": t, "id": id}}, "id": "ord_1"});
                (t.to_string(), vec![sample(body, &[])])
            })
            .collect();
        let found = event_type(&events).unwrap();
        assert_eq!(found.pointer.as_deref(), Some("/meta/event/type"));
        let id = event_id(&events, found.pointer.as_deref()).unwrap();
        assert_eq!(id["pointer"], "/meta/event/id");
        // Without the type's place, the top-level `id` (shared: the order's)
        // does not qualify either.
        assert_eq!(event_id(&events, None), None);
        // Beside a type in an object named otherwise (Twitch's
        // `/subscription/type`), an `id` is that object's, not the event's.
        let twitch: Vec<(String, Vec<Sample>)> = [("channel.follow", "s1"), ("channel.ban", "s2")]
            .iter()
            .map(|(t, id)| {
                let body = json!({"subscription": {"type": t, "id": id}, "event": {}});
                (t.to_string(), vec![sample(body, &[])])
            })
            .collect();
        let found = event_type(&twitch).unwrap();
        assert_eq!(found.pointer.as_deref(), Some("/subscription/type"));
        assert_eq!(event_id(&twitch, found.pointer.as_deref()), None);
    }

    #[test]
    fn a_nested_type_is_found_and_pinned_where_it_is() {
        let events = vec![
            (
                "app_mention".to_string(),
                vec![sample(
                    json!({"type": "event_callback", "event_id": "Ev1", "event": {"type": "app_mention"}}),
                    &[],
                )],
            ),
            (
                "message".to_string(),
                vec![sample(
                    json!({"type": "event_callback", "event_id": "Ev2", "event": {"type": "message"}}),
                    &[],
                )],
            ),
        ];
        let t = event_type(&events).unwrap();
        assert_eq!(t.locator, json!({"pointer": "/event/type"}));
        assert_eq!(
            event_id(&events, None),
            Some(json!({"pointer": "/event_id", "example": "Ev1"}))
        );
    }

    #[test]
    fn a_type_in_a_header_keeps_its_slash_and_the_id_comes_from_a_header() {
        let h = |t: &'static str, id: &'static str| -> Vec<(&'static str, &'static str)> {
            vec![
                ("X-Shopify-Topic", t),
                ("X-Shopify-Webhook-Id", id),
                ("X-Shopify-Shop-Domain", "a.myshopify.com"),
            ]
        };
        let events = vec![
            (
                "orders-create".to_string(),
                vec![sample(
                    json!({"id": 1, "name": "#1"}),
                    &h("orders/create", "b54557e4"),
                )],
            ),
            (
                "orders-paid".to_string(),
                vec![sample(
                    json!({"id": 1, "name": "#1"}),
                    &h("orders/paid", "c1d2e3f4"),
                )],
            ),
        ];
        let t = event_type(&events).unwrap();
        assert_eq!(t.locator, json!({"header": "X-Shopify-Topic"}));
        assert_eq!(t.names, ["orders/create", "orders/paid"]);
        // The body's `id` repeats (it is the order's): the header's is the event's.
        assert_eq!(
            event_id(&events, None).unwrap()["header"],
            "X-Shopify-Webhook-Id"
        );
    }

    /// Intercom: `id` is `notif_…` in every notification but `null` in its
    /// `ping`; the ids still say they are the events', so `/id` is taken.
    /// An order's `id`, missing from one sample, is not.
    #[test]
    fn an_id_named_like_a_notification_may_be_null_in_a_few_samples() {
        let one = |topic: &str, id: Value| {
            (
                topic.to_string(),
                vec![sample(json!({"topic": topic, "id": id}), &[])],
            )
        };
        let events = vec![
            one("user.created", json!("notif_78c122d0")),
            one("company.created", json!("notif_ac073374")),
            one("ping", Value::Null),
        ];
        assert_eq!(
            event_id(&events, None),
            Some(json!({"pointer": "/id", "example": "notif_78c122d0"}))
        );
        let orders = vec![
            one("orders.create", json!("ord_1")),
            one("orders.paid", json!("ord_2")),
            one("ping", Value::Null),
        ];
        assert_eq!(event_id(&orders, None), None);
    }

    #[test]
    fn a_header_joined_with_a_field_is_found() {
        let events = vec![
            (
                "issues.opened".to_string(),
                vec![sample(
                    json!({"action": "opened"}),
                    &[("X-GitHub-Event", "issues"), ("X-GitHub-Delivery", "d1")],
                )],
            ),
            (
                "issues.closed".to_string(),
                vec![sample(
                    json!({"action": "closed"}),
                    &[("X-GitHub-Event", "issues"), ("X-GitHub-Delivery", "d2")],
                )],
            ),
        ];
        assert_eq!(
            event_type(&events).unwrap().locator,
            json!({"header": "X-GitHub-Event", "pointer": "/action", "join": "."})
        );
    }

    #[test]
    fn headers_copied_from_a_browser_keep_only_real_headers() {
        // A BOM and HTTP/2 pseudo-headers, as developer tools copy them.
        let copied = parse_headers("\u{feff}:method: POST\n:path: /hook\nX-Topic: a").unwrap();
        assert_eq!(copied, vec![("X-Topic".to_string(), "a".to_string())]);
    }

    #[test]
    fn no_place_matches_when_the_samples_do_not_name_their_event() {
        let events = vec![("a".to_string(), vec![sample(json!({"kind": "b"}), &[])])];
        assert_eq!(event_type(&events), None);
        assert_eq!(parse_headers("X-A: 1\n\n# c\nX-B:two").unwrap().len(), 2);
        assert!(
            parse_headers("nocolon")
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
        assert!(
            parse_headers("X-A: 1\nX B: 2")
                .unwrap_err()
                .to_string()
                .contains("line 2: \"X B\" is not a header name")
        );
    }
}
