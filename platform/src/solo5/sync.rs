//! Synchronisation for a machine with one vCPU and no interrupts.
//!
//! hvt gives the guest exactly one vCPU, runs it with interrupts masked and has no
//! interrupt controller to deliver any: nothing can preempt the running code. Exception
//! handlers never return. So a critical section needs no masking at all, and a "lock" only
//! has to catch re-entrance (a bug: e.g. allocating from inside the allocator).

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// A `static` that boot code and the single execution context mutate through raw pointers.
/// Every user states in a `// SAFETY:` comment why its access cannot overlap another.
pub(crate) struct BootCell<T>(UnsafeCell<T>);

// SAFETY: one vCPU, no interrupts, exception handlers never return: accesses cannot race.
unsafe impl<T> Sync for BootCell<T> {}

impl<T> BootCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        BootCell(UnsafeCell::new(value))
    }
    pub(crate) const fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
}

/// `critical_section` for hickory-proto's `once_cell` and anyone else: see the module docs.
struct SingleCore;
critical_section::set_impl!(SingleCore);

// SAFETY: with one vCPU and no interrupts, code between acquire and release cannot be
// interleaved with any other code, which is all a critical section promises.
unsafe impl critical_section::Impl for SingleCore {
    unsafe fn acquire() -> critical_section::RawRestoreState {
        Default::default()
    }
    unsafe fn release(_restore: critical_section::RawRestoreState) {}
}

/// A `lock_api` mutex that never waits: taking it while held is a re-entrance bug, and
/// spinning would hang the only CPU forever, so it panics instead.
pub(crate) struct SingleCoreMutex(AtomicBool);

// SAFETY: `lock` returns only after setting the flag from false to true and `unlock` clears
// it, so no two guards exist at once; a second `lock` while held panics instead of
// returning.
unsafe impl talc::lock_api::RawMutex for SingleCoreMutex {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = SingleCoreMutex(AtomicBool::new(false));
    type GuardMarker = talc::lock_api::GuardSend;

    fn lock(&self) {
        if !self.try_lock() {
            panic!("re-entrant lock on the single vCPU");
        }
    }
    fn try_lock(&self) -> bool {
        !self.0.swap(true, Ordering::Acquire)
    }
    unsafe fn unlock(&self) {
        self.0.store(false, Ordering::Release);
    }
}
