//! The state machine without sockets: random sequences of every operation
//! senders, writer tasks (current and stale) and the runtime can apply,
//! with the invariants of `state.rs` checked after every step.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;

use super::{EndpointState, Exit, Lease, Next, Phase, PublishedState, Refusal, Written};
use crate::Message;
use crate::config::Framing;
use crate::observe::SinkMetrics;
use crate::transport::{Offer, Pending};

const CAPACITY: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Send,
    TrySend,
    /// A sender starts a writer (spawn); the task is not polled yet.
    StartWriter,
    ConnectOk(usize),
    ConnectFail(usize),
    ConnectionLost(usize),
    /// Reconnecting gave up.
    GiveUp(usize),
    /// The writer's next step (take a batch, park, close...).
    Step(usize),
    /// The writer finished its batch: `written` of it, then maybe an error.
    Written(usize, usize, bool),
    Disconnect,
    DropHandle,
    /// The runtime drops every task, mid-whatever.
    RuntimeDrop,
    TakeFailures,
}

fn op() -> impl Strategy<Value = Op> {
    let task = 0..4usize;
    prop_oneof![
        4 => Just(Op::Send),
        3 => Just(Op::TrySend),
        2 => Just(Op::StartWriter),
        2 => task.clone().prop_map(Op::ConnectOk),
        1 => task.clone().prop_map(Op::ConnectFail),
        1 => task.clone().prop_map(Op::ConnectionLost),
        1 => task.clone().prop_map(Op::GiveUp),
        4 => task.clone().prop_map(Op::Step),
        3 => (task, 0..6usize, any::<bool>()).prop_map(|(t, n, e)| Op::Written(t, n, e)),
        1 => Just(Op::Disconnect),
        1 => Just(Op::DropHandle),
        1 => Just(Op::RuntimeDrop),
        1 => Just(Op::TakeFailures),
    ]
}

/// A spawned writer task as the model sees it.
struct Task {
    lease: Lease,
    batch: Pending,
}

struct Model {
    state: EndpointState,
    tasks: Vec<Task>,
    reported: u64,
}

impl Model {
    fn new() -> Model {
        Model {
            state: EndpointState::new(
                Arc::new(PublishedState::default()),
                SinkMetrics::new("model"),
                Framing::LengthPrefixed,
                true,
                false,
            ),
            tasks: Vec::new(),
            reported: 0,
        }
    }

    /// Applies a writer-side operation; a stale task must change nothing.
    fn writer_op(&mut self, index: usize, apply: impl FnOnce(&mut EndpointState, &mut Task)) {
        let count = self.tasks.len();
        if count == 0 {
            return;
        }
        let mut task = self.tasks.swap_remove(index % count);
        let stale = self.state.writer != Some(task.lease.0);
        let before = format!("{:?}", self.state);
        apply(&mut self.state, &mut task);
        if stale {
            assert_eq!(
                before,
                format!("{:?}", self.state),
                "a stale writer changed the state"
            );
        }
        self.tasks.push(task);
    }

