//! What happens when the last strong reference to an object goes: the object
//! leaves the collector's view, its finalizer runs once, its value is dropped
//! and its memory returned, all immediately — unless destruction is already
//! nested [`MAX_DEPTH`] deep, in which case the object waits in the heap's
//! deferred queue (CPython's "trashcan"), so dropping a 10-million-long chain
//! never overflows the stack.
//!
//! Invariants:
//! - An object whose count reached zero is first made unreachable for every
//!   other path: unlinked from its generation, its weak cell cleared, removed
//!   from the intern table. Nothing can hand out a new `Gc` to it afterwards,
//!   so its finalizer cannot resurrect it.
//! - Objects marked `DEAD` belong to the collector's teardown: reaching zero
//!   does nothing, except for an `ORPHAN` (torn down while still referenced),
//!   whose memory is freed then.

use core::ptr::NonNull;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::header::{flags, links_of, BoxLayout, Header};
use crate::heap::{self, epoch, Heap};
use crate::list;

/// Destruction nesting depth after which objects are queued instead.
const MAX_DEPTH: usize = 8;

/// Give up one strong count of `h` (the drop of every handle: `Gc`,
/// `GcAny`, and the counts the collector and the heap's tables own). When
/// it was the last one, the object is released.
///
/// # Safety
/// The caller must own one strong count of the live object `h`, and not use
/// it afterwards.
#[inline]
pub(crate) unsafe fn dec_strong(h: NonNull<Header>) {
    // SAFETY: live while the caller's count is held.
    let hdr = unsafe { h.as_ref() };
    let n = hdr.strong.get() - 1;
    hdr.strong.set(n);
    if n == 0 {
        // SAFETY: the count just reached zero; the allocation is live.
        unsafe { release(h) }
    } else if hdr.has(flags::IN_GEN) {
        // A candidate: the collector may not skip its next collections.
        epoch::note_decrement();
    }
}

/// The strong count of `h` just reached zero.
///
/// # Safety
/// `h` must point to the header of a live allocation whose strong count is 0.
#[inline(never)]
pub(crate) unsafe fn release(h: NonNull<Header>) {
    // SAFETY: the allocation is still live (caller).
    let hdr = unsafe { h.as_ref() };
    if hdr.has(flags::DEAD) {
        // Tested here, before any other work of this function: a teardown
        // meets this once per edge between garbage members.
        if hdr.has(flags::ORPHAN) {
            // SAFETY: forwarded from the caller; an `ORPHAN`.
            unsafe { release_orphan(h) };
        }
        // Otherwise being torn down by the collector, which frees it.
        return;
    }
    // SAFETY: forwarded from the caller; not `DEAD`.
    unsafe { release_alive(h) }
}

/// [`release`] of an object that is not `DEAD` (out of line, so that
/// `release` itself saves no registers before its `DEAD` test).
///
/// # Safety
/// As [`release`], and `h` is not `DEAD`.
#[inline(never)]
unsafe fn release_alive(h: NonNull<Header>) {
    // SAFETY: the allocation is still live (caller).
    let hdr = unsafe { h.as_ref() };
    let Some(heap) = heap::current() else {
        // The thread's heap is gone: leak rather than run code against it.
        return;
    };
    // SAFETY: the object is alive and its count is zero.
    unsafe { unregister(heap, h) };
    let vt = hdr.vtable();
    if !vt.needs_drop && !vt.has_finalizer {
        // No user code runs, so nothing nests or queues behind this object:
        // free it at once. (Objects a panic left in the deferred queue wait
        // for the next release that runs code, or the next collection, which
        // destroys them before it begins.)
        // SAFETY: unregistered, nothing to drop, nobody else can reach it.
        unsafe { free(heap, h) };
        return;
    }
    let depth = heap.destruction.depth.get();
    if depth >= MAX_DEPTH {
        heap.destruction.deferred.borrow_mut().push(h);
        return;
    }
    let nested = Nested::enter(heap);
    // SAFETY: unregistered above; nobody else can reach it.
    unsafe { destroy(heap, h) };
    drop(nested);
    if depth == 0 && heap.has_deferred() {
        drain_deferred(heap);
    }
}

