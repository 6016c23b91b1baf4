//! The global heap: talc over the RAM between the end of the image and the stack, behind
//! [`ZeroedHeap`] so that zeroed allocations of untouched RAM cost nothing.

use super::sync::SingleCoreMutex;
use super::zeroed::{HEAD, SLACK, ZeroedHeap};
use crate::HeapStats;
use talc::TalcLock;
use talc::source::Manual;

const _: () = assert!(talc::min_first_heap_size::<talc::DefaultBinning>() + SLACK <= HEAD);

/// Manual: the heap is claimed once at boot; running out is an allocation failure (which
/// Rust turns into an abort through the panic path).
#[global_allocator]
static HEAP: ZeroedHeap<TalcLock<SingleCoreMutex, Manual>> = ZeroedHeap::new(TalcLock::new(Manual));

/// Hands `[base, base + size)` to the allocator; returns false if it is too small to use.
///
/// # Safety
/// The range must be RAM that nothing else uses, for the rest of the program, and all
/// zero (both hvt tenders map guest RAM fresh, and nothing writes above the image before
/// this).
pub(crate) unsafe fn init(base: usize, size: usize) -> bool {
    // SAFETY: the caller gives us the exclusive, 'static range; `Manual` allows claims.
    let ok = unsafe { HEAP.inner().lock().claim(base as *mut u8, size).is_some() };
    if ok {
        // SAFETY: the caller vouches that the range was zero; it is talc's only arena.
        unsafe { HEAP.claimed(base, size) };
    }
    ok
}

pub(crate) fn stats() -> HeapStats {
    let talc = HEAP.inner().lock();
    let c = talc.counters();
    HeapStats {
        used: c.allocated_bytes,
        total: c.claimed_bytes,
    }
}
