//! A composite service: its pattern and targets.

use toml::de::DeValue;

use super::document::{Found, Reader};
use super::model::{CompositeConfig, CompositePattern, ServiceKind};
use super::schema;
use super::topology::TargetList;
use super::values::Parsed;
use super::{ConfigError, Location};

impl<'a> Reader<'a> {
    pub(crate) fn composite(&mut self, name: &str, location: Location) -> Option<ServiceKind> {
        let pattern_key = schema::find_key("pattern").expect("the schema has `pattern`");
        let pattern = match self.read_key(name, pattern_key) {
            Some((_, Parsed::Text(text))) => match text.as_str() {
                "fanout" => Some(CompositePattern::Fanout),
                "round_robin" => Some(CompositePattern::RoundRobin),
                _ => Some(CompositePattern::Failover),
            },
            Some(_) => None,
            None => {
                if self.lookup(name, pattern_key).is_none() {
                    self.missing(
                        name,
                        ConfigError::new("a composite needs a `pattern`")
                            .at(location)
                            .service(name)
                            .key("pattern")
                            .help(
                                "add `pattern = \"fanout\"`, `\"round_robin\"` or `\"failover\"`",
                            ),
                    );
                }
                None
            }
        };
        let targets_key = schema::find_key("targets").expect("the schema has `targets`");
        let targets = match self.lookup(name, targets_key) {
            None => {
                self.missing(
                    name,
                    ConfigError::new("a composite needs `targets`")
                        .at(location)
                        .service(name)
                        .key("targets")
                        .help("add e.g. `targets = [\"primary\", \"backup\"]`"),
                );
                None
            }
            Some(found) => self.target_list(name, &found),
        };
        // The topology is checked even for a composite with other problems,
        // so one build also shows its broken references.
        let target_names = targets.as_ref().map(TargetList::names);
        self.target_lists.extend(targets);
        let domain = self.common_domain(name);
        Some(ServiceKind::Composite(CompositeConfig {
            pattern: pattern?,
            targets: target_names?,
            domain,
        }))
    }

    fn common_domain(&mut self, name: &str) -> Option<super::Domain> {
        let key = schema::find_key("domain")?;
        let errors = self.errors.len();
        let domain = match self.read_key(name, key) {
            Some((_, Parsed::Text(text))) => super::Domain::from_name(&text),
            _ => None,
        };
        // `common` reports the problems of `domain` for every service.
        self.errors.truncate(errors);
        domain
    }

    fn target_list(&mut self, service: &str, found: &Found<'a>) -> Option<TargetList> {
        let DeValue::Array(array) = found.value.get_ref() else {
            let error = self.value_error(
                service,
                found,
                format!(
                    "expected an array of service names, found {}",
                    super::document::a_value_of(found.value.get_ref())
                ),
            );
            self.push(error);
            return None;
        };
        let lines = &self.layers[found.layer].lines;
        let mut list = TargetList {
            service: service.to_owned(),
            location: lines.location(found.key.span().start),
            targets: Vec::new(),
        };
        let mut reported = false;
        for item in array.iter() {
            match item.get_ref() {
                DeValue::String(target) => {
                    let at = self.layers[found.layer].lines.location(item.span().start);
                    list.targets.push((target.to_string(), at));
                }
                other => {
                    reported = true;
                    let error = self
                        .error_at(
                            found.layer,
                            item.span(),
                            format!(
                                "expected a service name, found {}",
                                super::document::a_value_of(other)
                            ),
                        )
                        .service(service)
                        .key("targets");
                    self.push(error);
                }
            }
        }
        if list.targets.is_empty() && !reported {
            let error = self
                .value_error(service, found, "`targets` is empty")
                .help("list at least one service, e.g. `targets = [\"primary\", \"backup\"]`");
            self.push(error);
        }
        Some(list)
    }
}
