//! `Sinks::new()` at 1,000 and 10,000 services: every sink is built, none is
//! connected. The timing is printed for the report, not asserted:
//! `cargo test --release --test deploy_scale -- --ignored --nocapture`.

use std::time::Instant;

use sinks::MessageSink;

sinks::include_sinks!("tests/deploy_scale_1000.toml" as Services1k);
sinks::include_sinks!("benches/services_10000.toml" as Services10k);

/// The median of seven builds, in nanoseconds per service.
fn median_ns_per_service(services: usize, build: impl Fn() -> usize) -> f64 {
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(build(), services);
            started.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2] * 1e9 / services as f64
}

#[test]
#[ignore = "a measurement for the report; run in release with --nocapture"]
fn sinks_new_at_one_and_ten_thousand_services() {
    // The first call of each also parses the embedded config (once per process).
    let started = Instant::now();
    assert!(!Services1k::new().s0().is_connected());
    let first_small = started.elapsed().as_secs_f64() * 1e9 / 1_000.0;
    let started = Instant::now();
    assert!(!Services10k::new().s0().is_connected());
    let first_large = started.elapsed().as_secs_f64() * 1e9 / 10_000.0;
    println!(
        "Sinks::new(), first call: {first_small:.0} ns per service at 1,000, {first_large:.0} at 10,000"
    );
    let small = median_ns_per_service(1_000, || {
        let sinks = Services1k::new();
        assert!(!sinks.s999().is_connected());
        Services1k::SERVICES.len()
    });
    let large = median_ns_per_service(10_000, || {
        let sinks = Services10k::new();
        assert!(!sinks.s9999().is_connected());
        Services10k::SERVICES.len()
    });
    println!("Sinks::new(), 1,000 services: {small:.0} ns per service");
    println!("Sinks::new(), 10,000 services: {large:.0} ns per service");
}
