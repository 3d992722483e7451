//! What `include_sinks!` generates, at run time: composites drive the very
//! sinks their targets' accessors return, `get` hands out those same sinks,
//! and `flush_all` names every sink that failed.

use std::path::Path;
use std::sync::Arc;

use sinks::{MessageSink, SinkError};
use tokio::io::AsyncReadExt;
use tokio::net::UnixListener;

sinks::include_sinks!("tests/macro_sinks.toml" as TestSinks);

// The socket paths are fixed by tests/macro_sinks.toml, so the directory is too.
const SOCKETS: &str = "/tmp/sinks-macro-tests";

/// The address of the sink behind a trait object, to compare with an accessor's.
fn address(sink: &Arc<dyn MessageSink>) -> *const u8 {
    Arc::as_ptr(sink).cast::<u8>()
}

fn address_of<T>(sink: &T) -> *const u8 {
    (sink as *const T).cast::<u8>()
}

#[test]
fn composite_targets_are_the_accessors_sinks() {
    let sinks = TestSinks::new();
    let both: Vec<*const u8> = sinks.both().targets().map(address).collect();
    assert_eq!(
        both,
        [address_of(sinks.left()), address_of(sinks.right())],
        "the fanout must hold the `left` and `right` sinks themselves"
    );
    let either: Vec<*const u8> = sinks.either().targets().map(address).collect();
    assert_eq!(
        either,
        [address_of(sinks.both()), address_of(sinks.nobody())],
        "a composite over a composite must hold that composite itself"
    );
}

#[test]
fn get_returns_the_accessors_sink() {
    let sinks = TestSinks::new();
    assert_eq!(
        TestSinks::SERVICES,
        ["left", "right", "both", "nobody", "either"]
    );
    for (name, accessor) in [
        ("left", address_of(sinks.left())),
        ("both", address_of(sinks.both())),
        ("either", address_of(sinks.either())),
    ] {
        let found = sinks.get(name).expect("a service of the config");
        assert_eq!(address(&found), accessor, "`get({name:?})`");
    }
    assert!(sinks.get("Left").is_none());
    // Clones share the sinks rather than copying them.
    assert_eq!(address_of(sinks.clone().left()), address_of(sinks.left()));
}

#[tokio::test]
async fn a_send_through_the_fanout_connects_the_leaf_accessors() {
    let dir = Path::new(SOCKETS);
    std::fs::create_dir_all(dir).expect("socket dir");
    let mut readers = Vec::new();
    for name in ["left", "right"] {
        let path = dir.join(format!("{name}.sock"));
        // Left over by an earlier run that was killed.
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind");
        readers.push(tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut received = Vec::new();
            stream.read_to_end(&mut received).await.expect("read");
            received
        }));
    }
    let sinks = TestSinks::new();
    assert!(!sinks.left().is_connected(), "an accessor must not connect");
    sinks
        .both()
        .send(b"tick".to_vec().into())
        .await
        .expect("send");
    sinks.both().flush().await.expect("flush");
    // The fanout's send went through the accessors' own sinks.
    assert!(sinks.left().is_connected() && sinks.right().is_connected());
    assert_eq!(sinks.left().metadata().messages_sent, 1);
    assert_eq!(sinks.right().metadata().messages_sent, 1);

    sinks.disconnect_all().await.expect("disconnect_all");
    for reader in readers {
        assert_eq!(reader.await.expect("reader"), b"\x04\0\0\0tick");
    }
    for name in ["left", "right"] {
        let _ = std::fs::remove_file(dir.join(format!("{name}.sock")));
    }
}

#[tokio::test]
async fn flush_all_names_the_sink_that_failed() {
    let sinks = TestSinks::new();
    // Nobody listens on `nobody`'s socket, and it does not retry.
    let _ = std::fs::remove_file(Path::new(SOCKETS).join("nobody.sock"));
    let _ = sinks.nobody().try_send(b"lost".to_vec().into());
    match sinks.flush_all().await {
        Err(SinkError::TargetsFailed {
            sink,
            total,
            failed,
        }) => {
            assert_eq!(sink, "TestSinks");
            // The relay and direct sinks: composites only forward.
            assert_eq!(total, 3);
            let names: Vec<&str> = failed.iter().map(|(name, _)| name.as_str()).collect();
            assert_eq!(names, ["nobody"]);
        }
        other => panic!("expected TargetsFailed naming `nobody`, got {other:?}"),
    }
}
