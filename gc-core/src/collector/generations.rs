//! Generation moves: survivors aging, garbage that survives rejoining a
//! generation, `freeze`/`unfreeze`, enumeration of generations, and the
//! automatic-collection policy (which generation an allocation collects).
//!
//! Invariants:
//! - `IN_GEN` is set on exactly the objects moved into one of the
//!   generations, and cleared on those moved out (see `heap`).

use super::{collect, incremental, Reason};
use crate::header::{flags, header_of, Header};
use crate::heap::{epoch, Heap, GENERATIONS};
use crate::list::List;
use core::ptr::NonNull;

/// Garbage that survives after all (resurrected, or kept by `SAVEALL`) goes
/// back into generation `older`.
pub(super) fn rejoin_generation(heap: &Heap, objects: &List, older: usize) {
    for l in objects.iter() {
        // SAFETY: live objects.
        let hdr = unsafe { header_of(l).as_ref() };
        hdr.clear(flags::COLLECTING | flags::DEAD);
        heap.enter_gen(hdr);
    }
    heap.lists.gens[older].append(objects);
}

/// Survivors of a collection of `generation` move to the next older one
/// (the oldest stays), and the long-lived rule's counters follow: a gen-1
/// collection adds its survivors to the pending ones, a full collection
/// resets the rule with its survivors as the new total. Returns the
/// generation they moved to.
pub(super) fn age_survivors(heap: &Heap, generation: usize, survivors: &List, n: usize) -> usize {
    let older = (generation + 1).min(GENERATIONS - 1);
    let policy = &heap.policy;
    if generation == GENERATIONS - 2 {
        let p = &policy.long_lived_pending;
        p.set(p.get() + n);
    } else if generation == GENERATIONS - 1 {
        policy.long_lived_pending.set(0);
        policy.long_lived_total.set(n);
    }
    heap.lists.gens[older].append(survivors);
    older
}

/// Counters, as CPython: collecting `generation` zeroes the counts of it
/// and the younger ones, and counts one collection for the next older one.
pub(super) fn count_collection(heap: &Heap, generation: usize) {
    let counts = &heap.policy.counts;
    if generation + 1 < GENERATIONS {
        let c = &counts[generation + 1];
        c.set(c.get() + 1);
    }
    for c in &counts[..=generation] {
        c.set(0);
    }
}

/// Whether a collection of `generation` at candidate epoch `epoch` cannot
/// find anything (no event since the last analysis covering it, see
/// `heap::epoch`), so it may be skipped. While `Gc::get_mut` objects are
/// detached a collection always scans: tracing is what re-attaches those
/// the generations refer to, a move that `gc::census`/`gc::objects` show.
pub(super) fn provably_empty(heap: &Heap, generation: usize, epoch: u64) -> bool {
    heap.policy.is_clean(generation, epoch) && heap.lists.detached.is_empty()
}

/// A collection of `generation` that cannot find anything (no event since
/// the last analysis of a generation `>= generation`; the proof is in
/// `heap::epoch`) does only what is observable: its survivors — every
/// member — age exactly as [`age_survivors`] ages them after an analysis
/// (splicing lists; a gen-1 collection walks gens 0 and 1 to count them, as
/// CPython's `gc_list_size` does; a full one reads the heap's count), and it
/// counts as a skipped collection. `count_collection` has run already.
pub(super) fn skip_collection(heap: &Heap, generation: usize, epoch: u64) {
    let survivors = match generation {
        // (A gen-0 collection's survivors count for nothing.)
        0 => 0,
        g if g == GENERATIONS - 1 => heap.members(),
        g => heap.lists.gens[..=g].iter().map(List::len).sum(),
    };
    let work = List::new_uninit();
    work.init();
    merge_generations(heap, generation, &work);
    age_survivors(heap, generation, &work, survivors);
    heap.policy.analysed(generation, epoch);
    heap.policy.count_skipped(generation);
}

