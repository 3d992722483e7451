//! A global allocator that counts: wraps `System`, adds atomic counters.
//!
//! Counts every thread (senders, the writer task, the receivers), so a figure
//! taken across a send loop includes whatever the writer allocated meanwhile.
//! What the benchmark's own "user" code allocates to make a payload (the
//! `Vec` a service builds per message) is made inside [`by_user`] and counted
//! apart as well, so that it can be taken off the sink's figure: the sink is
//! not to blame for the user's `Vec`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct CountingAlloc;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static USER_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static USER_BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // Const-initialised and without a destructor, so reading it from inside
    // the allocator neither allocates nor registers anything.
    static MAKING_USER_PAYLOAD: Cell<bool> = const { Cell::new(false) };
}

/// Runs `make` (the user's code that builds a payload) with its allocations
/// counted as the user's as well as in the process-wide total.
#[inline]
pub fn by_user<T>(make: impl FnOnce() -> T) -> T {
    let outer = MAKING_USER_PAYLOAD.replace(true);
    let made = make();
    MAKING_USER_PAYLOAD.set(outer);
    made
}

#[inline]
fn count(bytes: u64) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add(bytes, Ordering::Relaxed);
    // `try_with`: an allocation during thread teardown counts as the sink's.
    if MAKING_USER_PAYLOAD.try_with(Cell::get).unwrap_or(false) {
        USER_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        USER_BYTES.fetch_add(bytes, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only add.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as u64);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as u64);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A realloc is counted as one allocation of the bytes it adds.
        count(new_size.saturating_sub(layout.size()) as u64);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations and bytes allocated so far, process wide, and the part of
/// them made inside [`by_user`].
#[derive(Debug, Clone, Copy)]
pub struct AllocCount {
    pub allocations: u64,
    pub bytes: u64,
    pub user_allocations: u64,
    pub user_bytes: u64,
}

impl AllocCount {
    pub fn now() -> AllocCount {
        AllocCount {
            allocations: ALLOCATIONS.load(Ordering::Relaxed),
            bytes: BYTES.load(Ordering::Relaxed),
            user_allocations: USER_ALLOCATIONS.load(Ordering::Relaxed),
            user_bytes: USER_BYTES.load(Ordering::Relaxed),
        }
    }

    /// What was allocated since `self`.
    pub fn since(self) -> AllocCount {
        let now = AllocCount::now();
        AllocCount {
            allocations: now.allocations - self.allocations,
            bytes: now.bytes - self.bytes,
            user_allocations: now.user_allocations - self.user_allocations,
            user_bytes: now.user_bytes - self.user_bytes,
        }
    }

    /// Allocations not made by the user's payload code: the sink's (and
    /// whatever tokio or the receivers allocated meanwhile).
    pub fn sink_allocations(&self) -> u64 {
        self.allocations - self.user_allocations
    }

    /// Bytes allocated not by the user's payload code.
    pub fn sink_bytes(&self) -> u64 {
        self.bytes - self.user_bytes
    }
}
