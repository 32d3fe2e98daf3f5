#!/usr/bin/env python3
"""CPython's column of BENCHMARKS.md: the workloads of bench/benches/common/
that Python can express, run as a bench-report child.

bench-report starts one `python3 bench.py` process per run with the same
environment as its Rust children (GC_BENCH_CHILD = time | pause,
GC_BENCH_WORKLOAD or GC_BENCH_PROBE, GC_BENCH_REPS, GC_BENCH_WARMUP,
GC_BENCH_MIN_TIME_MS) plus GC_BENCH_PY_SIZES ("name=value,..."; the sizes
bench-report computed, so both sides agree), and reads back `GCB <key>
<values...>` lines on stdout.

CPython runs with its default collector settings (gc enabled, thresholds
700/10/10); every workload ends with gc.collect(), as the Rust ones end with
their collector's full collection.
"""

import gc
import os
import resource
import sys
import time

sys.setrecursionlimit(10000)

SEED = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1


class XorShift64:
    """The same generator (and seed) as bench_support::XorShift64."""

    def __init__(self, seed):
        self.x = seed or 0x2545F4914F6CDD1D

    def below(self, n):
        x = self.x
        x ^= (x << 13) & MASK
        x ^= x >> 7
        x ^= (x << 17) & MASK
        self.x = x
        return x % n


class Link:
    __slots__ = ("next", "value")

    def __init__(self, nxt, value):
        self.next = nxt
        self.value = value


class TreeNode:
    __slots__ = ("left", "right", "value")

    def __init__(self, left, right, value):
        self.left = left
        self.right = right
        self.value = value


class GraphNode:
    __slots__ = ("edges",)

    def __init__(self):
        self.edges = [None, None, None, None]


class DNode:
    __slots__ = ("back", "fwd")

    def __init__(self, back):
        self.back = back
        self.fwd = None


created = 0
dropped = 0


class PNode:
    """The pause probes' node: four edges and a drop counter (__del__)."""

    __slots__ = ("edges",)

    def __init__(self, e0=None, e1=None):
        global created
        created += 1
        self.edges = [e0, e1, None, None]

    def __del__(self):
        global dropped
        dropped += 1


def build_tree(depth, value):
    if depth == 0:
        return TreeNode(None, None, value)
    return TreeNode(build_tree(depth - 1, 2 * value), build_tree(depth - 1, 2 * value + 1), value)


def check(t):
    if t.left is None:
        return 1
    return 1 + check(t.left) + check(t.right)


def w_tree(s):
    root = build_tree(s["tree_depth"], 1)
    del root
    gc.collect()


def binary_trees_expected(n):
    mx = max(6, n)
    size = lambda d: (1 << (d + 1)) - 1
    total = size(mx + 1) + size(mx)
    for d in range(4, mx + 1, 2):
        total += (1 << (mx - d + 4)) * size(d)
    return total


def w_binary_trees(s):
    n = s["bt_n"]
    mx = max(6, n)
    stretch = build_tree(mx + 1, 1)
    total = check(stretch)
    del stretch
    long_lived = build_tree(mx, 1)
    for d in range(4, mx + 1, 2):
        iterations = 1 << (mx - d + 4)
        c = 0
        for _ in range(iterations):
            c += check(build_tree(d, 1))
        total += c
    total += check(long_lived)
    del long_lived
    gc.collect()
    assert total == binary_trees_expected(n), "binary-trees check"


def w_cycles2(s):
    for i in range(s["cycles2"]):
        a = Link(None, i)
        b = Link(a, i)
        a.next = b
        del a, b
    gc.collect()


def ring(n):
    tail = Link(None, 0)
    head = tail
    for i in range(1, n):
        head = Link(head, i)
    tail.next = head
    return tail


def w_big_cycle(s):
    r = ring(s["big_cycle"])
    del r
    gc.collect()


def w_random_graph(s):
    n, edges = s["graph_nodes"], s["graph_edges"]
    nodes = [GraphNode() for _ in range(n)]
    rng = XorShift64(SEED)
    for node in nodes:
        e = node.edges
        for k in range(edges):
            e[k] = nodes[rng.below(n)]
    del nodes, node, e
    gc.collect()


def w_dll_grow(s):
    tail = DNode(None)
    for _ in range(1, s["dll_grow"]):
        node = DNode(tail)
        tail.fwd = node
        tail = node
    del tail, node
    gc.collect()


WORKLOADS = {
    "tree": w_tree,
    "binary_trees": w_binary_trees,
    "cycles2": w_cycles2,
    "big_cycle": w_big_cycle,
    "random_graph": w_random_graph,
    "dll_grow": w_dll_grow,
}


def emit(key, values):
    print("GCB " + key + "".join(" " + str(v) for v in values))


def gc_collections():
    return [g["collections"] for g in gc.get_stats()]


