//! `sinks graph FILE`: the topology as Mermaid or Graphviz DOT.
//!
//! One node per service: endpoints show their type and endpoint (through the
//! config's `Endpoint` Display, which hides credentials as `***@`),
//! composites their pattern; each composite has an edge to each target,
//! labelled with the target's position in `targets`.

use sinks::config::{ServiceConfig, ServiceKind, ServicesConfig};

use crate::Verdict;
use crate::check::show_rejected;
use crate::cli::{GraphArgs, GraphFormat};
use crate::diagnostics;

pub(crate) fn run(args: &GraphArgs) -> Verdict {
    match diagnostics::load_compiled(&args.file) {
        Ok(config) => {
            let graph = match args.format {
                GraphFormat::Mermaid => mermaid(&config),
                GraphFormat::Dot => dot(&config),
            };
            anstream::print!("{graph}");
            Verdict::Success
        }
        Err(rejected) => {
            show_rejected(&rejected);
            Verdict::Failure
        }
    }
}

/// What a node says under the service's name.
fn details(service: &ServiceConfig) -> String {
    match &service.kind {
        ServiceKind::Relay(leaf) | ServiceKind::Direct(leaf) => {
            format!("{} · {}", service.kind.type_name(), leaf.endpoint())
        }
        ServiceKind::Composite(composite) => composite.pattern.as_str().to_owned(),
        // A kind this CLI does not know yet still gets its node.
        _ => service.kind.type_name().to_owned(),
    }
}

fn targets(service: &ServiceConfig) -> &[String] {
    match &service.kind {
        ServiceKind::Composite(composite) => &composite.targets,
        _ => &[],
    }
}

/// A Mermaid flowchart: endpoints as boxes, composites as hexagons.
pub(crate) fn mermaid(config: &ServicesConfig) -> String {
    let mut out = String::from("flowchart LR\n");
    for service in config.services() {
        let label = format!("{}<br/>{}", service.name, details(service));
        let label = label.replace('"', "#quot;");
        let (open, close) = match service.kind {
            ServiceKind::Composite(_) => ("{{", "}}"),
            _ => ("[", "]"),
        };
        out.push_str(&format!(
            "    {}{open}\"{label}\"{close}\n",
            mermaid_id(&service.name)
        ));
    }
    for service in config.services() {
        for (position, target) in targets(service).iter().enumerate() {
            out.push_str(&format!(
                "    {} -->|{}| {}\n",
                mermaid_id(&service.name),
                position + 1,
                mermaid_id(target)
            ));
        }
    }
    out
}

/// The node id of a service: its name, except that Mermaid reads a node
/// called `end` as the end of a subgraph; service names are lowercase, so
/// `End` cannot clash with another.
fn mermaid_id(name: &str) -> &str {
    if name == "end" { "End" } else { name }
}

/// A Graphviz digraph: endpoints as boxes, composites as hexagons.
pub(crate) fn dot(config: &ServicesConfig) -> String {
    let mut out = String::from("digraph sinks {\n    rankdir=LR;\n");
    for service in config.services() {
        let shape = match service.kind {
            ServiceKind::Composite(_) => "hexagon",
            _ => "box",
        };
        let label = format!("{}\n{}", service.name, details(service));
        out.push_str(&format!(
            "    \"{}\" [shape={shape}, label={}];\n",
            service.name,
            dot_string(&label)
        ));
    }
    for service in config.services() {
        for (position, target) in targets(service).iter().enumerate() {
            out.push_str(&format!(
                "    \"{}\" -> \"{target}\" [label=\"{}\"];\n",
                service.name,
                position + 1
            ));
        }
    }
    out.push_str("}\n");
    out
}

/// A DOT quoted string: `"` and `\` escaped, newlines as `\n`.
fn dot_string(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}
