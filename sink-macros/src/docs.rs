//! The rustdoc of the generated struct and accessors: what an editor shows
//! on hover. Endpoints are shown without credentials.

use sink_runtime::config::{KEYS, ServiceConfig, ServiceKind, ServicesConfig};

pub(crate) fn structure(name: &syn::Ident, file: &str, config: &ServicesConfig) -> String {
    let mut doc = format!(
        "The sinks of `{file}`, checked at compile time by `include_sinks!`.\n\n\
         `{name}::new()` does no I/O: each sink connects on its first send. \
         Cloning is cheap and shares the sinks.\n\n| service | type | sends to |\n| --- | --- | --- |\n"
    );
    for service in config.services() {
        doc.push_str(&format!(
            "| `{}` | {} | {} |\n",
            service.name,
            service.kind.type_name(),
            destination(service)
        ));
    }
    doc
}

pub(crate) fn accessor(service: &ServiceConfig, file: &str) -> String {
    let location = format!("Defined at `{file}:{}`.", service.location.line);
    let pending = if service.unresolved.is_some() {
        "\n\nNeeds a variable without a default: `new()` gives a sink that refuses every send; build with `from_env()` or `with_overrides(..)`."
    } else {
        ""
    };
    match &service.kind {
        ServiceKind::Relay(leaf) | ServiceKind::Direct(leaf) => {
            // Every setting the schema has, with the value this service runs with.
            let settings: Vec<String> = KEYS
                .iter()
                .filter(|key| key.name != "endpoint")
                .filter_map(|key| Some(format!("`{}` {}", key.name, leaf.setting(key.name)?)))
                .collect();
            format!(
                "**{}** `{}`: sends to `{}`.\n\n{}.{pending}\n\n{location}",
                service.kind.type_name(),
                service.name,
                leaf.endpoint(),
                settings.join(", "),
            )
        }
        _ => format!(
            "**composite** `{}`: {}.{}\n\n{location}",
            service.name,
            destination(service),
            metadata(service),
        ),
    }
}

/// `domain` and `metadata` of a composite.
fn metadata(service: &ServiceConfig) -> String {
    let mut shown = String::new();
    if let Some(domain) = service.domain {
        shown.push_str(&format!(" Domain `{domain}`."));
    }
    for (name, value) in &service.metadata {
        shown.push_str(&format!(" `{name}` = {value:?}."));
    }
    shown
}

fn destination(service: &ServiceConfig) -> String {
    match &service.kind {
        ServiceKind::Relay(leaf) | ServiceKind::Direct(leaf) => format!("`{}`", leaf.endpoint()),
        ServiceKind::Composite(composite) => {
            let targets: Vec<String> = composite
                .targets
                .iter()
                .map(|target| format!("`{target}`"))
                .collect();
            format!("{} over {}", composite.pattern.as_str(), targets.join(", "))
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use sink_runtime::config::parse_config;

    use super::*;

    const CONFIG: &str = r#"
[services.feed]
type = "direct"
endpoint = "wss://trader:hunter2@feed.example:443/stream"
buffer_size = 64
max_retries = 7

[services.all]
type = "composite"
pattern = "round_robin"
targets = ["feed"]
"#;

    #[test]
    fn hover_docs_show_the_endpoint_without_credentials() {
        let config = parse_config(CONFIG, None).expect("a valid config");
        let feed = config.get("feed").expect("defined");
        let doc = accessor(feed, "services.toml");
        assert!(doc.contains("**direct** `feed`"), "{doc}");
        assert!(doc.contains("wss://***@feed.example:443/stream"), "{doc}");
        assert!(doc.contains("`buffer_size` 64"), "{doc}");
        assert!(doc.contains("`lazy.max_retries` 7"), "{doc}");
        assert!(!doc.contains("framing"), "no framing on a WebSocket: {doc}");
        assert!(doc.contains("`services.toml:2`"), "{doc}");
        let all = accessor(config.get("all").expect("defined"), "services.toml");
        assert!(all.contains("round_robin over `feed`"), "{all}");
        let table = structure(&quote::format_ident!("Sinks"), "services.toml", &config);
        for doc in [&doc, &all, &table] {
            assert!(!doc.contains("hunter2") && !doc.contains("trader"), "{doc}");
        }
    }
}
