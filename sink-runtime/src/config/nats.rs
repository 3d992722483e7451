//! `nats://[user:password@|token@]host[:port][,host:port...]/subject`: a NATS
//! subject on one server or a cluster given by its seed servers.
//!
//! Parsed here, with the rest of the config, without tokio or the NATS
//! client, so that `include_sinks!` accepts or rejects it as the runtime does.

use std::fmt;

use super::endpoint::{EndpointError, authority};

/// The port a NATS server listens on when the endpoint names none.
pub const DEFAULT_NATS_PORT: u16 = 4222;

/// A `nats://` endpoint: where to connect and which subject to publish on.
/// Made by parsing (`"nats://...".parse::<Endpoint>()`); the fields can be
/// read but, outside this crate, not set.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NatsEndpoint {
    /// The seed servers, `(host, port)`, in the order written; several mean a
    /// cluster (the client also learns the other members from the servers).
    pub servers: Vec<(String, u16)>,
    /// The subject every message is published on; never a wildcard.
    pub subject: String,
    /// Credentials from the endpoint; never shown.
    pub auth: Option<NatsAuth>,
}

/// How a NATS client authenticates, from the endpoint's `...@`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NatsAuth {
    /// `user:password@`.
    UserPassword {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// `token@`.
    Token(String),
}

impl NatsEndpoint {
    /// The server URLs as the NATS client takes them, without credentials.
    pub fn server_urls(&self) -> Vec<String> {
        self.servers
            .iter()
            .map(|(host, port)| format!("nats://{}:{port}", bracketed(host)))
            .collect()
    }

    /// Parses what follows `nats://`.
    pub(super) fn parse(rest: &str) -> Result<NatsEndpoint, EndpointError> {
        let Some((authority_part, subject)) = rest.split_once('/') else {
            return Err(problem(
                "a nats:// endpoint needs a subject after the servers",
                "write it as `nats://host:4222/subject`, e.g. `nats://127.0.0.1:4222/orders.new`",
            ));
        };
        // Credentials end at the last `@` before the subject.
        let (userinfo, hosts) = match authority_part.rfind('@') {
            Some(at) => (Some(&authority_part[..at]), &authority_part[at + 1..]),
            None => (None, authority_part),
        };
        let auth = userinfo.map(parse_auth).transpose()?;
        let mut servers = Vec::new();
        for host in hosts.split(',') {
            if host.is_empty() {
                return Err(problem(
                    "the server list of the nats:// endpoint has an empty entry",
                    "separate servers with single commas, e.g. `nats://a:4222,b:4222/subject`",
                ));
            }
            let (host, port, after) = authority(host, Some(DEFAULT_NATS_PORT))?;
            if !after.is_empty() {
                return Err(problem(
                    format!("unexpected {after:?} after the host {host:?}"),
                    "write it as `nats://host:4222/subject`",
                ));
            }
            servers.push((host, port));
        }
        check_subject(subject)?;
        Ok(NatsEndpoint {
            servers,
            subject: subject.to_owned(),
            auth,
        })
    }
}

fn parse_auth(userinfo: &str) -> Result<NatsAuth, EndpointError> {
    // The messages never echo the credentials.
    match userinfo.split_once(':') {
        Some(("", _)) => Err(problem(
            "the nats:// endpoint has a password but no user before `:`",
            "write `user:password@`, or `token@` for a token",
        )),
        Some((user, password)) => Ok(NatsAuth::UserPassword {
            user: user.to_owned(),
            password: password.to_owned(),
        }),
        None if userinfo.is_empty() => Err(problem(
            "the nats:// endpoint has an empty `@` part",
            "write `user:password@` or `token@`, or remove the `@`",
        )),
        None => Ok(NatsAuth::Token(userinfo.to_owned())),
    }
}

