//! Validation through the runtime's config module, then code generation.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote};
use sink_runtime::config::{
    CompositeConfig, Endpoint, Framing, LeafConfig, RetryPolicy, ServiceConfig, ServiceKind,
    ServicesConfig, parse_config,
};

use crate::docs;
use crate::fallback::fallback;
use crate::input::MacroInput;
use crate::load::load;

/// The whole expansion: errors (with a stand-in) or the generated struct.
pub(crate) fn expand(input: &MacroInput) -> TokenStream {
    let span = input.path.span();
    let written = input.path.value();
    let loaded = match load(&written) {
        Ok(loaded) => loaded,
        Err(message) => {
            return fallback(&input.struct_name, syn::Error::new(span, message), None);
        }
    };
    // The very parser and validator `SinkFactory` runs at start-up: one
    // verdict and the same messages at compile time and at run time.
    let config = match parse_config(&loaded.source, Some(&loaded.absolute)) {
        Ok(config) => config,
        Err(mut errors) => {
            // Messages name the file as the user wrote it, not where it
            // happens to be on this machine.
            errors.file = Some(written);
            let mut combined: Option<syn::Error> = None;
            for error in &errors {
                let error = syn::Error::new(span, errors.render(error));
                match &mut combined {
                    Some(all) => all.combine(error),
                    None => combined = Some(error),
                }
            }
            let combined =
                combined.unwrap_or_else(|| syn::Error::new(span, "the sinks config was rejected"));
            return fallback(&input.struct_name, combined, Some(&loaded.source));
        }
    };
    let watched = loaded.absolute.to_string_lossy().into_owned();
    generate(input, &written, &watched, &config)
}

fn generate(
    input: &MacroInput,
    written: &str,
    watched: &str,
    config: &ServicesConfig,
) -> TokenStream {
    let name = &input.struct_name;
    let name_text = name.to_string();
    // Each service's place among the built endpoints or composites: leaves
    // and composites each in construction order.
    let mut places: HashMap<&str, (bool, usize)> = HashMap::new();
    let (mut leaves, mut composites) = (Vec::new(), Vec::new());
    for service in construction_order(config) {
        match &service.kind {
            ServiceKind::Composite(composite) => {
                let spec = composite_spec(&service.name, composite, &places);
                places.insert(&service.name, (true, composites.len()));
                composites.push(spec);
            }
            ServiceKind::Relay(leaf) | ServiceKind::Direct(leaf) => {
                let relay = matches!(service.kind, ServiceKind::Relay(_));
                places.insert(&service.name, (false, leaves.len()));
                leaves.push(leaf_spec(&service.name, relay, leaf));
            }
            _ => {}
        }
    }
    let accessors = config.services().iter().map(|service| {
        let ident = format_ident!("{}", service.name);
        let doc = docs::accessor(service, written);
        let (composite, index) = places[service.name.as_str()];
        let (ty, field) = if composite {
            (quote!(::sinks::CompositeSink), quote!(composites))
        } else {
            (quote!(::sinks::EndpointSink), quote!(endpoints))
        };
        quote! {
            #[doc = #doc]
            pub fn #ident(&self) -> &#ty {
                &self.inner.#field[#index]
            }
        }
    });
    let names: Vec<&str> = config.names().collect();
    let mut sorted: Vec<&str> = names.clone();
    sorted.sort_unstable();
    let by_name = sorted.iter().map(|service| {
        let place = sink_ref(places[service]);
        quote!((#service, #place))
    });
    let struct_doc = docs::structure(name, written, config);

    quote! {
        #[doc = #struct_doc]
        #[derive(Clone, Debug)]
        pub struct #name {
            inner: ::sinks::__private::Arc<::sinks::__private::Built>,
        }

        // Makes the compiler watch the config file: editing it reruns the macro.
        const _: &str = ::core::include_str!(#watched);

        impl #name {
            /// The service names, in the order the config defines them.
            pub const SERVICES: &'static [&'static str] = &[#(#names),*];

            #[doc(hidden)]
            const __LEAVES: &'static [::sinks::__private::LeafSpec] = &[#(#leaves),*];

            #[doc(hidden)]
            const __COMPOSITES: &'static [::sinks::__private::CompositeSpec] = &[#(#composites),*];

            #[doc(hidden)]
            const __BY_NAME: &'static [(&'static str, ::sinks::__private::SinkRef)] = &[#(#by_name),*];

            /// Builds every sink. No I/O, nothing spawned: each sink
            /// connects on its first send.
            pub fn new() -> Self {
                Self {
                    inner: ::sinks::__private::Arc::new(::sinks::__private::build(Self::__LEAVES, Self::__COMPOSITES)),
                }
            }

            #( #accessors )*

            /// The sink of the service called `name`, for names known only at run time.
            pub fn get(&self, name: &str) -> ::core::option::Option<::sinks::__private::Arc<dyn ::sinks::MessageSink>> {
                self.inner.find(Self::__BY_NAME, name)
            }

            /// Flushes every relay and direct sink at once; the error names each that failed.
            pub async fn flush_all(&self) -> ::core::result::Result<(), ::sinks::SinkError> {
                self.inner.flush_all(#name_text).await
            }

            /// Writes what is queued and closes every connection; the error names each that failed.
            pub async fn disconnect_all(&self) -> ::core::result::Result<(), ::sinks::SinkError> {
                self.inner.disconnect_all(#name_text).await
            }
        }

        impl ::core::default::Default for #name {
            fn default() -> Self {
                Self::new()
            }
        }
    }
}

