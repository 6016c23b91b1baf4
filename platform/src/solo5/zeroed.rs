//! `alloc_zeroed` that does not clear memory nobody has written yet.
//!
//! Both hvt tenders map guest RAM fresh (anonymous `mmap`), so the heap starts out all
//! zero. Clearing a block that was never touched costs nothing natively, but under an
//! emulating hypervisor every `rep stosq` iteration is emulated: zeroing the port 53
//! socket's 128 KiB of buffers was ~10 ms of a ~50 ms boot on the CI machine (issue 7,
//! `docs/KVM-PVM.md`). [`ZeroedHeap`] wraps the heap's allocator and remembers
//! `clean_from`: everything from there up to `tail` has never been handed out and never
//! been written. A zeroed block gets cleared only where it lies below `clean_from` or
//! above `tail`.
//!
//! What this relies on about the allocator (talc, a boundary-tag allocator): it writes
//! its metadata only at chunk boundaries — the tag and the next gap's header right after
//! a block it hands out (within [`SLACK`] bytes of the block's end), a gap's size at the
//! gap's end (the arena's end for the top gap: within [`TAIL`] bytes of it), and its bin
//! table at the arena's start (within [`HEAD`] bytes). Every block it hands out, however
//! it got it (allocate, grow in place, move), passes through here and moves `clean_from`
//! past its end. `tests` below check the property against talc itself.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

/// Bytes past a block's end the allocator may write (its tag, the next gap's header).
pub(crate) const SLACK: usize = 256;
/// Bytes at the arena's start the allocator writes when it claims it (its bin table).
pub(crate) const HEAD: usize = 2048;
/// Bytes at the arena's end the allocator may write (the top gap's size).
pub(crate) const TAIL: usize = 256;

/// An allocator whose `alloc_zeroed` skips memory known to be untouched.
pub(crate) struct ZeroedHeap<A> {
    inner: A,
    /// Lowest address of the never-touched part of the arena (0: none known, clear all).
    clean_from: AtomicUsize,
    /// Start of the arena's last bytes, which the allocator writes.
    tail: AtomicUsize,
}

impl<A> ZeroedHeap<A> {
    pub(crate) const fn new(inner: A) -> Self {
        ZeroedHeap {
            inner,
            clean_from: AtomicUsize::new(usize::MAX),
            tail: AtomicUsize::new(usize::MAX),
        }
    }

    pub(crate) fn inner(&self) -> &A {
        &self.inner
    }

    /// Declares `[base, base + size)`, just claimed by the inner allocator, zero apart from
    /// what the claim wrote.
    ///
    /// # Safety
    /// The range must be all zero before the claim, and the only arena of `inner`.
    pub(crate) unsafe fn claimed(&self, base: usize, size: usize) {
        let end = base.saturating_add(size);
        self.tail
            .store(end.saturating_sub(TAIL).max(base), Ordering::Relaxed);
        self.clean_from
            .store(base.saturating_add(HEAD).min(end), Ordering::Relaxed);
    }

    /// A block `[p, p + size)` was handed out: nothing below its end plus [`SLACK`] is
    /// clean any more.
    fn note(&self, p: *mut u8, size: usize) {
        if !p.is_null() {
            let end = (p as usize).saturating_add(size).saturating_add(SLACK);
            self.clean_from.fetch_max(end, Ordering::Relaxed);
        }
    }
}

