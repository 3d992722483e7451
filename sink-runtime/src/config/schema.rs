//! Every key a service table takes, described once.
//!
//! [`KEYS`] drives the parser (which keys exist, where each applies, how its
//! value is read and what range it accepts), the unknown-key suggestions,
//! the range messages, the overlay rules, the macro's rustdoc and the
//! README's key table (a test checks that the README agrees). Adding a
//! setting is one row here and one arm in `leaf::apply`.

use std::fmt::Write as _;

/// The longest timeout or delay a config accepts: a day. Longer waits are
/// a misconfiguration (a hung peer would hold a send for days), and the cap
/// keeps every sum of them far from `Duration`'s limit.
pub const MAX_SECONDS: f64 = 86_400.0;
/// The shortest timeout a config accepts: a millisecond. Shorter ones cannot
/// complete a connect and only burn retries.
pub const MIN_SECONDS: f64 = 0.001;
/// The most connect attempts after the first: beyond a million, use
/// `lazy.auto_reconnect` and a longer `lazy.max_retry_delay_secs` instead.
pub const MAX_RETRIES: u64 = 1_000_000;
/// The fewest messages a queue may hold (`buffer_size`): one, or a send
/// could never be accepted.
pub const MIN_BUFFER_SIZE: u64 = 1;
/// The most messages a queue may hold: 2^24. Memory is bounded by twice the
/// queue, so more is a misconfiguration.
pub const MAX_BUFFER_SIZE: u64 = 16_777_216;
/// The smallest `max_message_bytes`: a limit of zero would refuse every payload.
pub const MIN_MESSAGE_BYTES: u64 = 1;
/// The largest payload: what the u32 length prefix of a frame holds.
pub const MAX_MESSAGE_BYTES: u64 = u32::MAX as u64;
/// The smallest `backoff_multiplier`: below 1 the pause would shrink with
/// every retry.
pub const MIN_BACKOFF_MULTIPLIER: f64 = 1.0;
/// The largest `backoff_multiplier`: a thousandfold growth per retry reaches
/// any `max_retry_delay_secs` in a few retries already.
pub const MAX_BACKOFF_MULTIPLIER: f64 = 1_000.0;
/// The longest `retry_delay_ms`: a day.
pub const MAX_RETRY_DELAY_MS: u64 = 86_400_000;
/// The fewest JetStream publishes awaiting their acknowledgement at once:
/// with none, nothing could be published.
pub const MIN_JETSTREAM_IN_FLIGHT: u64 = 1;
/// The most JetStream publishes awaiting their acknowledgement at once
/// (`jetstream_max_in_flight`); more only re-publishes more after a lost
/// connection.
pub const MAX_JETSTREAM_IN_FLIGHT: u64 = 65_536;

/// Which services a key applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Applies {
    /// Every service.
    All,
    /// Relay and direct services (those with an endpoint).
    Leaf,
    /// Composite services.
    Composite,
    /// Relay and direct services over a byte stream (Unix or TCP), not WebSocket.
    ByteStream,
    /// Direct services with a `wss://` endpoint.
    SecureWebSocket,
    /// Direct services with a `nats://` endpoint.
    Nats,
    /// Direct services with a `nats://` endpoint and `jetstream = true`.
    JetStream,
}

impl Applies {
    /// As the README's "applies to" column says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Applies::All => "all",
            Applies::Leaf => "relay, direct",
            Applies::Composite => "composite",
            Applies::ByteStream => "relay, direct (unix, tcp)",
            Applies::SecureWebSocket => "direct `wss://`",
            Applies::Nats => "direct `nats://`",
            Applies::JetStream => "direct `nats://` with `jetstream = true`",
        }
    }
}

/// How a key's value is read, with the range it accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ValueKind {
    /// A string (an endpoint, a path).
    Text,
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// A whole number in `min..=max`.
    Integer {
        /// The smallest accepted value.
        min: u64,
        /// The largest accepted value.
        max: u64,
    },
    /// A number of seconds, whole or fractional, in `MIN_SECONDS..=MAX_SECONDS`.
    Seconds,
    /// A number in `min..=max`.
    Number {
        /// The smallest accepted value.
        min: f64,
        /// The largest accepted value.
        max: f64,
    },
    /// `true` or `false`.
    Boolean,
    /// An array of service names.
    Names,
    /// A table of string values.
    StringTable,
}