/// A subject to publish on: dot-separated tokens, none empty, no whitespace,
/// and no wildcard (a publisher names one subject; `*` and `>` only make
/// sense in subscriptions).
fn check_subject(subject: &str) -> Result<(), EndpointError> {
    const HELP: &str =
        "write a subject such as `orders.new`: dot-separated names without spaces or wildcards";
    if subject.is_empty() {
        return Err(problem("the nats:// endpoint has an empty subject", HELP));
    }
    if let Some(bad) = subject
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        return Err(problem(
            format!("the subject {subject:?} contains {bad:?}"),
            HELP,
        ));
    }
    if subject.contains(['*', '>']) {
        return Err(problem(
            format!("the subject {subject:?} contains a wildcard (`*` or `>`)"),
            "a sink publishes on one subject; name it in full, e.g. `orders.new`",
        ));
    }
    if subject.split('.').any(str::is_empty) {
        return Err(problem(
            format!(
                "the subject {subject:?} has an empty token (a leading, trailing or double `.`)"
            ),
            HELP,
        ));
    }
    Ok(())
}

fn problem(message: impl Into<String>, help: impl Into<String>) -> EndpointError {
    EndpointError {
        message: message.into(),
        help: Some(help.into()),
    }
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Shows the endpoint with credentials as `***@`, as for `ws://`.
impl fmt::Display for NatsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nats://")?;
        if self.auth.is_some() {
            f.write_str("***@")?;
        }
        for (index, (host, port)) in self.servers.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}:{port}", bracketed(host))?;
        }
        write!(f, "/{}", self.subject)
    }
}

/// Shows the endpoint as Display does, so credentials never reach a log.
impl fmt::Debug for NatsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NatsEndpoint({self})")
    }
}