/// Merge generations `0..=generation` into `work`, oldest first, so that
/// the work list is in allocation order (which the analysis's newest-first
/// walk relies on to be fast).
pub(super) fn merge_generations(heap: &Heap, generation: usize, work: &List) {
    for g in heap.lists.gens[..=generation].iter().rev() {
        work.append(g);
    }
}

/// Objects in generations 0, 1, 2 (with those of a running incremental
/// phase) and the permanent one (walks the lists).
pub(super) fn generation_sizes(heap: &Heap) -> [usize; 4] {
    let l = &heap.lists;
    [
        l.gens[0].len(),
        l.gens[1].len(),
        l.gens[2].len() + incremental::len(heap),
        l.permanent.len(),
    ]
}

/// `gc::freeze`: every object of the generations moves to the permanent
/// one, which no collection scans; the gen-0 count restarts.
pub(crate) fn freeze(heap: &Heap) {
    incremental::settle(heap);
    for g in &heap.lists.gens {
        for l in g.iter() {
            // SAFETY: list members are live tracked objects.
            heap.leave_gen(unsafe { header_of(l).as_ref() });
        }
        heap.lists.permanent.append(g);
    }
    heap.policy.counts[0].set(0);
}

/// `gc::unfreeze`: the permanent generation moves into the oldest one.
pub(crate) fn unfreeze(heap: &Heap) {
    for l in heap.lists.permanent.iter() {
        // SAFETY: list members are live tracked objects.
        heap.enter_gen(unsafe { header_of(l).as_ref() });
    }
    heap.lists.gens[GENERATIONS - 1].append(&heap.lists.permanent);
    // Garbage may have formed among them while no analysis could see it.
    epoch::mark_dirty();
}

/// The objects of generations `range` (`gc::objects`), each with a new
/// strong count the caller owns.
pub(crate) fn objects_of(
    heap: &Heap,
    range: core::ops::RangeInclusive<usize>,
) -> Vec<NonNull<Header>> {
    incremental::settle(heap);
    let mut out = Vec::new();
    for g in range {
        for l in heap.lists.gens[g].iter() {
            // SAFETY: list members are live tracked objects.
            let h = unsafe { header_of(l) };
            // SAFETY: as above; the caller owns the new count.
            unsafe { h.as_ref() }.inc_strong();
            out.push(h);
        }
    }
    out
}

/// An allocation passed the gen-0 threshold: collect the oldest generation
/// whose count exceeds its threshold (gen 2 only under the long-lived rule).
/// With incremental collection on, a full collection that cannot be skipped
/// becomes a phase (see `incremental`): this trigger and the following ones
/// run their young collection and then a step, until the trigger after the
/// phase's last step runs its final step, the gen-2 collection.
#[cold]
#[inline(never)]
pub(crate) fn collect_automatic(heap: &'static Heap) {
    if heap.policy.collecting() {
        return;
    }
    if heap.incremental.active() {
        if incremental::ready(heap) {
            collect(heap, GENERATIONS - 1, Reason::Automatic);
        } else {
            collect_young_automatic(heap);
            incremental::step(heap);
        }
        return;
    }
    for g in (0..GENERATIONS).rev() {
        if heap.policy.counts[g].get() <= heap.policy.threshold(g) {
            continue;
        }
        let policy = &heap.policy;
        if g == GENERATIONS - 1 {
            if policy.long_lived_pending.get() < policy.long_lived_total.get() / 4 {
                continue;
            }
            if heap.incremental.enabled.get() && !provably_empty(heap, g, epoch::now()) {
                incremental::start(heap);
                collect_young_automatic(heap);
                incremental::step(heap);
                return;
            }
        }
        collect(heap, g, Reason::Automatic);
        return;
    }
}

/// The young collection an automatic trigger runs while a phase is active:
/// generation 1 if its count exceeds its threshold, else generation 0.
fn collect_young_automatic(heap: &Heap) {
    let g = usize::from(heap.policy.counts[1].get() > heap.policy.threshold(1));
    collect(heap, g, Reason::Automatic);
}