// SAFETY: every method forwards to `inner` with the caller's arguments unchanged, and
// `alloc_zeroed` returns a block whose bytes are all zero: those below `clean_from` or at
// or above `tail` are cleared here, and the ones between were never written (see the
// module docs: untouched RAM is zero, and the inner allocator writes nowhere in there).
unsafe impl<A: GlobalAlloc> GlobalAlloc for ZeroedHeap<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { self.inner.alloc(layout) };
        self.note(p, layout.size());
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let clean = self.clean_from.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { self.inner.alloc(layout) };
        if p.is_null() {
            return p;
        }
        let size = layout.size();
        let (start, end) = (p as usize, (p as usize).saturating_add(size));
        let dirty_low = end.min(clean).saturating_sub(start);
        if dirty_low > 0 {
            // SAFETY: [p, p + dirty_low) lies inside the block just allocated.
            unsafe { p.write_bytes(0, dirty_low) };
        }
        let tail_from = tail.max(start + dirty_low);
        if tail_from < end {
            // SAFETY: [tail_from, end) lies inside the block.
            unsafe { p.add(tail_from - start).write_bytes(0, end - tail_from) };
        }
        self.note(p, size);
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { self.inner.realloc(ptr, layout, new_size) };
        self.note(p, new_size);
        p
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;
    use talc::source::Manual;

    struct Block {
        p: *mut u8,
        layout: Layout,
    }

    /// Random allocations, zeroed allocations, reallocations and frees over a talc arena
    /// that starts zeroed, every block filled with garbage while it lives: every zeroed
    /// block must come back all zero.
    #[test]
    fn talc_claims_at_most_head() {
        assert!(talc::min_first_heap_size::<talc::DefaultBinning>() + SLACK <= HEAD);
    }

    #[test]
    fn zeroed_blocks_are_zero_under_talc() {
        // A small arena fills up to its end (and fails allocations); a large one does not.
        for arena in [300 << 10, 4 << 20] {
            random_ops(arena);
        }
    }

    fn random_ops(arena_size: usize) {
        let arena_layout = Layout::from_size_align(arena_size, 4096).unwrap();
        // SAFETY: a nonzero size.
        let arena = unsafe { std::alloc::alloc_zeroed(arena_layout) };
        assert!(!arena.is_null());
        let heap = ZeroedHeap::new(talc::TalcCell::new(Manual));
        // SAFETY: the arena is ours, zeroed, and outlives the heap's use below.
        unsafe {
            heap.inner().claim(arena, arena_size).unwrap();
            heap.claimed(arena as usize, arena_size);
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut live: Vec<Block> = Vec::new();
        let mut zeroed = 0;
        for round in 0..20_000 {
            let r = next();
            let size = match r % 8 {
                0 => 1 + (r >> 8) as usize % 16,
                1..=4 => 1 + (r >> 8) as usize % 512,
                5 | 6 => 1 + (r >> 8) as usize % 16_384,
                _ => 1 + (r >> 8) as usize % 200_000,
            };
            let align = 1usize << ((r >> 40) % 13);
            let layout = Layout::from_size_align(size, align).unwrap();
            match (r >> 50) % 6 {
                0 | 1 if !live.is_empty() => {
                    let b = live.swap_remove((r >> 20) as usize % live.len());
                    // SAFETY: allocated above with this layout.
                    unsafe { heap.dealloc(b.p, b.layout) };
                }
                2 if !live.is_empty() => {
                    let i = (r >> 20) as usize % live.len();
                    let b = &mut live[i];
                    // SAFETY: allocated above with this layout; size nonzero.
                    let p = unsafe { heap.realloc(b.p, b.layout, size) };
                    if !p.is_null() {
                        // SAFETY: the new block has `size` bytes.
                        unsafe { p.write_bytes(0xa5, size) };
                        b.p = p;
                        b.layout = Layout::from_size_align(size, b.layout.align()).unwrap();
                    }
                }
                3 | 4 => {
                    // SAFETY: nonzero size.
                    let p = unsafe { heap.alloc_zeroed(layout) };
                    if !p.is_null() {
                        // SAFETY: the block has `size` bytes.
                        let s = unsafe { std::slice::from_raw_parts(p, size) };
                        assert!(s.iter().all(|b| *b == 0), "round {round}: {size} B");
                        zeroed += 1;
                        // SAFETY: as above.
                        unsafe { p.write_bytes(0xa5, size) };
                        live.push(Block { p, layout });
                    }
                }
                _ => {
                    // SAFETY: nonzero size.
                    let p = unsafe { heap.alloc(layout) };
                    if !p.is_null() {
                        // SAFETY: the block has `size` bytes.
                        unsafe { p.write_bytes(0xa5, size) };
                        live.push(Block { p, layout });
                    }
                }
            }
        }
        assert!(zeroed > 2_000, "{zeroed}");
        for b in live {
            // SAFETY: allocated above with this layout.
            unsafe { heap.dealloc(b.p, b.layout) };
        }
        // SAFETY: allocated above with this layout; the heap is no longer used.
        unsafe { std::alloc::dealloc(arena, arena_layout) };
    }
}
