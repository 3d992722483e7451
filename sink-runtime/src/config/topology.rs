//! Checks across services: every target is defined, listed once, and no
//! composite reaches itself.

use std::collections::{HashMap, HashSet};

use super::model::{ServiceConfig, ServiceKind, ServicesConfig};
use super::{ConfigError, Location, did_you_mean};

/// One composite's `targets`, with where each name stands in the file.
#[derive(Debug, Clone)]
pub(crate) struct TargetList {
    pub(crate) service: String,
    /// Where the `targets` key stands.
    pub(crate) location: Location,
    pub(crate) targets: Vec<(String, Location)>,
}

impl TargetList {
    pub(crate) fn names(&self) -> Vec<String> {
        self.targets.iter().map(|(name, _)| name.clone()).collect()
    }
}

/// Every missing target, duplicate target and cycle among `lists`, given the
/// names of all services in file order.
pub(crate) fn check_topology(
    services: &[&str],
    lists: &[TargetList],
    built: &[ServiceConfig],
) -> Vec<ConfigError> {
    let defined: HashSet<&str> = services.iter().copied().collect();
    let mut errors = Vec::new();
    errors.extend(domain_mismatches(lists, built));
    for list in lists {
        let mut seen = HashSet::new();
        for (target, location) in &list.targets {
            if !seen.insert(target.as_str()) {
                errors.push(
                    ConfigError::new(format!("target `{target}` is listed twice"))
                        .at(*location)
                        .service(&list.service)
                        .key("targets")
                        .help(format!("remove the second `{target}`")),
                );
            } else if !defined.contains(target.as_str()) {
                let help = did_you_mean(target, services.iter().copied()).unwrap_or_else(|| {
                    format!("define `[services.{target}]`, or remove it from `targets`")
                });
                errors.push(
                    ConfigError::new(format!("target `{target}` is not defined"))
                        .at(*location)
                        .service(&list.service)
                        .key("targets")
                        .help(help),
                );
            }
        }
    }
    errors.extend(cycles(services, lists));
    errors
}

/// A composite with a `domain` may only target services of that domain,
/// or of none.
fn domain_mismatches(lists: &[TargetList], built: &[ServiceConfig]) -> Vec<ConfigError> {
    let domains: HashMap<&str, _> = built
        .iter()
        .filter_map(|service| Some((service.name.as_str(), service.domain?)))
        .collect();
    let mut errors = Vec::new();
    for list in lists {
        let Some(&domain) = domains.get(list.service.as_str()) else {
            continue;
        };
        for (target, location) in &list.targets {
            match domains.get(target.as_str()) {
                Some(&other) if other != domain => errors.push(
                    ConfigError::new(format!(
                        "target `{target}` is in the `{other}` domain, but the composite is in `{domain}`"
                    ))
                    .at(*location)
                    .service(&list.service)
                    .key("targets")
                    .help("a composite only targets services of its own domain (or of none); remove the target or change a `domain`"),
                ),
                _ => {}
            }
        }
    }
    errors
}

impl ServicesConfig {
    /// Leaves in file order, then each composite after all its targets: the
    /// order both `include_sinks!` and `SinkFactory` build sinks in, so
    /// every composite is built from the very sinks of its targets.
    pub fn construction_order(&self) -> Vec<&ServiceConfig> {
        let by_name: HashMap<&str, &ServiceConfig> = self
            .services()
            .iter()
            .map(|service| (service.name.as_str(), service))
            .collect();
        let mut built: HashSet<&str> = HashSet::with_capacity(by_name.len());
        let mut order: Vec<&ServiceConfig> = Vec::with_capacity(by_name.len());
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
        for service in self.services() {
            visit(service, &by_name, &mut built, &mut order);
        }
        order
    }
}

/// One error per distinct cycle, written from its earliest service in file order.
fn cycles(services: &[&str], lists: &[TargetList]) -> Vec<ConfigError> {
    let order: HashMap<&str, usize> = services
        .iter()
        .enumerate()
        .map(|(i, name)| (*name, i))
        .collect();
    let edges: HashMap<&str, &TargetList> = lists
        .iter()
        .map(|list| (list.service.as_str(), list))
        .collect();
    let mut finished: HashSet<&str> = HashSet::new();
    let mut found: Vec<Vec<&str>> = Vec::new();

    for list in lists {
        // Iterative depth-first search; `path` is the current chain of services.
        let mut path: Vec<&str> = vec![list.service.as_str()];
        let mut next_edge: Vec<usize> = vec![0];
        while let Some(&node) = path.last() {
            let index = next_edge.last().copied().unwrap_or(0);
            let targets = edges.get(node).map_or(&[][..], |list| &list.targets[..]);
            if finished.contains(node) || index >= targets.len() {
                finished.insert(node);
                path.pop();
                next_edge.pop();
                continue;
            }
            if let Some(last) = next_edge.last_mut() {
                *last += 1;
            }
            let target = targets[index].0.as_str();
            if let Some(start) = path.iter().position(|&on_path| on_path == target) {
                let mut cycle: Vec<&str> = path[start..].to_vec();
                let earliest = (0..cycle.len())
                    .min_by_key(|&i| order.get(cycle[i]).copied().unwrap_or(usize::MAX))
                    .unwrap_or(0);
                cycle.rotate_left(earliest);
                if !found.contains(&cycle) {
                    found.push(cycle);
                }
            } else if edges.contains_key(target) && !finished.contains(target) {
                path.push(target);
                next_edge.push(0);
            }
        }
    }

    found.sort_by_key(|cycle| order.get(cycle[0]).copied());
    found
        .into_iter()
        .map(|cycle| {
            let first = cycle[0];
            let shown = cycle.iter().chain(std::iter::once(&first)).copied().collect::<Vec<_>>().join(" -> ");
            let location = edges.get(first).map(|list| list.location);
            let mut error = ConfigError::new(format!("the targets form a cycle: {shown}"))
                .service(first)
                .key("targets")
                .help(if cycle.len() == 1 {
                    format!("a composite cannot target itself; remove `{first}` from its `targets`")
                } else {
                    "a composite cannot reach itself through its targets; remove one link of the cycle".to_owned()
                });
            error.location = location;
            error
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(service: &str, targets: &[&str]) -> TargetList {
        TargetList {
            service: service.into(),
            location: Location { line: 1, column: 1 },
            targets: targets
                .iter()
                .map(|t| (t.to_string(), Location { line: 1, column: 1 }))
                .collect(),
        }
    }

    fn messages(services: &[&str], lists: &[TargetList]) -> Vec<String> {
        check_topology(services, lists, &[])
            .into_iter()
            .map(|e| e.message)
            .collect()
    }

    #[test]
    fn finds_each_cycle_once_from_its_earliest_service() {
        let lists = [list("a", &["b"]), list("b", &["c", "a"]), list("c", &["c"])];
        let found = messages(&["a", "b", "c"], &lists);
        assert_eq!(
            found,
            [
                "the targets form a cycle: a -> b -> a",
                "the targets form a cycle: c -> c"
            ]
        );
    }

    #[test]
    fn diamond_is_not_a_cycle() {
        let lists = [
            list("top", &["left", "right"]),
            list("left", &["leaf"]),
            list("right", &["leaf"]),
        ];
        assert!(messages(&["top", "left", "right", "leaf"], &lists).is_empty());
    }
}
