//! A test subscriber: every `tracing` event (and span) of the process,
//! recorded with its target, level and fields.
//!
//! It is installed once, globally, so that events from any thread are seen
//! (writer tasks on worker threads, a runtime dropped on the test's thread).
//! Tests run in parallel, so each gives its sinks names no other test uses
//! and reads only the events whose `sink` field is one of them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// One recorded event.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) target: String,
    pub(crate) level: Level,
    /// The `message` field: the event's text.
    pub(crate) message: String,
    /// Every other field, formatted (`%` and `?` values as the event wrote them).
    pub(crate) fields: BTreeMap<String, String>,
}

impl Event {
    /// A field's value; fails the test when the event has no such field.
    pub(crate) fn field(&self, name: &str) -> &str {
        match self.fields.get(name) {
            Some(value) => value,
            None => panic!("event {self:?} has no field `{name}`"),
        }
    }

    /// A numeric field's value.
    pub(crate) fn number(&self, name: &str) -> u64 {
        let value = self.field(name);
        value
            .parse()
            .unwrap_or_else(|_| panic!("field `{name}` of {self:?} is not a number"))
    }

    /// Whether the message starts with `text` (events may add detail after).
    pub(crate) fn says(&self, text: &str) -> bool {
        self.message.starts_with(text)
    }
}

fn events() -> MutexGuard<'static, Vec<Event>> {
    static EVENTS: Mutex<Vec<Event>> = Mutex::new(Vec::new());
    EVENTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Spans as they were created, recorded like events: `message` holds the
/// span's name.
fn spans() -> MutexGuard<'static, Vec<Event>> {
    static SPANS: Mutex<Vec<Event>> = Mutex::new(Vec::new());
    SPANS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The spans named `name` whose `sink` field is `sink`, in creation order.
pub(crate) fn spans_of(sink: &str, name: &str) -> Vec<Event> {
    spans()
        .iter()
        .filter(|span| span.message == name)
        .filter(|span| span.fields.get("sink").map(String::as_str) == Some(sink))
        .cloned()
        .collect()
}

/// Installs the subscriber (once per test binary).
pub(crate) fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(Recorder);
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
    });
}

/// The events whose `sink` field is `sink`, in the order they were emitted.
pub(crate) fn of(sink: &str) -> Vec<Event> {
    events()
        .iter()
        .filter(|event| event.fields.get("sink").map(String::as_str) == Some(sink))
        .cloned()
        .collect()
}

/// The events of `sink` whose message starts with `text`.
pub(crate) fn saying(sink: &str, text: &str) -> Vec<Event> {
    of(sink)
        .into_iter()
        .filter(|event| event.says(text))
        .collect()
}

/// The one event of `sink` saying `text`; fails the test unless there is
/// exactly one, and checks its target and level.
pub(crate) fn the_one(sink: &str, text: &str, level: Level) -> Event {
    let found = saying(sink, text);
    assert_eq!(
        found.len(),
        1,
        "exactly one `{text}` event for {sink}, got {found:#?}\nall of {sink}'s events: {:#?}",
        of(sink)
    );
    let event = found.into_iter().next().expect("one event");
    assert_eq!(event.target, "sinks", "{event:?}");
    assert_eq!(event.level, level, "{event:?}");
    event
}

struct Recorder;

impl<S: Subscriber> Layer<S> for Recorder {
    fn on_new_span(
        &self,
        attributes: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _context: Context<'_, S>,
    ) {
        let mut fields = Fields::default();
        attributes.record(&mut fields);
        let metadata = attributes.metadata();
        spans().push(Event {
            target: metadata.target().to_owned(),
            level: *metadata.level(),
            message: metadata.name().to_owned(),
            fields: fields.values,
        });
    }

    fn on_event(&self, event: &tracing::Event<'_>, _context: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        events().push(Event {
            target: metadata.target().to_owned(),
            level: *metadata.level(),
            message: fields.message,
            fields: fields.values,
        });
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    values: BTreeMap<String, String>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.values.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.to_string());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.to_string());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.to_string());
    }
}
