//! Arbitrary bytes through the config parser and validator: it must return
//! a verdict, never panic, and every error it returns must render. The bytes
//! after the first NUL are an overlay over the rest, with one variable set,
//! so interpolation and overlays are fuzzed by the same target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sink_runtime::config::{Overrides, ServiceKind, ServicesConfig, parse_config};

fn check(verdict: Result<ServicesConfig, sink_runtime::config::ConfigErrors>) {
    match verdict {
        Ok(config) => {
            for service in config.services() {
                match &service.kind {
                    // Every composite target a valid config names is defined.
                    ServiceKind::Composite(composite) => {
                        for target in &composite.targets {
                            assert!(config.get(target).is_some(), "accepted an undefined target");
                        }
                    }
                    // Every accepted retry policy has a budget, without a panic.
                    ServiceKind::Relay(leaf) | ServiceKind::Direct(leaf) => {
                        let _ = leaf.retry().connect_budget();
                    }
                    _ => {}
                }
            }
            let _ = config.construction_order();
        }
        Err(errors) => {
            assert!(!errors.errors.is_empty(), "rejected without saying why");
            let _ = errors.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (compiled, overlay) = text.split_once('\0').unwrap_or((&text, ""));
    check(parse_config(compiled, None));
    let overrides = Overrides::new()
        .var("HOST", "127.0.0.1")
        .overlay_str(overlay)
        .endpoint("a", overlay);
    check(ServicesConfig::from_toml_str_with(compiled, &overrides));
});
