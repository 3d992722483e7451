//! Arbitrary bytes through the config parser and validator: it must return
//! a verdict, never panic, and every error it returns must render.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sink_runtime::config::parse_config;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_config(&text, None) {
        Ok(config) => {
            // Every composite target a valid config names is defined.
            for service in config.services() {
                if let sink_runtime::config::ServiceKind::Composite(composite) = &service.kind {
                    for target in &composite.targets {
                        assert!(config.get(target).is_some(), "accepted an undefined target");
                    }
                }
            }
        }
        Err(errors) => {
            assert!(!errors.errors.is_empty(), "rejected without saying why");
            let _ = errors.to_string();
        }
    }
});
