//! `Sinks::from_env()` and `SinkFactory::from_config`: variables from the
//! process environment and the overlay file `SINKS_OVERLAY` names. Alone in
//! its binary, as one test, because it sets environment variables.

#[path = "support/mod.rs"]
mod support;

use sinks::{MessageSink, SinkError, SinkFactory};

use support::{Peer, SocketDir, bind_tcp, bounded, ids_of, numbered};

sinks::include_sinks!("tests/deploy.toml" as Deployed);

#[tokio::test]
async fn from_env_reads_the_environment_and_the_sinks_overlay_file() {
    let dir = SocketDir::new();
    let (listener, relay_path) = dir.bind("relay");
    let relay_peer = Peer::length_prefixed(listener);
    let (gateway_listener, gateway) = bind_tcp().await;
    let gateway_peer = Peer::length_prefixed(gateway_listener);
    let overlay = dir.path("overlay.toml");
    std::fs::write(
        &overlay,
        format!("[services.gateway]\nendpoint = \"tcp://{gateway}\"\n"),
    )
    .expect("write overlay");
    // SAFETY: the only test of this binary; no other thread reads or writes
    // the environment while it runs.
    unsafe {
        std::env::set_var(
            "DEPLOY_RUN_DIR",
            relay_path.parent().expect("in the socket dir"),
        );
        std::env::set_var("SINKS_OVERLAY", &overlay);
    }
    let sinks = Deployed::from_env().expect("valid environment");
    bounded("fanout", sinks.both().send(numbered(4, 16)))
        .await
        .expect("send");
    assert_eq!(
        ids_of(&relay_peer.recording().wait_for_frames(1).await),
        [4]
    );
    assert_eq!(
        ids_of(&gateway_peer.recording().wait_for_frames(1).await),
        [4]
    );
    let factory = SinkFactory::from_config("tests/deploy.toml").expect("valid environment");
    let gateway_sink = factory.create_sink("gateway").await.expect("defined");
    bounded("send", gateway_sink.send(numbered(5, 16)))
        .await
        .expect("send");
    assert_eq!(
        ids_of(&gateway_peer.recording().wait_for_frames(2).await),
        [4, 5]
    );

    // Rejected: the overlay file named is missing, and `gateway`'s compiled
    // endpoint then needs its variable.
    let missing = dir.path("missing.toml");
    // SAFETY: as above.
    unsafe { std::env::set_var("SINKS_OVERLAY", &missing) };
    let shown = match Deployed::from_env() {
        Err(SinkError::InvalidConfig(errors)) => errors.to_string(),
        other => panic!("expected InvalidConfig, got {other:?}"),
    };
    assert_eq!(
        shown,
        format!(
            "2 problems in the sinks config\n  \
             tests/deploy.toml:10:12: service `gateway`, key `endpoint`: the variable `DEPLOY_GATEWAY_HOST` is not set; set it, or give a default: `${{DEPLOY_GATEWAY_HOST:-...}}`\n  \
             overlay {}: cannot read the overlay file: No such file or directory (os error 2); check the path (from `SINKS_OVERLAY` or `Overrides::overlay_file`)",
            missing.display()
        )
    );
}
