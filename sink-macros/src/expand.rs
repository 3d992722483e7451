//! Validation through the runtime's config module, then code generation.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use sink_runtime::config::{ServiceKind, ServicesConfig, parse_config};

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
        // No stand-in: without the file there are no accessor names to give
        // it, and rustc reports nothing more about a name an earlier
        // `compile_error!` left undefined, so uses of the struct add no errors.
        Err(message) => return syn::Error::new(span, message).into_compile_error(),
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
            return fallback(&input.struct_name, combined, &loaded.source);
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
    // Each service's place among the built endpoints or composites, in the
    // construction order the runtime's `Built::new` uses for the same config.
    let mut places: HashMap<&str, (bool, usize)> = HashMap::new();
    let (mut leaves, mut composites) = (0, 0);
    for service in config.construction_order() {
        if matches!(service.kind, ServiceKind::Composite(_)) {
            places.insert(&service.name, (true, composites));
            composites += 1;
        } else {
            places.insert(&service.name, (false, leaves));
            leaves += 1;
        }
    }
    let accessors = config.services().iter().map(|service| {
        let ident = format_ident!("{}", service.name);
        let doc = docs::accessor(service, written);
        let (composite, index) = places[service.name.as_str()];
        let (ty, getter) = if composite {
            (quote!(::sinks::CompositeSink), quote!(composite))
        } else {
            (quote!(::sinks::EndpointSink), quote!(endpoint))
        };
        quote! {
            #[doc = #doc]
            pub fn #ident(&self) -> &#ty {
                self.inner.#getter(#index)
            }
        }
    });
    // Each `tls_ca_file` was read and checked as PEM by the validator; its
    // bytes go into the binary, so it is not looked for on the deploy host.
    let embedded_cas = config.services().iter().filter_map(|service| {
        let (ServiceKind::Relay(leaf) | ServiceKind::Direct(leaf)) = &service.kind else {
            return None;
        };
        let ca = leaf.tls_ca_file()?;
        let (service, text) = (&service.name, ca.written());
        let path = ca.path().to_string_lossy().into_owned();
        Some(quote!((#service, #text, ::core::include_bytes!(#path))))
    });
    let names: Vec<&str> = config.names().collect();
    let mut sorted: Vec<&str> = names.clone();
    sorted.sort_unstable();
    let by_name = sorted.iter().map(|service| {
        let place = sink_ref(places[service]);
        quote!((#service, #place))
    });
    let in_order = names.iter().map(|service| sink_ref(places[service]));
    let struct_doc = docs::structure(name, written, config);

    quote! {
        #[doc = #struct_doc]
        #[derive(Clone, Debug)]
        pub struct #name {
            inner: ::sinks::__private::Arc<::sinks::__private::Built>,
        }

        impl #name {
            /// The service names, in the order the config defines them.
            pub const SERVICES: &'static [&'static str] = &[#(#names),*];

            #[doc(hidden)]
            const __FILE: &'static str = #written;

            // The config text, parsed at run time by the very parser that
            // checked it now. `include_str!` also makes the compiler watch
            // the file: editing it reruns the macro.
            #[doc(hidden)]
            const __SOURCE: &'static str = ::core::include_str!(#watched);

            #[doc(hidden)]
            const __TLS_CAS: &'static [(&'static str, &'static str, &'static [u8])] = &[#(#embedded_cas),*];

            #[doc(hidden)]
            const __BY_NAME: &'static [(&'static str, ::sinks::__private::SinkRef)] = &[#(#by_name),*];

            #[doc(hidden)]
            const __IN_ORDER: &'static [::sinks::__private::SinkRef] = &[#(#in_order),*];

            /// Builds every sink from the compiled values (the defaults of
            /// `${VAR:-default}`). No I/O, nothing spawned: each sink
            /// connects on its first send. A service whose value needs a
            /// variable without a default fails its sends with
            /// `SinkError::InvalidConfig`; build with `from_env()` instead.
            pub fn new() -> Self {
                static CONFIG: ::sinks::__private::OnceLock<(
                    ::sinks::__private::ServicesConfig,
                    ::sinks::__private::Plan,
                )> = ::sinks::__private::OnceLock::new();
                Self {
                    inner: ::sinks::__private::Arc::new(::sinks::__private::Built::compiled(
                        Self::__FILE, Self::__SOURCE, Self::__TLS_CAS, &CONFIG,
                    )),
                }
            }

            /// Builds every sink with the deployment's values: `${VAR}` from
            /// the process environment, and the overlay file named by
            /// `SINKS_OVERLAY` if set (`sinks::Overrides::from_env()`).
            pub fn from_env() -> ::core::result::Result<Self, ::sinks::SinkError> {
                Self::with_overrides(&::sinks::__private::Overrides::from_env())
            }

            /// Builds every sink with `overrides` applied to the compiled
            /// topology; every problem of every source comes back in one
            /// `SinkError::InvalidConfig`.
            pub fn with_overrides(
                overrides: &::sinks::__private::Overrides,
            ) -> ::core::result::Result<Self, ::sinks::SinkError> {
                ::core::result::Result::Ok(Self {
                    inner: ::sinks::__private::Arc::new(::sinks::__private::Built::compiled_with(
                        Self::__FILE, Self::__SOURCE, Self::__TLS_CAS, overrides,
                    )?),
                })
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

            /// Every service's metadata (counters, state, queue depth), in `SERVICES` order.
            pub fn snapshot(&self) -> ::std::vec::Vec<::sinks::SinkMetadata> {
                self.inner.snapshot(Self::__IN_ORDER)
            }

            /// Connects every relay and direct sink now, each within
            /// `timeout`, rather than on its first send; the error names
            /// each that failed and why.
            pub async fn connect_all(
                &self,
                timeout: ::core::time::Duration,
            ) -> ::core::result::Result<(), ::sinks::SinkError> {
                self.inner.connect_all(#name_text, timeout).await
            }

            /// The seed's endpoint accessibility check: one connection
            /// attempt per relay and direct service with its own settings
            /// (TLS included), each within `timeout`, closed again. The
            /// report says per service: reachable (with the connect time),
            /// refused, timed out, name not resolved or TLS failure, and
            /// prints as a table.
            pub async fn preflight(&self, timeout: ::core::time::Duration) -> ::sinks::Preflight {
                self.inner.preflight(timeout).await
            }

            /// Flushes every relay and direct sink, then closes it, all
            /// within `timeout`: what is not written by then fails. Call it
            /// before the runtime ends; the error names each sink with
            /// messages that were not written, and how many.
            pub async fn shutdown(
                &self,
                timeout: ::core::time::Duration,
            ) -> ::core::result::Result<(), ::sinks::SinkError> {
                self.inner.shutdown(#name_text, timeout).await
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use proc_macro2::Span;

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
            let mut best_parse = f64::MAX;
            let mut tokens = 0;
            for _ in 0..runs {
                let started = Instant::now();
                let config = parse_config(&text, None).expect("generated config is valid");
                best_parse = best_parse.min(started.elapsed().as_secs_f64());
                let expanded =
                    generate(&input, "services.toml", "/tmp/services.toml", &config).to_string();
                best = best.min(started.elapsed().as_secs_f64());
                tokens = expanded.len();
                assert!(expanded.contains(&format!("pub fn s{}", count - 1)));
            }
            println!(
                "expansion of {count} services: {:.2} ms (best of {runs}), {tokens} bytes of code; parse + validate alone {:.2} ms",
                best * 1e3,
                best_parse * 1e3
            );
        }
    }
}