/// [`release`] of an orphan (torn down by the collector while still
/// referenced) whose last handle just went: its memory is freed now.
///
/// # Safety
/// As [`release`], and `h` is `DEAD` and an `ORPHAN`.
#[cold]
#[inline(never)]
unsafe fn release_orphan(h: NonNull<Header>) {
    let Some(heap) = heap::current() else {
        return;
    };
    // SAFETY: an orphan's value was dropped by the collector and the last
    // handle just went; it is in an orphan list (real links).
    unsafe {
        list::unlink(links_of(h));
        free(heap, h);
    }
}

/// One level of destruction nesting; restores the depth even on unwind.
struct Nested<'a>(&'a Heap, usize);

impl<'a> Nested<'a> {
    fn enter(heap: &'a Heap) -> Nested<'a> {
        let depth = heap.destruction.depth.get();
        heap.destruction.depth.set(depth + 1);
        Nested(heap, depth)
    }
}

impl Drop for Nested<'_> {
    fn drop(&mut self) {
        self.0.destruction.depth.set(self.1);
    }
}

/// Take an object out of every heap structure that could hand it out again:
/// its generation list, the weak table, the intern table.
///
/// # Safety
/// `h` must be a live object that is not `DEAD`, not under analysis by the
/// collector, and about to be destroyed or moved out.
#[inline]
pub(crate) unsafe fn unregister(heap: &Heap, h: NonNull<Header>) {
    // SAFETY: live (caller).
    let hdr = unsafe { h.as_ref() };
    if hdr.vtable().tracked {
        // SAFETY: tracked objects have links; outside the analysis phases
        // they are real list pointers, a self-loop or an incremental slot.
        unsafe { heap::incremental::unlink_tracked(&heap.incremental, links_of(h)) };
        heap.leave_gen(hdr);
        heap.policy.count_free();
    }
    if hdr.has(flags::HAS_WEAK | flags::INTERNED | flags::SITE) {
        if hdr.has(flags::HAS_WEAK) {
            // SAFETY: live (caller).
            unsafe { heap.clear_weak(h) };
        }
        if hdr.has(flags::INTERNED) {
            // SAFETY: live (caller); only `str` objects are interned.
            unsafe { heap.forget_interned(h) };
        }
        if hdr.has(flags::SITE) {
            // SAFETY: live (caller).
            unsafe { heap.forget_site(h) };
        }
    }
}

/// Finalize (once in a life), drop and free an unregistered object.
///
/// # Safety
/// `h` must be an unregistered, live object that nothing else will touch.
// Always inlined: as a call of its own from `release` it cost a tree's
// drop 14 instructions per node (callgrind, 16k -> 32k nodes).
#[inline(always)]
unsafe fn destroy(heap: &Heap, h: NonNull<Header>) {
    // SAFETY: live (caller).
    let hdr = unsafe { h.as_ref() };
    let vt = hdr.vtable();
    if vt.has_finalizer && !hdr.has(flags::FINALIZED) {
        hdr.set(flags::FINALIZED);
        // SAFETY: the value is intact.
        unsafe { run_finalizer(h) };
    }
    // Free the memory even if dropping the value panics, as the value counts
    // as dropped then (its remaining fields were dropped while unwinding).
    struct FreeOnUnwind<'a>(&'a Heap, NonNull<Header>);
    impl Drop for FreeOnUnwind<'_> {
        fn drop(&mut self) {
            // SAFETY: the value was dropped (partially, by unwinding) and
            // nothing else refers to the object.
            unsafe { free(self.0, self.1) }
        }
    }
    if vt.needs_drop {
        let guard = FreeOnUnwind(heap, h);
        // SAFETY: the value is intact and dropped exactly once.
        unsafe { (vt.drop_value)(h) };
        core::mem::forget(guard);
    }
    // SAFETY: the value is dropped and nothing else refers to the object.
    unsafe { free(heap, h) };
}