/// Never shows the secret.
impl fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NatsAuth::UserPassword { user, .. } => write!(f, "UserPassword({user:?}, ***)"),
            NatsAuth::Token(_) => f.write_str("Token(***)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NatsEndpoint, EndpointError> {
        NatsEndpoint::parse(text.strip_prefix("nats://").unwrap_or(text))
    }

    #[test]
    fn parses_servers_port_default_and_subject() {
        let endpoint = parse("nats://a:1,b,[::1]:3/orders.new").unwrap();
        assert_eq!(
            endpoint.servers,
            vec![
                ("a".to_owned(), 1),
                ("b".to_owned(), DEFAULT_NATS_PORT),
                ("::1".to_owned(), 3)
            ]
        );
        assert_eq!(endpoint.subject, "orders.new");
        assert_eq!(endpoint.auth, None);
        assert_eq!(endpoint.to_string(), "nats://a:1,b:4222,[::1]:3/orders.new");
    }

    #[test]
    fn reads_credentials_and_never_shows_them() {
        let endpoint = parse("nats://alice:s3cret@h/x").unwrap();
        assert_eq!(
            endpoint.auth,
            Some(NatsAuth::UserPassword {
                user: "alice".into(),
                password: "s3cret".into()
            })
        );
        let token = parse("nats://t0ken@h/x").unwrap();
        assert_eq!(token.auth, Some(NatsAuth::Token("t0ken".into())));
        for shown in [
            endpoint.to_string(),
            format!("{endpoint:?}"),
            format!("{token} {token:?}"),
        ] {
            assert!(
                !shown.contains("s3cret") && !shown.contains("t0ken"),
                "{shown}"
            );
            assert!(shown.contains("***@"), "{shown}");
        }
    }

    fn config_errors(source: &str) -> String {
        match super::super::parse_config(source, None) {
            Ok(_) => String::new(),
            Err(errors) => errors.to_string(),
        }
    }

    #[test]
    fn jetstream_keys_apply_to_nats_endpoints_only() {
        let config = super::super::parse_config(
            "[services.s]\ntype = \"direct\"\nendpoint = \"nats://h/x\"\njetstream = true\njetstream_max_in_flight = 8\n",
            None,
        )
        .unwrap();
        let crate::config::ServiceKind::Direct(leaf) = &config.services()[0].kind else {
            panic!("a direct service");
        };
        assert!(leaf.jetstream);
        assert_eq!(leaf.jetstream_max_in_flight, 8);
        for (source, needle) in [
            (
                "endpoint = \"tcp://h:1\"\njetstream = true",
                "key `jetstream`: `jetstream` only applies to a `nats://` endpoint; remove it, or use a `nats://host:4222/subject` endpoint",
            ),
            (
                "endpoint = \"nats://h/x\"\njetstream = \"yes\"",
                "key `jetstream`: expected a boolean, found a string",
            ),
            (
                "endpoint = \"nats://h/x\"\njetstream_max_in_flight = 8",
                "`jetstream_max_in_flight` only applies with `jetstream = true`",
            ),
            (
                "endpoint = \"nats://h/x\"\njetstream = true\njetstream_max_in_flight = 0",
                "`jetstream_max_in_flight` is 0; use a whole number from 1 to 65536",
            ),
            (
                "endpoint = \"nats://h/x\"\njetstream = true\njetstream_max_in_flight = 65537",
                "`jetstream_max_in_flight` is 65537; use a whole number from 1 to 65536",
            ),
        ] {
            let errors = config_errors(&format!("[services.s]\ntype = \"direct\"\n{source}\n"));
            assert!(errors.contains(needle), "{source}: {errors}");
        }
        let relay = config_errors("[services.r]\ntype = \"relay\"\nendpoint = \"nats://h/x\"\n");
        assert!(
            relay.contains("a relay connects over a Unix socket"),
            "{relay}"
        );
    }

    fn leaf_of(config: &crate::config::ServicesConfig, name: &str) -> crate::config::LeafConfig {
        match &config.get(name).expect("the service").kind {
            crate::config::ServiceKind::Direct(leaf) => leaf.clone(),
            other => panic!("not a direct service: {other:?}"),
        }
    }

    #[test]
    fn variables_and_overlays_set_nats_endpoints_without_echoing_credentials() {
        use crate::config::{Overrides, ServicesConfig};
        let source = "[services.s]\ntype = \"direct\"\nendpoint = \"nats://${NATS_AUTH}@${NATS_HOST:-h}/orders.new\"\njetstream = true\n\n[services.t]\ntype = \"direct\"\nendpoint = \"tcp://h:1\"\n";
        let overrides = Overrides::new()
            .var("NATS_AUTH", "alice:s3cret")
            .var("NATS_HOST", "10.0.0.1:4333")
            // An overlay may move a socket sink onto NATS, with JetStream.
            .overlay_str("[services.t]\nendpoint = \"nats://t0ken@n1,n2:4223/t.x\"\njetstream = true\njetstream_max_in_flight = 4\n");
        let config = ServicesConfig::from_toml_str_with(source, &overrides).unwrap();
        let s = leaf_of(&config, "s");
        let crate::config::Endpoint::Nats(nats) = &s.endpoint else {
            panic!("a nats endpoint: {:?}", s.endpoint);
        };
        assert_eq!(nats.servers, vec![("10.0.0.1".to_owned(), 4333)]);
        assert!(matches!(&nats.auth, Some(NatsAuth::UserPassword { user, .. }) if user == "alice"));
        let t = leaf_of(&config, "t");
        assert_eq!(t.endpoint.to_string(), "nats://***@n1:4222,n2:4223/t.x");
        assert!(t.jetstream);
        assert_eq!(t.jetstream_max_in_flight, 4);
        assert_eq!(t.setting("jetstream_max_in_flight").as_deref(), Some("4"));

        // A variable that makes a bad endpoint is reported without the secret.
        let overrides = Overrides::new()
            .var("NATS_AUTH", "alice:s3cret")
            .var("NATS_HOST", "h/orders.*");
        let errors = ServicesConfig::from_toml_str_with(source, &overrides)
            .unwrap_err()
            .to_string();
        assert!(errors.contains("wildcard"), "{errors}");
        assert!(!errors.contains("s3cret"), "{errors}");
        // An overlay that sets `jetstream` on a socket endpoint is refused.
        let overrides = Overrides::new()
            .var("NATS_AUTH", "a:b")
            .overlay_str("[services.t]\njetstream = true\n");
        let errors = ServicesConfig::from_toml_str_with(source, &overrides)
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains("`jetstream` only applies to a `nats://` endpoint"),
            "{errors}"
        );
    }

    #[test]
    fn rejects_bad_subjects_and_server_lists() {
        for (text, needle) in [
            ("nats://h:4222", "needs a subject"),
            ("nats://h/", "empty subject"),
            ("nats://h/orders.*", "wildcard"),
            ("nats://h/orders.>", "wildcard"),
            ("nats://h/a..b", "empty token"),
            ("nats://h/a b", "contains ' '"),
            ("nats://a,,b/x", "empty entry"),
            ("nats://h:0/x", "not a number"),
            ("nats://:pw@h/x", "no user"),
            ("nats://@h/x", "empty `@`"),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(needle), "{text}: {error}");
            assert!(!error.contains("pw"), "{text}: {error}");
        }
    }
}