def minflt():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def child_time(s):
    name = os.environ.get("GC_BENCH_WORKLOAD", "")
    f = WORKLOADS.get(name)
    if f is None:
        sys.stderr.write("bench.py: workload %r is not expressed in Python\n" % name)
        sys.exit(3)
    reps = int(os.environ.get("GC_BENCH_REPS", "5"))
    warmup = os.environ.get("GC_BENCH_WARMUP", "1") != "0"
    min_time = int(os.environ.get("GC_BENCH_MIN_TIME_MS", "0")) * 1_000_000
    max_reps = 51
    if warmup:
        f(s)
    times = []
    total = 0
    faults = minflt()
    coll = gc_collections()
    while len(times) < reps or (total < min_time and len(times) < max_reps):
        t = time.perf_counter_ns()
        f(s)
        d = time.perf_counter_ns() - t
        total += d
        times.append(d)
    runs = len(times)
    after = gc_collections()
    emit("impl", ["CPython"])
    emit("times", times)
    emit("minflt", [(minflt() - faults) // runs])
    emit("collections", [(a - b) / runs for a, b in zip(after, coll)])


class Recorder:
    def __init__(self):
        self.steps = []
        self.peak = 0

    def sample(self, reachable):
        f = created - dropped - reachable
        if f > self.peak:
            self.peak = f


def probe(name, s, rec):
    clock = time.perf_counter_ns
    steps = rec.steps
    if name == "tree":
        def node(depth):
            if depth == 0:
                t = clock()
                n = PNode()
                steps.append(clock() - t)
                rec.sample(len(steps))
                return n
            left = node(depth - 1)
            right = node(depth - 1)
            t = clock()
            n = PNode(left, right)
            steps.append(clock() - t)
            rec.sample(len(steps))
            return n
        return node(s["tree_depth"])
    if name == "cycles2":
        for _ in range(s["cycles2"]):
            t = clock()
            a = PNode()
            b = PNode(a)
            a.edges[0] = b
            del a, b
            steps.append(clock() - t)
            rec.sample(0)
        return None
    if name == "big_cycle":
        n = s["big_cycle"]
        t = clock()
        first = PNode()
        steps.append(clock() - t)
        head = first
        for i in range(1, n):
            t = clock()
            head = PNode(head)
            steps.append(clock() - t)
            rec.sample(i + 1)
        t = clock()
        first.edges[0] = head
        steps.append(clock() - t)
        return first
    if name == "random_graph":
        n, edges = s["graph_nodes"], s["graph_edges"]
        nodes = []
        for i in range(n):
            t = clock()
            nodes.append(PNode())
            steps.append(clock() - t)
            rec.sample(i + 1)
        rng = XorShift64(SEED)
        for node in nodes:
            t = clock()
            e = node.edges
            for k in range(edges):
                e[k] = nodes[rng.below(n)]
            steps.append(clock() - t)
            rec.sample(n)
        return nodes
    if name == "dll_grow":
        t = clock()
        tail = PNode()
        steps.append(clock() - t)
        for i in range(1, s["dll_grow"]):
            t = clock()
            node = PNode(tail)
            tail.edges[1] = node
            tail = node
            del node
            steps.append(clock() - t)
            rec.sample(i + 1)
        return tail
    if name == "old_churn":
        n = s["cycles2"]
        window = max(n // 5, 1)
        live = [None] * window
        for i in range(n):
            t = clock()
            a = PNode()
            b = PNode(a)
            a.edges[0] = b
            live[i % window] = a
            del a, b
            steps.append(clock() - t)
            rec.sample(2 * min(i + 1, window))
        return live
    sys.stderr.write("bench.py: unknown probe %r\n" % name)
    sys.exit(3)


def child_pause(s):
    name = os.environ.get("GC_BENCH_PROBE", "")
    rec = Recorder()
    coll = gc_collections()
    t = time.perf_counter_ns()
    keep = probe(name, s, rec)
    total = time.perf_counter_ns() - t
    after = gc_collections()
    v = sorted(rec.steps)
    at = lambda q: v[int(round((len(v) - 1) * q))]
    emit("impl", ["CPython"])
    emit("steps", [len(v), total, at(1.0), at(0.999), at(0.99), at(0.5)])
    emit("floating", [rec.peak])
    emit("threshold", [gc.get_threshold()[0]])
    emit("collections", [a - b for a, b in zip(after, coll)])
    sys.stdout.flush()
    # Exit without tearing the structure down (as the Rust probes do).
    del keep
    os._exit(0)


def main():
    sizes = {}
    for kv in os.environ.get("GC_BENCH_PY_SIZES", "").split(","):
        if "=" in kv:
            k, v = kv.split("=", 1)
            sizes[k] = int(v)
    mode = os.environ.get("GC_BENCH_CHILD", "time")
    if mode == "time":
        child_time(sizes)
    elif mode == "pause":
        child_pause(sizes)
    else:
        sys.stderr.write("bench.py: mode %r not supported\n" % mode)
        sys.exit(3)


if __name__ == "__main__":
    main()
