//! Teardown of garbage: every value dropped while every allocation that can
//! still reach it is valid, every allocation freed once nothing refers to it
//! (CPython's `delete_garbage`, which in Rust must also drop the values).
//!
//! Invariants:
//! - Every member is flagged `DEAD` before any value is dropped: a `Drop`
//!   impl that reaches a dead member through a `Gc` panics instead of reading
//!   a dropped value, and `lifecycle::release` ignores a `DEAD` member that is
//!   not an `ORPHAN`, so nothing ahead of the walk is freed by user code.
//! - The walk never reads the garbage list behind itself.

use core::ptr::{self, NonNull};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{trace_object, AbortOnPanic, TRACE_PANICKED, WALK_PREFETCH};
use crate::header::{flags, header_of, Links};
use crate::heap::Heap;
use crate::lifecycle;
use crate::list::List;
use crate::prefetch::prefetch;
use crate::tracer::{TraceKind, Tracer};

/// Garbage sets from this size on may be torn down looking one object ahead
/// (as [`LookAhead`] decides); smaller ones never are. Under Miri the sizes
/// here are small (as the pool's are), so that its tests, which cannot build
/// sets of thousands of objects, reach the look-ahead code too.
const LOOK_AHEAD_MIN: usize = if cfg!(miri) { 16 } else { 1 << 14 };

/// Objects traced ahead in a probe of whether looking ahead pays.
const PROBE: usize = if cfg!(miri) { 8 } else { 64 };

/// A probe that met fewer far targets than this turns looking ahead off.
const FAR_MIN: usize = 4;

/// Objects torn down after a probe (looking ahead or not, as it decided)
/// before the next probe.
const RUN: usize = if cfg!(miri) { 16 } else { 1024 };

/// Whether teardown traces the next object ahead of its drop.
///
/// Tracing ahead pays when the next drop decrements counts far away in
/// memory (a random graph: each such count is a cache miss, and a prefetch
/// issued one object earlier overlaps it with the current drop). It costs
/// about 30 instructions an object, for nothing, when the targets lie next
/// to the object (a ring, a list, a tree built in order), which the walk's
/// own prefetch and the hardware already bring in. So the walk probes
/// [`PROBE`] objects, counting the targets that lie more than
/// [`WALK_PREFETCH`] bytes from the object traced, and then tears down
/// [`RUN`] objects tracing ahead only if the probe met at least [`FAR_MIN`]
/// far targets. On a set whose targets all lie near, 64 of every 1088
/// objects are traced ahead; on one whose targets lie far, all are, 64 of
/// them with the distance check.
struct LookAhead {
    /// Tracing ahead now (during a probe, the tracer's kind is
    /// `PrefetchProbe`; otherwise `Prefetch`).
    tracing: bool,
    /// Objects left before the next decision.
    left: usize,
}

impl LookAhead {
    /// Start with a probe.
    fn new(tracer: &mut Tracer) -> LookAhead {
        tracer.kind = TraceKind::PrefetchProbe { base: 0, far: 0 };
        LookAhead {
            tracing: true,
            left: PROBE,
        }
    }

    /// Count one object torn down, and decide at the end of a probe or a
    /// run.
    #[inline]
    fn step(&mut self, tracer: &mut Tracer) {
        self.left -= 1;
        if self.left == 0 {
            self.decide(tracer);
        }
    }

    #[cold]
    fn decide(&mut self, tracer: &mut Tracer) {
        if let TraceKind::PrefetchProbe { far, .. } = tracer.kind {
            // A probe ends.
            self.tracing = far >= FAR_MIN;
            tracer.kind = TraceKind::Prefetch;
            self.left = RUN;
        } else {
            // A run ends.
            self.tracing = true;
            tracer.kind = TraceKind::PrefetchProbe { base: 0, far: 0 };
            self.left = PROBE;
        }
    }
}

/// Drop every value of `garbage` (all flagged `DEAD`) and free each object
/// once nothing refers to it any more, in one walk and a short second one:
/// an object whose count is zero once its own value is dropped is freed at
/// once; the others (still referred to by a member not yet dropped, or by a
/// handle a `Drop` impl kept) wait on a stack, and after the walk those whose
/// count has reached zero meanwhile are freed too. So every allocation of the
/// set stays valid while anything can still reach it. Objects still
/// referenced at the end become `ORPHAN`s in `orphans` (freed when their last
/// handle goes). Returns their number.
pub(super) fn tear_down(heap: &Heap, garbage: &List, size: usize, orphans: &List) -> usize {
    // Tracing ahead pays only when the set is too big for the cache; the
    // walk of a small set (most collections) has no look-ahead code at all.
    let mut waiting = if size >= LOOK_AHEAD_MIN {
        drop_values::<true>(heap, garbage)
    } else {
        drop_values::<false>(heap, garbage)
    };
    garbage.init();
    let mut left = 0;
    while let Some(l) = NonNull::new(waiting) {
        // SAFETY: waiting objects are allocated (freed only here or, as
        // orphans, after this loop); their `next` links the stack.
        waiting = unsafe { l.as_ref() }.next.get();
        prefetch(l.as_ptr().cast::<u8>().wrapping_add(WALK_PREFETCH));
        // SAFETY: as above.
        let h = unsafe { header_of(l) };
        // SAFETY: as above.
        let hdr = unsafe { h.as_ref() };
        if hdr.strong.get() == 0 {
            // SAFETY: value dropped and no handle left.
            unsafe { lifecycle::free(heap, h) };
        } else {
            // Kept by a handle a `Drop` impl stored: freed by `release` when
            // that handle goes.
            hdr.set(flags::ORPHAN);
            // SAFETY: in no list now.
            unsafe { orphans.push_back(l) };
            left += 1;
        }
    }
    left
}

