//! Which keys a service table may hold: unknown keys (with suggestions),
//! keys that do not apply to the service's type, and, in an overlay, keys a
//! deployment may not change and services the topology lacks.

use toml::de::{DeTable, DeValue};

use super::did_you_mean;
use super::document::{KeyRef, Reader, ValueRef, a_value_of};
use super::schema::{self, Key};

impl<'a> Reader<'a> {
    /// An overlay may only set values of services the file defines.
    pub(crate) fn check_overlays(&mut self, defined: &[&str]) {
        for layer in 1..self.layers.len() {
            let document = self.layers[layer].document;
            for (key, value) in document.iter() {
                if key.get_ref() != "services" {
                    let error = self
                        .error_at(
                            layer,
                            key.span(),
                            format!("unknown top-level key `{}`", key.get_ref()),
                        )
                        .help("an overlay sets values as `[services.NAME]` tables");
                    self.push(error);
                    continue;
                }
                let DeValue::Table(services) = value.get_ref() else {
                    continue;
                };
                for (name, _) in services.iter() {
                    let name = name.get_ref().as_ref();
                    if defined.contains(&name) {
                        continue;
                    }
                    let (key_ref, _) = services
                        .get_key_value(name)
                        .expect("the name was just listed");
                    let mut error = self
                        .error_at(
                            layer,
                            key_ref.span(),
                            format!("service `{name}` is not in the compiled topology"),
                        )
                        .service(name);
                    error.help = Some(match did_you_mean(name, defined.iter().copied()) {
                        Some(guess) => format!(
                            "{guess} The topology is fixed at compile time: an overlay only changes values of its services"
                        ),
                        None => "the topology is fixed at compile time: add the service to the config file and rebuild".to_owned(),
                    });
                    self.push(error);
                }
            }
        }
    }

    /// Unknown keys, keys that do not apply to this type, and (in an
    /// overlay) keys a deployment may not change.
    pub(crate) fn check_keys(
        &mut self,
        layer: usize,
        name: &str,
        table: &'a DeTable<'a>,
        service_type: Option<&str>,
    ) {
        for (key, value) in table.iter() {
            let key_name = key.get_ref().as_ref();
            if key_name == "lazy" {
                self.check_lazy(layer, name, key, value, service_type);
                continue;
            }
            let Some(spec) = schema::find_key(key_name) else {
                let mut error = self
                    .error_at(layer, key.span(), format!("unknown key `{key_name}`"))
                    .service(name)
                    .key(key_name);
                error.help = did_you_mean(key_name, schema::top_level_names()).or_else(|| {
                    Some(format!(
                        "the keys a service takes are {}",
                        schema::top_level_names().collect::<Vec<_>>().join(", ")
                    ))
                });
                self.push(error);
                continue;
            };
            self.check_key(layer, name, key, spec, key_name, service_type);
        }
    }

    fn check_lazy(
        &mut self,
        layer: usize,
        name: &str,
        key: KeyRef<'a>,
        value: ValueRef<'a>,
        service_type: Option<&str>,
    ) {
        let DeValue::Table(lazy) = value.get_ref() else {
            let error = self
                .error_at(
                    layer,
                    key.span(),
                    format!(
                        "`lazy` must be a table, found {}",
                        a_value_of(value.get_ref())
                    ),
                )
                .service(name)
                .key("lazy")
                .help("write `lazy.max_retries = 5` or a `[services.NAME.lazy]` table");
            self.push(error);
            return;
        };
        if service_type == Some("composite") {
            let error = self
                .error_at(layer, key.span(), "`lazy` does not apply to a composite")
                .service(name)
                .key("lazy")
                .help("set `lazy` on the target services instead");
            self.push(error);
            return;
        }
        for (inner, _) in lazy.iter() {
            let inner_name = inner.get_ref().as_ref();
            let written = format!("lazy.{inner_name}");
            match schema::KEYS.iter().find(|spec| spec.name == written) {
                Some(spec) => self.check_key(layer, name, inner, spec, &written, service_type),
                None => {
                    let mut error = self
                        .error_at(layer, inner.span(), format!("unknown key `{written}`"))
                        .service(name)
                        .key(written.clone());
                    error.help = super::diagnostics::closest(inner_name, schema::lazy_names())
                        .map(|guess| format!("did you mean `lazy.{guess}`?"))
                        .or_else(|| {
                            Some(format!(
                                "the `lazy` keys are {}",
                                schema::lazy_names().collect::<Vec<_>>().join(", ")
                            ))
                        });
                    self.push(error);
                }
            }
        }
    }

    fn check_key(
        &mut self,
        layer: usize,
        name: &str,
        key: KeyRef<'a>,
        spec: &Key,
        written: &str,
        service_type: Option<&str>,
    ) {
        if layer > 0 && !spec.overridable {
            let error = self
                .error_at(
                    layer,
                    key.span(),
                    format!("an overlay cannot set `{written}`: the topology is fixed at compile time"),
                )
                .service(name)
                .key(written)
                .help("an overlay may set endpoint, buffer and retry settings, lazy.*, tls_ca_file, max_message_bytes, framing, jetstream, jetstream_max_in_flight and metadata; change the rest in the config file and rebuild");
            self.push(error);
            return;
        }
        let leaf_only = matches!(
            spec.applies,
            schema::Applies::Leaf
                | schema::Applies::ByteStream
                | schema::Applies::SecureWebSocket
                | schema::Applies::Nats
                | schema::Applies::JetStream
        );
        let problem = match service_type {
            Some("composite") if leaf_only => Some((
                format!("`{written}` does not apply to a composite"),
                if written == "endpoint" {
                    "a composite sends through its `targets`; remove `endpoint`, or make the service `relay` or `direct`".to_owned()
                } else {
                    format!("set `{written}` on the target services instead")
                },
            )),
            Some(leaf @ ("relay" | "direct")) if spec.applies == schema::Applies::Composite => {
                Some((
                    format!("`{written}` only applies to a composite, not a {leaf}"),
                    format!("remove `{written}`, or make the service `type = \"composite\"`"),
                ))
            }
            _ => None,
        };
        if let Some((message, help)) = problem {
            let error = self
                .error_at(layer, key.span(), message)
                .service(name)
                .key(written)
                .help(help);
            self.push(error);
        }
    }
}