    fn apply(&mut self, op: Op) {
        let sent_before = self.state.stats.sent;
        let failed_before = self.state.stats.failed;
        match op {
            Op::Send => {
                if self.state.admits_send(CAPACITY).is_ok() {
                    drop(self.state.accept(&mut Offer::Owned(&mut Message::new(
                        Bytes::from_static(b"m"),
                    ))));
                }
            }
            Op::TrySend => match self.state.admits_try_send(CAPACITY) {
                Ok(()) => {
                    if self.state.phase() == Phase::Idle {
                        let lease = self.state.start_writer().expect("idle and open");
                        self.tasks.push(Task {
                            lease,
                            batch: Pending::default(),
                        });
                    }
                    // Over INLINE_MAX: kept as it was sent, beside the copied ones.
                    drop(
                        self.state
                            .accept(&mut Offer::Owned(&mut Message::new(vec![b't'; 2000]))),
                    );
                }
                Err(refusal) => assert_ne!(refusal, Refusal::NotConnected),
            },
            Op::StartWriter => {
                if let Some(lease) = self.state.start_writer() {
                    assert!(
                        self.tasks
                            .iter()
                            .all(|task| self.state.writer != Some(task.lease.0)),
                        "a second live writer"
                    );
                    self.tasks.push(Task {
                        lease,
                        batch: Pending::default(),
                    });
                }
            }
            Op::ConnectOk(index) => self.writer_op(index, |state, task| {
                if matches!(state.phase(), Phase::Connecting | Phase::Reconnecting) {
                    state.connected(&task.lease, None);
                }
            }),
            Op::ConnectFail(index) => self.writer_op(index, |state, task| {
                if state.phase() == Phase::Connecting && task.batch.is_empty() {
                    state.exit(
                        &task.lease,
                        Exit::ConnectFailed {
                            attempts: 1,
                            reason: "Connection refused".into(),
                        },
                    );
                }
            }),
            Op::ConnectionLost(index) => self.writer_op(index, |state, task| {
                if state.phase() == Phase::Up && task.batch.is_empty() {
                    state.connection_lost(&task.lease, "reset");
                }
            }),
            Op::GiveUp(index) => self.writer_op(index, |state, task| {
                if state.phase() == Phase::Reconnecting {
                    state.exit(
                        &task.lease,
                        Exit::Lost {
                            reason: "gone".into(),
                        },
                    );
                }
            }),
            Op::Step(index) => self.writer_op(index, |state, task| {
                if state.phase() != Phase::Up || !task.batch.is_empty() {
                    return;
                }
                let mut linger = 0;
                match state.next_step(&task.lease, &mut task.batch, Instant::now(), &mut linger) {
                    Next::Close => {
                        state.exit(&task.lease, Exit::Closed);
                    }
                    Next::Write { .. } | Next::Park | Next::Linger | Next::Stale => {}
                }
            }),
            Op::Written(index, written, error) => self.writer_op(index, |state, task| {
                if task.batch.is_empty() {
                    return;
                }
                let total = task.batch.len();
                let written = if error { written.min(total) } else { total };
                let outcome = Written {
                    messages: written,
                    bytes: written as u64 * 5,
                    uncertain: 0,
                };
                state.batch_written(
                    &task.lease,
                    &mut task.batch,
                    outcome,
                    error.then_some("broken pipe"),
                );
                if error && state.writer == Some(task.lease.0) {
                    state.connection_lost(&task.lease, "broken pipe");
                }
            }),
            Op::Disconnect => {
                self.state
                    .request_close(false, Instant::now() + Duration::from_secs(1));
            }
            Op::DropHandle => {
                self.state
                    .request_close(true, Instant::now() + Duration::from_secs(1));
            }
            Op::RuntimeDrop => {
                for task in self.tasks.drain(..) {
                    self.state.exit(
                        &task.lease,
                        Exit::Abandoned {
                            reason: "runtime shut down".into(),
                        },
                    );
                }
            }
            Op::TakeFailures => {
                if let Some((count, _)) = self.state.take_failures() {
                    self.reported += count;
                }
            }
        }
        self.state.check_invariants();
        assert!(self.state.stats.sent >= sent_before);
        assert!(self.state.stats.failed >= failed_before);
        let live = self
            .tasks
            .iter()
            .filter(|task| self.state.writer == Some(task.lease.0))
            .count();
        assert!(live <= 1, "{live} live writers");
        // A task holding a batch is the live writer, or its batch was settled.
        for task in &self.tasks {
            if self.state.writer != Some(task.lease.0) {
                continue;
            }
            assert_eq!(task.batch.len(), self.state.in_flight);
        }
        assert!(self.reported <= self.state.stats.failed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_operation_sequence_keeps_the_invariants(ops in prop::collection::vec(op(), 1..80)) {
        let mut model = Model::new();
        for op in ops {
            model.apply(op);
        }
        // Whatever happened, ending every task settles every message.
        model.apply(Op::RuntimeDrop);
        prop_assert_eq!(model.state.unsettled(), 0);
        let stats = &model.state.stats;
        prop_assert_eq!(stats.accepted, stats.sent + stats.failed);
    }
}

#[test]
fn a_stale_writer_cannot_end_its_successor() {
    let mut model = Model::new();
    model.apply(Op::StartWriter);
    model.apply(Op::ConnectFail(0));
    // A sender starts the successor before the first task's guard runs.
    model.apply(Op::StartWriter);
    model.apply(Op::Send); // not admitted: connecting
    model.apply(Op::TrySend);
    let first = &model.tasks[0].lease;
    assert_eq!(
        model.state.exit(
            first,
            Exit::Abandoned {
                reason: "late guard".into()
            }
        ),
        None
    );
    assert_eq!(model.state.phase(), Phase::Connecting);
    assert_eq!(model.state.pending_len(), 1);
    model.state.check_invariants();
}

#[test]
fn a_runtime_dropped_mid_batch_fails_the_batch() {
    let mut model = Model::new();
    model.apply(Op::TrySend);
    model.apply(Op::ConnectOk(0));
    model.apply(Op::TrySend);
    model.apply(Op::Step(0));
    assert_eq!(model.state.in_flight, 2);
    model.apply(Op::RuntimeDrop);
    assert_eq!(model.state.stats.failed, 2);
    assert_eq!(model.state.take_failures().map(|(count, _)| count), Some(2));
    assert_eq!(model.state.phase(), Phase::Idle);
}