/// The first walk of [`tear_down`]: drop every value, newest first, freeing
/// each object whose count is zero once its value is dropped; returns the
/// others, linked through `next`. With `LOOK`, the next object is traced
/// ahead as [`LookAhead`] decides.
fn drop_values<const LOOK: bool>(heap: &Heap, garbage: &List) -> *mut Links {
    // The walk goes backwards, newest objects first: objects usually refer
    // to older ones, so a value's drop mostly takes the last count of
    // members still ahead, which are then freed as the walk meets them.
    // Walking stays valid: nothing ahead of the walk is freed (`release`
    // ignores a `DEAD` object that is not an `ORPHAN`; user code in the
    // drops cannot unlink one: `get_mut`/`try_unwrap` panic on it), and the
    // `garbage` list is never read again behind the walk.
    let end = garbage.head_ptr();
    let mut prefetcher = Tracer::new(TraceKind::Prefetch);
    let mut look_ahead = LookAhead::new(&mut prefetcher);
    // Objects waiting for their count to reach zero, linked through `next`.
    let mut waiting: *mut Links = ptr::null_mut();
    // SAFETY: the sentinel's `prev` is intact.
    let mut cur = NonNull::new(unsafe { (*end).prev.get() }).filter(|p| p.as_ptr() != end);
    while let Some(l) = cur {
        // SAFETY: `l` is ahead of the walk, so still allocated.
        let prev = unsafe { l.as_ref() }.prev.get();
        prefetch(l.as_ptr().cast::<u8>().wrapping_sub(WALK_PREFETCH));
        cur = if prev == end {
            None
        } else {
            NonNull::new(prev)
        };
        if let Some(ahead) = cur.filter(|_| LOOK && look_ahead.tracing) {
            // Bring in the counts the next drop will decrement.
            // SAFETY: ahead of the walk: allocated, value not yet dropped.
            let ahead = unsafe { header_of(ahead) };
            if let TraceKind::PrefetchProbe { base, .. } = &mut prefetcher.kind {
                *base = ahead.as_ptr() as usize;
            }
            let guard = AbortOnPanic(TRACE_PANICKED);
            // SAFETY: as above.
            unsafe { trace_object(ahead, &mut prefetcher) };
            core::mem::forget(guard);
        }
        if LOOK {
            look_ahead.step(&mut prefetcher);
        }
        // SAFETY: as above.
        let h = unsafe { header_of(l) };
        // SAFETY: as above.
        let hdr = unsafe { h.as_ref() };
        let vt = hdr.vtable();
        hdr.clear(flags::COLLECTING);
        if hdr.has(flags::SITE) {
            // Its memory is returned by this teardown (now, or as an orphan):
            // it is no longer a live object of its allocation site.
            // SAFETY: allocated until this teardown frees it.
            unsafe { heap.forget_site(h) };
        }
        if vt.needs_drop {
            // SAFETY: each value is dropped exactly once, while every
            // object that can reach it is still allocated; `DEAD` makes any
            // access through a `Gc` panic instead of reading a dropped value.
            let result = catch_unwind(AssertUnwindSafe(|| unsafe { (vt.drop_value)(h) }));
            if let Err(payload) = result {
                crate::output::panic_in("drop", (vt.type_name)(), payload);
            }
        }
        heap.policy.count_free();
        if hdr.strong.get() == 0 {
            // SAFETY: value dropped and no handle left; no list is read
            // through it again.
            unsafe { lifecycle::free(heap, h) };
        } else {
            // SAFETY: `l` left `garbage` (never read behind the walk); its
            // `next` is free.
            unsafe { l.as_ref() }.next.set(waiting);
            waiting = l.as_ptr();
        }
    }
    waiting
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::Header;
    use crate::Gc;

    fn far_of(tracer: &Tracer) -> Option<usize> {
        match tracer.kind {
            TraceKind::PrefetchProbe { far, .. } => Some(far),
            TraceKind::Prefetch => None,
            _ => unreachable!("teardown's tracer only prefetches"),
        }
    }

    /// Let the probe under way meet `n` far targets.
    fn meet_far(tracer: &mut Tracer, n: usize) {
        match &mut tracer.kind {
            TraceKind::PrefetchProbe { far, .. } => *far = n,
            _ => panic!("no probe under way"),
        }
    }

    #[test]
    fn near_targets_turn_look_ahead_off_until_the_next_probe() {
        let mut tracer = Tracer::new(TraceKind::Prefetch);
        let mut la = LookAhead::new(&mut tracer);
        for _ in 0..3 {
            assert_eq!(far_of(&tracer), Some(0), "each probe counts afresh");
            for _ in 0..PROBE {
                assert!(la.tracing);
                la.step(&mut tracer);
                if far_of(&tracer).is_some() {
                    meet_far(&mut tracer, FAR_MIN - 1);
                }
            }
            assert_eq!(far_of(&tracer), None);
            for _ in 0..RUN {
                assert!(!la.tracing);
                la.step(&mut tracer);
            }
        }
    }

    #[test]
    fn far_targets_keep_look_ahead_on() {
        let mut tracer = Tracer::new(TraceKind::Prefetch);
        let mut la = LookAhead::new(&mut tracer);
        for _ in 0..3 {
            for i in 0..PROBE {
                assert!(la.tracing);
                if i == PROBE - 1 {
                    meet_far(&mut tracer, FAR_MIN);
                }
                la.step(&mut tracer);
            }
            assert_eq!(far_of(&tracer), None, "a run traces without counting");
            for _ in 0..RUN {
                assert!(la.tracing);
                la.step(&mut tracer);
            }
        }
    }

    /// Objects whose teardown runs the look-ahead code: a probe, a run and
    /// the next probe. Each object points half the set away: outside Miri
    /// such a target lies far, so the run traces ahead too; under Miri the
    /// addresses decide. The probes trace ahead either way, and that is the
    /// code Miri checks here.
    const LOOKED_AHEAD: usize = LOOK_AHEAD_MIN + 2 * PROBE + RUN;

    struct Counted {
        next: core::cell::RefCell<Option<Gc<Counted>>>,
        drops: std::rc::Rc<core::cell::Cell<usize>>,
    }
    impl crate::Finalize for Counted {}
    // SAFETY: reports the one `Gc` it owns (or says it could not).
    unsafe impl crate::Trace for Counted {
        fn trace(&self, tracer: &mut Tracer) {
            self.next.trace(tracer)
        }
    }
    impl Drop for Counted {
        fn drop(&mut self) {
            self.drops.set(self.drops.get() + 1);
        }
    }

    #[test]
    fn a_big_garbage_set_is_torn_down_looking_ahead() {
        crate::gc::collect();
        let drops = std::rc::Rc::new(core::cell::Cell::new(0));
        let nodes: Vec<Gc<Counted>> = (0..LOOKED_AHEAD)
            .map(|_| {
                Gc::new(Counted {
                    next: core::cell::RefCell::new(None),
                    drops: drops.clone(),
                })
            })
            .collect();
        for (i, n) in nodes.iter().enumerate() {
            *n.next.borrow_mut() = Some(nodes[(i + LOOKED_AHEAD / 2) % LOOKED_AHEAD].clone());
        }
        drop(nodes);
        assert_eq!(drops.get(), 0, "every node is referenced by another");
        assert_eq!(crate::gc::collect(), LOOKED_AHEAD);
        assert_eq!(drops.get(), LOOKED_AHEAD, "every value dropped once");
    }

    /// The probe counts exactly the targets more than
    /// `WALK_PREFETCH` bytes from its base, on either side of it.
    #[test]
    fn prefetch_probe_counts_far_targets() {
        let small: Vec<Gc<u64>> = (0..4).map(Gc::new).collect();
        // A value bigger than the window lies far from the small ones.
        let big = Gc::new([0u8; 3 * WALK_PREFETCH]);
        let mut targets: Vec<NonNull<Header>> = small.iter().map(Gc::header_ptr).collect();
        targets.push(big.header_ptr());
        let mut saw_far = false;
        for base in &targets {
            let base = base.as_ptr() as usize;
            let mut tracer = Tracer::new(TraceKind::PrefetchProbe { base, far: 0 });
            let mut expected = 0;
            for &t in &targets {
                // SAFETY: `t` is the header of a live `Gc` held above.
                unsafe { tracer.edge(t) };
                if (t.as_ptr() as usize).abs_diff(base) > WALK_PREFETCH {
                    expected += 1;
                }
            }
            saw_far |= expected > 0;
            match tracer.kind {
                TraceKind::PrefetchProbe { far, .. } => assert_eq!(far, expected),
                _ => unreachable!(),
            }
        }
        assert!(saw_far, "the big value lies more than a window away");
    }
}
