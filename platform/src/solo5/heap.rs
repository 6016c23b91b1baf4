//! The global heap: talc over the RAM between the end of the image and the stack.

use super::sync::SingleCoreMutex;
use crate::HeapStats;
use talc::TalcLock;
use talc::source::Manual;

/// Manual: the heap is claimed once at boot; running out is an allocation failure (which
/// Rust turns into an abort through the panic path).
#[global_allocator]
static HEAP: TalcLock<SingleCoreMutex, Manual> = TalcLock::new(Manual);

/// Hands `[base, base + size)` to the allocator; returns false if it is too small to use.
///
/// # Safety
/// The range must be RAM that nothing else uses, for the rest of the program.
pub(crate) unsafe fn init(base: usize, size: usize) -> bool {
    // SAFETY: the caller gives us the exclusive, 'static range; `Manual` allows claims.
    unsafe { HEAP.lock().claim(base as *mut u8, size).is_some() }
}

pub(crate) fn stats() -> HeapStats {
    let talc = HEAP.lock();
    let c = talc.counters();
    HeapStats {
        used: c.allocated_bytes,
        total: c.claimed_bytes,
    }
}