impl ValueKind {
    /// "a whole number from 1 to 16777216": what the key takes, for messages.
    pub fn expected(self) -> String {
        match self {
            ValueKind::Text => "a string".into(),
            ValueKind::Choice(choices) => one_of(choices),
            ValueKind::Integer { min, max } => format!("a whole number from {min} to {max}"),
            ValueKind::Seconds => {
                format!("a number of seconds from {MIN_SECONDS} to {MAX_SECONDS} (a day)")
            }
            ValueKind::Number { min, max } => format!("a number from {min} to {max}"),
            ValueKind::Boolean => "`true` or `false`".into(),
            ValueKind::Names => "an array of service names".into(),
            ValueKind::StringTable => "a table of strings".into(),
        }
    }
}

/// "`\"a\"`, `\"b\"` or `\"c\"`".
pub(crate) fn one_of(choices: &[&str]) -> String {
    let quoted: Vec<String> = choices.iter().map(|c| format!("`\"{c}\"`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// One key of a `[services.NAME]` table.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Key {
    /// The key as written; `lazy.` keys may also be a `[services.NAME.lazy]` table.
    pub name: &'static str,
    /// Which services take it.
    pub applies: Applies,
    /// How the value is read and what it accepts.
    pub value: ValueKind,
    /// The default, as the README shows it.
    pub default: &'static str,
    /// What it means, one line.
    pub doc: &'static str,
    /// Whether a deployment may change it: in an overlay, through
    /// `Overrides`, or with `${VAR}` interpolation. The others make the
    /// topology, which is fixed at compile time.
    pub overridable: bool,
    /// Also accepted without the `lazy.` prefix (as the seed writes it).
    pub also_top_level: bool,
}

const fn key(
    name: &'static str,
    applies: Applies,
    value: ValueKind,
    default: &'static str,
    doc: &'static str,
    overridable: bool,
) -> Key {
    Key {
        name,
        applies,
        value,
        default,
        doc,
        overridable,
        also_top_level: false,
    }
}

/// `framing` values.
pub(crate) const FRAMINGS: &[&str] = &["length_prefixed", "raw"];
/// `type` values.
pub(crate) const TYPES: &[&str] = &["relay", "direct", "composite"];
/// `pattern` values.
pub(crate) const PATTERNS: &[&str] = &["fanout", "round_robin", "failover"];
/// `domain` values.
pub(crate) const DOMAINS: &[&str] = &["market_data", "signals", "execution"];
/// `precision_context` values.
pub(crate) const PRECISION_CONTEXTS: &[&str] = &["dex_token", "traditional_exchange", "mixed"];

/// Every key, in the order the README lists them.
pub const KEYS: &[Key] = &[
    key(
        "type",
        Applies::All,
        ValueKind::Choice(TYPES),
        "required",
        "what the service is",
        false,
    ),
    key(
        "endpoint",
        Applies::Leaf,
        ValueKind::Text,
        "required",
        "where to connect, see Endpoints",
        true,
    ),
    key(
        "buffer_size",
        Applies::Leaf,
        ValueKind::Integer {
            min: MIN_BUFFER_SIZE,
            max: MAX_BUFFER_SIZE,
        },
        "10000",
        "how many accepted messages may wait to be written; `send` waits for room, `try_send` fails with `BufferFull`",
        true,
    ),
    key(
        "max_message_bytes",
        Applies::Leaf,
        ValueKind::Integer {
            min: MIN_MESSAGE_BYTES,
            max: MAX_MESSAGE_BYTES,
        },
        "16777216 (16 MiB)",
        "the largest payload a send accepts (the u32 length prefix's limit at most)",
        true,
    ),
    key(
        "framing",
        Applies::ByteStream,
        ValueKind::Choice(FRAMINGS),
        "`\"length_prefixed\"`",
        "how messages are delimited on a byte stream, see Wire format; WebSocket has its own frames",
        true,
    ),
    Key {
        also_top_level: true,
        ..key(
            "lazy.max_retries",
            Applies::Leaf,
            ValueKind::Integer {
                min: 0,
                max: MAX_RETRIES,
            },
            "3",
            "connect attempts after the first one (also accepted as `max_retries`, not both)",
            true,
        )
    },
    Key {
        also_top_level: true,
        ..key(
            "lazy.retry_delay_ms",
            Applies::Leaf,
            ValueKind::Integer {
                min: 0,
                max: MAX_RETRY_DELAY_MS,
            },
            "100",
            "pause before the first retry, in milliseconds (also `retry_delay_ms`)",
            true,
        )
    },
    key(
        "lazy.backoff_multiplier",
        Applies::Leaf,
        ValueKind::Number {
            min: MIN_BACKOFF_MULTIPLIER,
            max: MAX_BACKOFF_MULTIPLIER,
        },
        "2.0",
        "growth of the pause per retry",
        true,
    ),
    key(
        "lazy.max_retry_delay_secs",
        Applies::Leaf,
        ValueKind::Seconds,
        "5",
        "the longest pause between attempts",
        true,
    ),
    key(
        "lazy.connect_timeout_secs",
        Applies::Leaf,
        ValueKind::Seconds,
        "5",
        "the bound on one connect attempt",
        true,
    ),
    key(
        "lazy.auto_reconnect",
        Applies::Leaf,
        ValueKind::Boolean,
        "true",
        "reconnect by itself when an established connection drops",
        true,
    ),
    key(
        "lazy.wait_timeout_secs",
        Applies::Leaf,
        ValueKind::Seconds,
        "30",
        "the longest `send`, `flush`, `connect` or `disconnect` waits (for room, or for a connect in progress, whichever bound is larger) before `Timeout`",
        true,
    ),
    key(
        "tls_ca_file",
        Applies::SecureWebSocket,
        ValueKind::Text,
        "none",
        "a PEM file of CA certificates to trust besides the web roots; relative to the config file, read and embedded at compile time",
        true,
    ),
    key(
        "jetstream",
        Applies::Nats,
        ValueKind::Boolean,
        "false",
        "publish with JetStream acknowledgements and `Nats-Msg-Id` de-duplication, see Beyond one machine",
        true,
    ),
    key(
        "jetstream_max_in_flight",
        Applies::JetStream,
        ValueKind::Integer {
            min: MIN_JETSTREAM_IN_FLIGHT,
            max: MAX_JETSTREAM_IN_FLIGHT,
        },
        "256",
        "how many publishes may await their acknowledgement at once",
        true,
    ),
    key(
        "pattern",
        Applies::Composite,
        ValueKind::Choice(PATTERNS),
        "required",
        "how messages are spread over the targets",
        false,
    ),
    key(
        "targets",
        Applies::Composite,
        ValueKind::Names,
        "required",
        "the services it sends through, in order (no duplicates, no cycles)",
        false,
    ),
    key(
        "domain",
        Applies::All,
        ValueKind::Choice(DOMAINS),
        "none",
        "the Protocol V2 TLV domain: market_data (TLV types 1-19), signals (20-39), execution (40-79); a message with another TLV type is refused",
        false,
    ),
    key(
        "precision_context",
        Applies::All,
        ValueKind::Choice(PRECISION_CONTEXTS),
        "none",
        "how prices are scaled downstream",
        false,
    ),
    key(
        "metadata",
        Applies::All,
        ValueKind::StringTable,
        "empty",
        "free-form strings, shown in the rustdoc and in `SinkMetadata::labels`",
        true,
    ),
];

/// The key called `name` (`lazy.x`, or `x` for a key also accepted at the top level).
pub fn find_key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| {
        key.name == name || (key.also_top_level && key.name.strip_prefix("lazy.") == Some(name))
    })
}

/// The names a service table takes at its top level, for suggestions.
pub(crate) fn top_level_names() -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .filter_map(|key| match key.name.strip_prefix("lazy.") {
            Some(rest) if key.also_top_level => Some(rest),
            Some(_) => None,
            None => Some(key.name),
        })
        .chain(std::iter::once("lazy"))
}

/// The names a `lazy` table takes, without the prefix.
pub(crate) fn lazy_names() -> impl Iterator<Item = &'static str> {
    KEYS.iter().filter_map(|key| key.name.strip_prefix("lazy."))
}

/// The README's key table, rendered from [`KEYS`].
pub fn markdown_table() -> String {
    let mut table = String::from(
        "| key | applies to | value | meaning | default | deploy-time |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for key in KEYS {
        let _ = writeln!(
            table,
            "| `{}` | {} | {} | {} | {} | {} |",
            key.name,
            key.applies.as_str(),
            key.value.expected(),
            key.doc,
            key.default,
            if key.overridable {
                "yes"
            } else {
                "no, fixed at compile time"
            }
        );
    }
    table
}