fn sink_ref((composite, index): (bool, usize)) -> TokenStream {
    if composite {
        quote!(::sinks::__private::SinkRef::Composite(#index))
    } else {
        quote!(::sinks::__private::SinkRef::Endpoint(#index))
    }
}

/// Leaves in file order, then composites after all their targets, so each
/// composite is built from the very `Arc`s of its targets.
fn construction_order(config: &ServicesConfig) -> Vec<&ServiceConfig> {
    let by_name: HashMap<&str, &ServiceConfig> = config
        .services()
        .iter()
        .map(|service| (service.name.as_str(), service))
        .collect();
    let mut built: HashSet<&str> = HashSet::new();
    let mut order: Vec<&ServiceConfig> = Vec::new();
    fn visit<'a>(
        service: &'a ServiceConfig,
        by_name: &HashMap<&str, &'a ServiceConfig>,
        built: &mut HashSet<&'a str>,
        order: &mut Vec<&'a ServiceConfig>,
    ) {
        if !built.insert(service.name.as_str()) {
            return;
        }
        if let ServiceKind::Composite(composite) = &service.kind {
            for target in &composite.targets {
                // The validator guarantees every target exists and there is no cycle.
                if let Some(target) = by_name.get(target.as_str()) {
                    visit(target, by_name, built, order);
                }
            }
        }
        order.push(service);
    }
    for service in config.services() {
        visit(service, &by_name, &mut built, &mut order);
    }
    order
}

fn composite_spec(
    name: &str,
    composite: &CompositeConfig,
    places: &HashMap<&str, (bool, usize)>,
) -> TokenStream {
    let pattern = format_ident!(
        "{}",
        match composite.pattern.as_str() {
            "fanout" => "Fanout",
            "round_robin" => "RoundRobin",
            _ => "Failover",
        }
    );
    // The construction order puts every target before its composite.
    let targets = composite
        .targets
        .iter()
        .map(|target| sink_ref(places[target.as_str()]));
    quote! {
        ::sinks::__private::CompositeSpec {
            name: #name,
            pattern: ::sinks::__private::CompositePattern::#pattern,
            targets: &[#(#targets),*],
        }
    }
}

fn leaf_spec(name: &str, relay: bool, leaf: &LeafConfig) -> TokenStream {
    let endpoint = endpoint_spec(&leaf.endpoint);
    // Defaults are left to the runtime, so a large config stays a small table.
    let settings = if *leaf == LeafConfig::new(leaf.endpoint.clone()) {
        quote!(::core::option::Option::None)
    } else {
        let buffer_size = leaf.buffer_size;
        let max_message_bytes = leaf.max_message_bytes;
        let raw_framing = leaf.framing == Framing::Raw;
        let retry: &RetryPolicy = &leaf.retry;
        let max_retries = retry.max_retries;
        let retry_delay = nanos(retry.retry_delay);
        let backoff = Literal::f64_suffixed(retry.backoff_multiplier);
        let max_retry_delay = nanos(retry.max_retry_delay);
        let auto_reconnect = retry.auto_reconnect;
        let connect_timeout = nanos(retry.connect_timeout);
        let wait_timeout = nanos(retry.wait_timeout);
        let tls_ca_file = match &leaf.tls_ca_file {
            Some(path) => {
                let path = path.to_string_lossy().into_owned();
                quote!(::core::option::Option::Some(#path))
            }
            None => quote!(::core::option::Option::None),
        };
        quote! {
            ::core::option::Option::Some(::sinks::__private::SettingsSpec {
                buffer_size: #buffer_size,
                max_message_bytes: #max_message_bytes,
                raw_framing: #raw_framing,
                max_retries: #max_retries,
                retry_delay_ns: #retry_delay,
                backoff_multiplier: #backoff,
                max_retry_delay_ns: #max_retry_delay,
                auto_reconnect: #auto_reconnect,
                connect_timeout_ns: #connect_timeout,
                wait_timeout_ns: #wait_timeout,
                tls_ca_file: #tls_ca_file,
            })
        }
    };
    quote! {
        ::sinks::__private::LeafSpec { name: #name, relay: #relay, endpoint: #endpoint, settings: #settings }
    }
}

fn nanos(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

fn endpoint_spec(endpoint: &Endpoint) -> TokenStream {
    match endpoint {
        Endpoint::Unix(path) => {
            let path = path.to_string_lossy().into_owned();
            quote!(::sinks::__private::EndpointSpec::Unix(#path))
        }
        Endpoint::Tcp { host, port } => quote!(::sinks::__private::EndpointSpec::Tcp(#host, #port)),
        Endpoint::WebSocket(ws) => {
            let (secure, host, port, path) = (ws.secure, &ws.host, ws.port, &ws.path);
            let credentials = match &ws.credentials {
                Some(credentials) => quote!(::core::option::Option::Some(#credentials)),
                None => quote!(::core::option::Option::None),
            };
            quote! {
                ::sinks::__private::EndpointSpec::WebSocket {
                    secure: #secure, host: #host, port: #port, path: #path, credentials: #credentials,
                }
            }
        }
        _ => syn::Error::new(
            Span::call_site(),
            "include_sinks! does not know this kind of endpoint",
        )
        .to_compile_error(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A config of `count` services: relays, each fourth one a fanout over
    /// the three before it.
    fn config_text(count: usize) -> String {
        let mut text = String::new();
        for index in 0..count {
            if index % 4 == 3 {
                text.push_str(&format!(
                    "[services.s{index}]\ntype = \"composite\"\npattern = \"fanout\"\ntargets = [\"s{}\", \"s{}\", \"s{}\"]\n\n",
                    index - 3,
                    index - 2,
                    index - 1
                ));
            } else {
                text.push_str(&format!(
                    "[services.s{index}]\ntype = \"relay\"\nendpoint = \"/tmp/sinks/s{index}.sock\"\nbuffer_size = 1000\n\n"
                ));
            }
        }
        text
    }

    /// Measures parse + validate + generate for 10, 100 and 1,000 services
    /// and prints the figures; speed is for BENCHMARKS.md, not asserted.
    /// `cargo test --release -p sink-macros expansion_time -- --nocapture`
    #[test]
    fn expansion_time() {
        let input = MacroInput {
            path: syn::LitStr::new("services.toml", Span::call_site()),
            struct_name: format_ident!("Sinks"),
        };
        for count in [10, 100, 1_000] {
            let text = config_text(count);
            let runs = 5;
            let mut best = f64::MAX;
            let mut tokens = 0;
            for _ in 0..runs {
                let started = Instant::now();
                let config = parse_config(&text, None).expect("generated config is valid");
                let expanded =
                    generate(&input, "services.toml", "/tmp/services.toml", &config).to_string();
                best = best.min(started.elapsed().as_secs_f64());
                tokens = expanded.len();
                assert!(expanded.contains(&format!("pub fn s{}", count - 1)));
            }
            println!(
                "expansion of {count} services: {:.2} ms (best of {runs}), {tokens} bytes of code",
                best * 1e3
            );
        }
    }
}