/// Run the finalizer of `h`, reporting (not propagating) a panic.
///
/// # Safety
/// `h` must be a live object whose value is intact.
pub(crate) unsafe fn run_finalizer(h: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let vt = unsafe { h.as_ref() }.vtable();
    // SAFETY: as above; the finalizer gets a shared reference only.
    let call = || unsafe { (vt.finalize)(h) };
    let result = catch_unwind(AssertUnwindSafe(|| match heap::current() {
        Some(heap) => heap.in_hook(call),
        None => call(),
    }));
    if let Err(payload) = result {
        crate::output::panic_in("finalizer", (vt.type_name)(), payload);
    }
}

/// Return the memory of an object whose value is gone.
///
/// # Safety
/// The value of `h` must have been dropped or moved out, and no handle may
/// use the allocation afterwards.
#[inline]
pub(crate) unsafe fn free(heap: &Heap, h: NonNull<Header>) {
    // SAFETY: the allocation is live until the `dealloc` below.
    let vt = unsafe { h.as_ref() }.vtable();
    match &vt.fixed_layout {
        // SAFETY: forwarded from the caller; the layout of its type.
        Some(layout) => unsafe { free_with_layout(heap, h, *layout) },
        // SAFETY: forwarded from the caller.
        None => unsafe { free_unsized(heap, h) },
    }
}

/// [`free`] for slices and `str`, whose layout depends on their length (kept
/// out of line so that the sized path reads its layout straight from the
/// vtable).
///
/// # Safety
/// As [`free`].
#[cold]
#[inline(never)]
unsafe fn free_unsized(heap: &Heap, h: NonNull<Header>) {
    // SAFETY: the allocation is live until it is freed below; its type has
    // no fixed layout, so `layout` reads its length.
    let layout = unsafe { (h.as_ref().vtable().layout)(h) };
    // SAFETY: forwarded from the caller.
    unsafe { free_with_layout(heap, h, layout) }
}

/// # Safety
/// As [`free`]; `layout` is the allocation's layout.
#[inline(always)]
unsafe fn free_with_layout(heap: &Heap, h: NonNull<Header>, layout: BoxLayout) {
    // SAFETY: the header sits `header_offset` bytes into the allocation.
    let base = unsafe { h.cast::<u8>().sub(layout.header_offset) };
    // SAFETY: allocated by this heap with this layout (see `Gc::new`).
    unsafe { heap.dealloc(base, layout.layout) };
}

/// Destroy every queued object (and whatever they queue in turn). A
/// panicking drop unwinds to the caller, as a drop of the last `Gc` does;
/// the objects still queued wait for the next drain.
pub(crate) fn drain_deferred(heap: &Heap) {
    while let Some(h) = pop_deferred(heap) {
        // SAFETY: queued objects were unregistered by `release`.
        unsafe { destroy_queued(heap, h) };
    }
}

/// [`drain_deferred`] for the collector and thread exit, where no panic may
/// escape: a panicking drop is reported and the queue is drained on (the
/// object whose drop panicked was freed while unwinding).
pub(crate) fn drain_deferred_reporting(heap: &Heap) {
    while let Some(h) = pop_deferred(heap) {
        // SAFETY: queued objects are live until destroyed.
        let type_name = (unsafe { h.as_ref() }.vtable().type_name)();
        // SAFETY: queued objects were unregistered by `release`.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { destroy_queued(heap, h) }));
        if let Err(payload) = result {
            crate::output::panic_in("drop", type_name, payload);
        }
    }
}

fn pop_deferred(heap: &Heap) -> Option<NonNull<Header>> {
    heap.destruction.deferred.borrow_mut().pop()
}

/// Destroy a queued object one nesting level down.
///
/// # Safety
/// `h` must have been taken from the deferred queue.
unsafe fn destroy_queued(heap: &Heap, h: NonNull<Header>) {
    let nested = Nested::enter(heap);
    // SAFETY: queued objects were unregistered by `release`; nobody else
    // can reach them.
    unsafe { destroy(heap, h) };
    drop(nested);
}
