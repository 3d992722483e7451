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
        Err(message) => return fallback(&input.struct_name, syn::Error::new(span, message)),
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
            return fallback(&input.struct_name, combined);
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
    let inner = format_ident!("__{}Services", name);
    let services = config.services();
    let names: Vec<&str> = services
        .iter()
        .map(|service| service.name.as_str())
        .collect();
    let idents: Vec<syn::Ident> = names
        .iter()
        .map(|service| format_ident!("{}", service))
        .collect();
    let field_types = services.iter().map(sink_type);
    let constructors = construction_order(config).into_iter().map(|service| {
        let ident = format_ident!("{}", service.name);
        let value = constructor(service);
        quote! { let #ident = ::sinks::__private::Arc::new(#value); }
    });
    let accessors = services.iter().map(|service| {
        let ident = format_ident!("{}", service.name);
        let ty = sink_type(service);
        let doc = docs::accessor(service, written);
        quote! {
            #[doc = #doc]
            pub fn #ident(&self) -> &#ty {
                &self.inner.#ident
            }
        }
    });
    let leaves: Vec<(&str, syn::Ident)> = services
        .iter()
        .filter(|service| !matches!(service.kind, ServiceKind::Composite(_)))
        .map(|service| (service.name.as_str(), format_ident!("{}", service.name)))
        .collect();
    let leaf_names = leaves.iter().map(|(name, _)| *name);
    let leaf_idents: Vec<&syn::Ident> = leaves.iter().map(|(_, ident)| ident).collect();
    let leaf_names_again = leaf_names.clone();
    let struct_doc = docs::structure(name, written, config);
    let name_text = name.to_string();

    quote! {
        #[doc = #struct_doc]
        #[derive(Clone)]
        pub struct #name {
            inner: ::sinks::__private::Arc<#inner>,
        }

        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        struct #inner {
            #( #idents: ::sinks::__private::Arc<#field_types>, )*
        }

        // Makes the compiler watch the config file: editing it reruns the macro.
        const _: &str = ::core::include_str!(#watched);

        impl #name {
            /// The service names, in the order the config defines them.
            pub const SERVICES: &'static [&'static str] = &[#(#names),*];

            /// Builds every sink. No I/O, nothing spawned: each sink
            /// connects on its first send.
            pub fn new() -> Self {
                #( #constructors )*
                Self {
                    inner: ::sinks::__private::Arc::new(#inner { #(#idents),* }),
                }
            }

            #( #accessors )*

            /// The sink of the service called `name`, for names known only at run time.
            pub fn get(&self, name: &str) -> ::core::option::Option<::sinks::__private::Arc<dyn ::sinks::MessageSink>> {
                match name {
                    #( #names => ::core::option::Option::Some(self.inner.#idents.clone()), )*
                    _ => ::core::option::Option::None,
                }
            }

            /// Flushes every relay and direct sink at once; the error names each that failed.
            pub async fn flush_all(&self) -> ::core::result::Result<(), ::sinks::SinkError> {
                let sinks: &[(&str, &dyn ::sinks::MessageSink)] = &[#( (#leaf_names, &*self.inner.#leaf_idents), )*];
                ::sinks::__private::flush_all(#name_text, sinks).await
            }

            /// Writes what is queued and closes every connection; the error names each that failed.
            pub async fn disconnect_all(&self) -> ::core::result::Result<(), ::sinks::SinkError> {
                let sinks: &[(&str, &dyn ::sinks::MessageSink)] = &[#( (#leaf_names_again, &*self.inner.#leaf_idents), )*];
                ::sinks::__private::disconnect_all(#name_text, sinks).await
            }
        }

        impl ::core::default::Default for #name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name_text)
                    #( .field(#names, &*self.inner.#idents) )*
                    .finish()
            }
        }
    }
}

fn sink_type(service: &ServiceConfig) -> TokenStream {
    match service.kind {
        ServiceKind::Composite(_) => quote!(::sinks::CompositeSink),
        _ => quote!(::sinks::EndpointSink),
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

fn constructor(service: &ServiceConfig) -> TokenStream {
    let name = &service.name;
    match &service.kind {
        ServiceKind::Relay(leaf) => {
            let config = leaf_config(leaf);
            quote!(::sinks::EndpointSink::relay(#name, #config))
        }
        ServiceKind::Direct(leaf) => {
            let config = leaf_config(leaf);
            quote!(::sinks::EndpointSink::direct(#name, #config))
        }
        ServiceKind::Composite(composite) => composite_constructor(name, composite),
        _ => syn::Error::new(
            Span::call_site(),
            "include_sinks! does not know this kind of service",
        )
        .to_compile_error(),
    }
}

fn composite_constructor(name: &str, composite: &CompositeConfig) -> TokenStream {
    let pattern = format_ident!(
        "{}",
        match composite.pattern.as_str() {
            "fanout" => "Fanout",
            "round_robin" => "RoundRobin",
            _ => "Failover",
        }
    );
    let targets = composite
        .targets
        .iter()
        .map(|target| format_ident!("{}", target));
    quote! {
        ::sinks::CompositeSink::new(
            #name,
            ::sinks::config::CompositePattern::#pattern,
            ::std::vec![#( ::sinks::__private::Arc::clone(&#targets) as ::sinks::__private::Arc<dyn ::sinks::MessageSink> ),*],
        )
    }
}

fn leaf_config(leaf: &LeafConfig) -> TokenStream {
    let endpoint = endpoint(&leaf.endpoint);
    let buffer_size = leaf.buffer_size;
    let max_message_bytes = leaf.max_message_bytes;
    let framing = match leaf.framing {
        Framing::Raw => quote!(::sinks::config::Framing::Raw),
        _ => quote!(::sinks::config::Framing::LengthPrefixed),
    };
    let retry = retry_policy(&leaf.retry);
    let tls = leaf.tls_ca_file.as_ref().map(|path| {
        let path = path.to_string_lossy().into_owned();
        quote!(.tls_ca_file(#path))
    });
    quote! {
        ::sinks::config::LeafConfig::new(#endpoint)
            .buffer_size(#buffer_size)
            .max_message_bytes(#max_message_bytes)
            .framing(#framing)
            .retry(#retry)
            #tls
    }
}

fn retry_policy(policy: &RetryPolicy) -> TokenStream {
    let max_retries = policy.max_retries;
    let retry_delay = duration(policy.retry_delay);
    let backoff = Literal::f64_suffixed(policy.backoff_multiplier);
    let max_retry_delay = duration(policy.max_retry_delay);
    let auto_reconnect = policy.auto_reconnect;
    let connect_timeout = duration(policy.connect_timeout);
    let wait_timeout = duration(policy.wait_timeout);
    quote! {
        ::sinks::config::RetryPolicy::default()
            .max_retries(#max_retries)
            .retry_delay(#retry_delay)
            .backoff_multiplier(#backoff)
            .max_retry_delay(#max_retry_delay)
            .auto_reconnect(#auto_reconnect)
            .connect_timeout(#connect_timeout)
            .wait_timeout(#wait_timeout)
    }
}

fn duration(duration: std::time::Duration) -> TokenStream {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    quote!(::sinks::__private::Duration::from_nanos(#nanos))
}

fn endpoint(endpoint: &Endpoint) -> TokenStream {
    match endpoint {
        Endpoint::Unix(path) => {
            let path = path.to_string_lossy().into_owned();
            quote!(::sinks::config::Endpoint::Unix(::sinks::__private::PathBuf::from(#path)))
        }
        Endpoint::Tcp { host, port } => quote! {
            ::sinks::config::Endpoint::Tcp { host: ::std::string::String::from(#host), port: #port }
        },
        Endpoint::WebSocket(ws) => {
            let secure = ws.secure;
            let host = &ws.host;
            let port = ws.port;
            let path = &ws.path;
            let credentials = match &ws.credentials {
                Some(credentials) => {
                    quote!(::core::option::Option::Some(::std::string::String::from(#credentials)))
                }
                None => quote!(::core::option::Option::None),
            };
            quote! {
                ::sinks::config::Endpoint::WebSocket(::sinks::config::WebSocketEndpoint {
                    secure: #secure,
                    host: ::std::string::String::from(#host),
                    port: #port,
                    path: ::std::string::String::from(#path),
                    credentials: #credentials,
                })
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
