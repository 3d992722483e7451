//! Getting a sink's writer stuck inside a write, for the tests that then
//! drop its runtime, disconnect it or drop it.

use std::time::Duration;

use sinks::{EndpointSink, MessageSink, SinkError};

use crate::support::{bounded, numbered};

/// Payload size of the stalling messages: a few fill a socket's buffers.
pub const PAYLOAD: usize = 64 * 1024;

/// Fills `sink` (`buffer_size` = `buffer`, its peer not reading) until its
/// writer holds a batch it cannot finish and the queue behind it is full;
/// returns how many messages were accepted, ids `0..n` of [`numbered`].
///
/// The first `buffer` messages are queued before the writer connects, so
/// its first batch holds more frames than the socket takes: the kernel
/// takes the first few whole, and the write blocks inside the batch.
/// Unsettled messages beyond a full queue are that batch, in flight.
pub async fn writer_stuck_inside_a_write(sink: &EndpointSink, buffer: usize) -> u64 {
    let mut accepted = 0u64;
    while accepted < buffer as u64 {
        sink.try_send(numbered(accepted, PAYLOAD))
            .expect("room in a fresh queue");
        accepted += 1;
    }
    bounded("the writer stalling inside a write", async {
        while sink.metadata().queue_depth <= buffer {
            match sink.try_send(numbered(accepted, PAYLOAD)) {
                Ok(()) => accepted += 1,
                Err(SinkError::BufferFull { .. }) => {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                Err(other) => panic!("try_send while stalling: {other}"),
            }
        }
    })
    .await;
    accepted
}
