"""Groups of elementwise nodes run as tapes (core/kernels/tape.py): the same values as
node by node (core.executor.FUSE off), within float rounding and the documented error of
the float32 approximations (core/kernels/fastmath.py), with the executor's guarantees
kept: only needed nodes, fetched intermediates, fed intermediates, deadlines, freeing."""

import os
import time
import tracemalloc

import numba
import numpy as np
import pytest

import core
from core import build, executor
from core.errors import DeadlineExceeded
from core.executor import FusedStep, Plan
from core.graph import Graph
from core.kernels import fastmath, tape
from tests.core.graphs import placeholder

RTOL = {np.float32: 1e-5, np.float64: 1e-6}


@pytest.fixture(autouse=True)
def fuse_small_groups(monkeypatch):
    """Tapes for groups of three nodes (the executor waits for six on small arrays, where
    a tape only then beats NumPy), so that small graphs exercise them."""
    monkeypatch.setattr(executor, "MIN_GROUP_NODES", 3)


def run(graph, fetches, feeds, fuse=True, **options):
    old = executor.FUSE
    executor.FUSE = fuse
    try:
        plan = Plan(graph, fetches, feeds)
    finally:
        executor.FUSE = old
    return plan, plan.run(feeds, **options)


def both(graph, fetches, feeds):
    """(fused, node by node) values, after checking that the fused plan used a tape."""
    plan, fused = run(graph, fetches, feeds)
    assert any(isinstance(step, FusedStep) for step in plan.steps)
    return fused, run(graph, fetches, feeds, fuse=False)[1]


def assert_close(fused, reference, dtype, atol=0.0):
    for got, want in zip(fused, reference):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=atol, equal_nan=True)


def ulps(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """|got - exact| in units of the float32 spacing at the exact value (denormals: at the
    smallest denormal), where both are finite."""
    with np.errstate(over="ignore"):
        rounded = exact.astype(np.float32)
    finite = np.isfinite(rounded) & np.isfinite(got)
    spacing = np.spacing(np.abs(rounded[finite])).astype(np.float64)
    return np.abs(got[finite].astype(np.float64) - exact[finite]) / spacing


# -- the float32 approximations -----------------------------------------------------------

def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1.17549435e-38,
                    3.4028235e38, -3.4028235e38, 88.72, 88.73, -87.4, -103.9, -104.0, 7.9,
                    2048.0, 2049.0, 1e6, -1e30, 4e-4, -3.9e-4], np.float32)
# Every 509th float32 of either sign: 8.3 million values from the smallest denormal to
# the largest finite number, and the special values above.
_BITS = np.arange(1, 0x7F800000, 509, dtype=np.uint32).view(np.float32)
SWEEP = np.concatenate([_BITS, -_BITS, SPECIAL])

# op, float64 reference, the largest error measured (ulps), over SWEEP
APPROXIMATIONS = [
    ("Exp", np.exp, 1.0),
    ("Log", np.log, 1.0),
    ("Tanh", np.tanh, 4.5),
    ("Sigmoid", _sigmoid, 2.5),
    ("Sin", np.sin, 1.5),
    ("Cos", np.cos, 1.5),
]


@pytest.mark.parametrize("op, exact, bound", APPROXIMATIONS, ids=[a[0] for a in APPROXIMATIONS])
def test_float32_approximations_are_within_a_few_ulps_everywhere(op, exact, bound):
    graph = Graph()
    x = placeholder(graph, shape=list(SWEEP.shape))
    y = build.op(op, x)
    plan, (got,) = run(graph, [y], {x: SWEEP})
    assert isinstance(plan.steps[0], FusedStep)   # one transcendental of this size is a tape
    with np.errstate(all="ignore"):
        want = exact(SWEEP.astype(np.float64))
        numpy_float32 = run(graph, [y], {x: SWEEP}, fuse=False)[1][0]
    assert ulps(got, want).max() <= bound
    # NaN, +inf and -inf exactly where NumPy's float32 kernel has them
    for where in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(where(got), where(numpy_float32))


def test_sigmoid_scaled_in_one_step_is_the_two_step_one_bit_for_bit():
    """The tape's float32 sigmoid takes exp(-|x|)'s 2^n in one step where that is exact
    (|x| <= SIGMOID_NEAR) and the two-step form beyond: the same bits as the two-step
    form everywhere, denormal tails included."""
    @numba.njit
    def two_step(x, out):
        for j in range(x.size):
            out[j] = fastmath.sigmoid32(x[j])

    want = np.empty_like(SWEEP)
    two_step(SWEEP, want)
    graph = Graph()
    x = placeholder(graph, shape=list(SWEEP.shape))
    _, (got,) = run(graph, [build.op("Sigmoid", x)], {x: SWEEP})
    near = np.abs(SWEEP) <= fastmath.SIGMOID_NEAR
    assert 0 < np.count_nonzero(~near & np.isfinite(SWEEP))   # the tails are in the sweep
    np.testing.assert_array_equal(got.view(np.uint32)[~np.isnan(SWEEP)],
                                  want.view(np.uint32)[~np.isnan(SWEEP)])
    assert np.isnan(got[np.isnan(SWEEP)]).all()


def test_sin_and_cos_of_one_tensor_share_a_sincos_and_stay_exact_for_large_arguments():
    values = np.concatenate([SWEEP, np.linspace(-3e4, 3e4, 100_001, dtype=np.float32)])
    graph = Graph()
    x = placeholder(graph, shape=list(values.shape))
    s, c = build.op("Sin", x), build.op("Cos", x)
    plan, (sin, cos) = run(graph, [s, c], {x: values})
    assert tape.SINCOS in plan.steps[0].tape._code[:, 0]
    assert np.nanmax(abs(values[np.isfinite(values)])) > fastmath.SIN_LIMIT
    with np.errstate(all="ignore"):
        assert ulps(sin, np.sin(values.astype(np.float64))).max() <= 1.5
        assert ulps(cos, np.cos(values.astype(np.float64))).max() <= 1.5
    np.testing.assert_array_equal(np.isnan(sin), np.isnan(values) | np.isinf(values))


# -- fused against node by node ---------------------------------------------------------

# every op of the tape's tables (BroadcastTo, AddN, the fills and selects are tested below)
UNARY = sorted(set(tape.UNARY) - {"BroadcastTo"})
BINARY = sorted(tape.BINARY)
EDGES = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 0.5, -0.5, 3.0, -3.0,
                  6.0, 7.0, 1e30, -1e30, 100.0, -100.0, 1e-40])


@pytest.mark.parametrize("copies", [1, 16], ids=["libm", "approximated"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", UNARY + BINARY)
def test_every_fused_op_agrees_with_its_kernel_on_edge_values(op, dtype, copies):
    """NaN, infinities, zeros of either sign, tiny and huge values, in both operands; in
    a group small enough for libm's functions and in one large enough for the float32
    approximations."""
    a = np.tile(np.repeat(EDGES, EDGES.size), copies).astype(dtype)
    b = np.tile(EDGES, EDGES.size * copies).astype(dtype)
    assert (a.size >= tape.APPROXIMATE_FROM) == (copies > 1)
    graph = Graph()
    x = placeholder(graph, np.dtype(dtype).name, list(a.shape))
    y = placeholder(graph, np.dtype(dtype).name, list(a.shape), name="y")
    inputs = [x] if op in UNARY else [x, y]
    # three nodes, so the group is worth a tape: the op between two identities
    z = build.op("Identity", build.op(op, *[build.op("Identity", t) for t in inputs]))
    fused, reference = both(graph, [z], {x: a, y: b})
    assert_close(fused, reference, dtype, atol=1e-37 if dtype == np.float32 else 0.0)


COMPARISONS = sorted(tape.COMPARISONS)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", COMPARISONS)
def test_comparisons_and_selects_agree_with_their_kernels(op, dtype):
    """A comparison's bool result used inside a group (a select) and fetched; a bool
    condition fed from outside, and a single one; ZerosLike and OnesLike."""
    a = np.repeat(EDGES, EDGES.size).astype(dtype)
    b = np.tile(EDGES, EDGES.size).astype(dtype)
    name = np.dtype(dtype).name
    graph = Graph()
    x = placeholder(graph, name, list(a.shape))
    y = placeholder(graph, name, list(a.shape), name="y")
    outer = placeholder(graph, "bool", list(a.shape), name="outer")
    single = placeholder(graph, "bool", [], name="single")
    mask = build.op(op, x, y)
    picked = build.select(mask, x * 2.0, build.zeros_like(y))
    picked = build.select(outer, picked, build.ones_like(x) + y)
    picked = build.op("Select", single, picked, -picked)
    feeds = {x: a, y: b, outer: np.arange(a.size) % 3 == 0, single: np.asarray(False)}
    fused, reference = both(graph, [picked, mask], feeds)
    assert fused[1].dtype == np.bool_
    np.testing.assert_array_equal(fused[1], reference[1])
    assert_close(fused[:1], reference[:1], dtype)


def random_graph(rng, dtype, shape, steps=300):
    """A random DAG of elementwise ops over one placeholder, with scalar constants and a
    scalar placeholder broadcast into it; values kept in [-1, 1] as scalar_chain keeps
    them. Returns (graph, x, scalar placeholder, every value)."""
    graph = Graph()
    name = np.dtype(dtype).name
    x = placeholder(graph, name, list(shape), name="x")
    s = placeholder(graph, name, [], name="s")
    values = [x, build.op("Tanh", x * s)]
    for _ in range(steps):
        a, b = (values[i] for i in rng.integers(max(0, len(values) - 16), len(values), 2))
        kind = rng.integers(9)
        if kind == 0:
            v = a * b
        elif kind == 1:
            v = (build.op("Sin", a) + b) * 0.5
        elif kind == 2:
            v = build.op("Tanh", a + b)
        elif kind == 3:
            v = (a - b) * 0.5
        elif kind == 4:
            v = build.op("Sigmoid", a) - build.op("Cos", b) * 0.25
        elif kind == 5:
            v = build.add_n([a, b, a]) * (1 / 3)
        elif kind == 6:
            v = build.op("Maximum", a, build.op("Neg", b)) * build.op("Exp", -build.op("Square", a))
        elif kind == 7:
            v = build.op("TanhGrad", a, b) * 0.5
        else:
            v = build.op("Relu", a) - build.op("Relu", b) * s
        values.append(v)
    return graph, x, s, values


@pytest.mark.parametrize("shape", [(), (1,), (16,), (3, 1000)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_dags_and_their_gradients_agree(dtype, shape):
    rng = np.random.default_rng(7)
    graph, x, s, values = random_graph(rng, dtype, shape)
    loss = build.reduce_sum(values[-1] + values[-7], list(range(len(shape))))
    grads = core.gradients(graph, [loss], [x, s])
    picked = [values[i] for i in rng.integers(0, len(values), 5)]   # intermediates too
    feeds = {x: rng.uniform(-1, 1, shape).astype(dtype), s: np.asarray(0.75, dtype)}
    fused, reference = both(graph, [loss, *grads, *picked], feeds)
    assert_close(fused, reference, dtype, atol=1e-6 if dtype == np.float32 else 1e-12)


def test_the_interpreter_runs_a_graph_of_scalars_as_one_step():
    rng = np.random.default_rng(3)
    graph, x, s, values = random_graph(rng, np.float64, (), steps=2000)
    (gx,) = core.gradients(graph, [values[-1]], [x])
    feeds = {x: np.asarray(0.3), s: np.asarray(-0.5)}
    plan, fused = run(graph, [gx], feeds)
    assert sum(isinstance(step, FusedStep) for step in plan.steps) == 1
    assert len(plan.steps) < 5
    np.testing.assert_allclose(fused, run(graph, [gx], feeds, fuse=False)[1], rtol=1e-12)


def test_broadcast_single_values_of_any_rank_and_zero_sized_arrays():
    for shape, scalar_shape in [((3, 4), ()), ((3, 4), (1,)), ((3, 4), (1, 1)), ((0,), ()),
                                ((2, 0, 3), (1,))]:
        graph = Graph()
        x = placeholder(graph, "float32", list(shape))
        c = placeholder(graph, "float32", list(scalar_shape), name="c")
        y = build.op("Tanh", (x * c + 1.0) * c)
        feeds = {x: np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 7,
                 c: np.full(scalar_shape, 0.5, np.float32)}
        fused, reference = both(graph, [y], feeds)
        assert fused[0].shape == shape
        assert_close(fused, reference, np.float32)


def test_elementwise_workload_gradient_agrees():
    """The benchmark's `elementwise` recipe: one tape for the forward and backward pass."""
    rng = np.random.default_rng(0)
    graph = Graph()
    x = placeholder(graph, "float32", [50_000])
    h = x
    for _ in range(8):
        h = build.op("Tanh", h) * 0.9 + build.op("Sin", h) * 0.1
        h = h * build.op("Sigmoid", h)
    (gx,) = core.gradients(graph, [build.reduce_sum(h, [0])], [x])
    feeds = {x: rng.standard_normal(50_000).astype(np.float32)}
    plan, fused = run(graph, [gx, h], feeds)
    assert sum(isinstance(step, FusedStep) for step in plan.steps) == 1
    reference = run(graph, [gx, h], feeds, fuse=False)[1]
    assert_close(fused, reference, np.float32, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_products_added_within_the_addition_round_as_mul_then_add(dtype):
    """A Mul read only by an Add or AddN is multiplied inside the addition (MUL_ADD,
    MUL_SCALAR_ADD): bit for bit NumPy's product rounded, then the sum rounded (a fused
    multiply-add, rounding once, differs in a fifth or more of these), in AddN's order,
    with edge values; a product read twice, or fetched, stays a product of its own."""
    rng = np.random.default_rng(5)
    n = 20_000
    name = np.dtype(dtype).name
    graph = Graph()
    x, y, z = (placeholder(graph, name, [n], name=v) for v in "xyz")
    s = placeholder(graph, name, [], name="s")
    twice = x * z
    fetched = y * y
    sums = [x * y + z, z + x * s, x * y + y * z,
            build.add_n([z, x * y, s * z, y * x]), build.add_n([x * z]),
            build.add_n([x * x, y, z]) + twice, twice * 0.5, fetched + x]
    a, b, c = (rng.standard_normal(n).astype(dtype) * 1e3 for _ in range(3))
    a[:EDGES.size], b[:EDGES.size] = EDGES, EDGES[::-1]
    feeds = {x: a, y: b, z: c, s: np.asarray(np.pi, dtype)}
    plan, fused = run(graph, [*sums, fetched], feeds)
    opcodes = [op for step in plan.steps if isinstance(step, FusedStep)
               for op in step.tape._code[:, 0]]
    assert opcodes.count(tape.MUL_ADD) == 5 and opcodes.count(tape.MUL_SCALAR_ADD) == 2
    reference = run(graph, [*sums, fetched], feeds, fuse=False)[1]
    for got, want in zip(fused, reference):
        np.testing.assert_array_equal(got, want)
    if dtype == np.float32:     # a float32 fused multiply-add, through exact float64 products
        fma = (a.astype(np.float64) * b + c).astype(np.float32)
        assert np.mean(fused[0] != fma) > 0.1    # the test can tell the two roundings apart


# -- the executor's guarantees ----------------------------------------------------------

def chain(n=1000, length=30, dtype="float32"):
    graph = Graph()
    x = placeholder(graph, dtype, [n])
    hs = [x]
    for i in range(length):
        hs.append(build.op("Tanh", hs[-1]) * 0.5 + hs[-1] if i % 2 else build.op("Sin", hs[-1]))
    return graph, x, hs


def test_fetched_intermediates_come_out_of_a_group():
    graph, x, hs = chain()
    feeds = {x: np.linspace(-2, 2, 1000, dtype=np.float32)}
    fetches = [hs[-1], hs[3], hs[10], hs[3], x]
    fused, reference = both(graph, fetches, feeds)
    assert_close(fused, reference, np.float32)
    np.testing.assert_array_equal(fused[-1], feeds[x])


def test_a_fed_intermediate_cuts_off_what_feeds_it():
    graph, x, hs = chain()
    feeds = {x: np.zeros(1000, np.float32), hs[10]: np.linspace(-1, 1, 1000, dtype=np.float32)}
    fused, reference = both(graph, [hs[-1], hs[10], hs[5]], feeds)
    assert_close(fused, reference, np.float32)
    np.testing.assert_array_equal(fused[1], feeds[hs[10]])
    np.testing.assert_array_equal(fused[2], np.zeros(1000, np.float32))   # sin(0) ... = 0


def test_feeding_one_output_of_a_node_still_runs_it_for_another():
    graph = Graph()
    x = placeholder(graph, "float32", [2, 3], name="x")
    first, second = build.op_outputs("Unpack", build.op("Exp", x), num=2, axis=0)
    fed = np.full(3, 7.0, np.float32)
    value = np.arange(6, dtype=np.float32).reshape(2, 3)
    got = core.evaluate(graph, [first, second], {x: value, first: fed})
    np.testing.assert_array_equal(got[0], fed)
    np.testing.assert_allclose(got[1], np.exp(value[1]), rtol=1e-6)
    with pytest.raises(core.GraphError, match="must feed a value for placeholder tensor 'x'"):
        core.evaluate(graph, [second], {first: fed})


def test_a_group_runs_only_the_nodes_needed():
    graph, x, hs = chain()
    unused = build.op("Exp", hs[-1])
    plan, _ = run(graph, [hs[5]], {x: np.ones(1000, np.float32)})
    members = {node for step in plan.steps for node in step.tape.members}
    assert hs[5].node in members and hs[6].node not in members
    assert unused.node not in members


def test_deadline_stops_before_a_group_and_between_its_pieces(monkeypatch):
    graph, x, hs = chain(n=100_000)
    feeds = {x: np.ones(100_000, np.float32)}
    plan = Plan(graph, [hs[-1]], feeds)
    first = plan.steps[0].tape.members[0].name
    with pytest.raises(DeadlineExceeded, match=f"before node '{first}'") as error:
        plan.run(feeds, deadline=0.0)
    assert error.value.node == first
    # between pieces: the clock passes the deadline after the group has started
    monkeypatch.setattr(tape, "PIECE_WORK", 1 << 12)
    plan = Plan(graph, [hs[-1]], feeds)
    clock = iter([0.0, 0.0] + [10.0] * 1000)
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    with pytest.raises(DeadlineExceeded, match=f"group of .* from node '{first}'"):
        plan.run(feeds, deadline=1.0)


def test_pieces_on_threads_give_the_same_values(monkeypatch):
    graph, x, hs = chain(n=100_003)
    feeds = {x: np.random.default_rng(1).standard_normal(100_003).astype(np.float32)}
    whole = Plan(graph, [hs[-1], hs[7]], feeds).run(feeds)
    monkeypatch.setattr(tape, "PIECE_WORK", 1 << 14)
    monkeypatch.setattr(tape, "THREADS", 3)
    monkeypatch.setattr(tape, "_POOL", None)
    pieces = Plan(graph, [hs[-1], hs[7]], feeds).run(feeds)
    for a, b in zip(whole, pieces):
        np.testing.assert_array_equal(a, b)


def test_a_group_holds_only_its_outputs_in_memory():
    graph, x, hs = chain(n=250_000, length=60)    # 1 MB per intermediate
    feeds = {x: np.ones(250_000, np.float32)}
    plan = Plan(graph, [hs[-1], hs[30]], feeds)
    tracemalloc.start()
    plan.run(feeds)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4 * 1_000_000       # two outputs and scratch rows, not 90 intermediates
    estimate, node = plan.peak_bytes(feeds)
    assert 3 * 1_000_000 <= estimate < 4 * 1_000_000    # the feed, two outputs, scratch
    assert node is plan.steps[0].node
    unfused = run(graph, [hs[-1], hs[30]], feeds, fuse=False)[0]
    assert unfused.peak_bytes(feeds)[0] > estimate


def test_groups_break_where_a_node_outside_reads_them():
    """A node outside any group (here a reduction) between two parts of a chain: the
    first part runs before it, the second after, and the values agree."""
    graph = Graph()
    x = placeholder(graph, "float64", [500])
    a = build.op("Tanh", build.op("Sin", x) * 2.0)
    total = build.reduce_sum(a, [0])
    b = build.op("Exp", a * total) - a * 3.0
    fused, reference = both(graph, [b, total], {x: np.linspace(-1, 1, 500)})
    assert_close(fused, reference, np.float64)


def test_switched_off_no_step_is_fused():
    graph, x, hs = chain()
    plan, _ = run(graph, [hs[-1]], {x: np.ones(1000, np.float32)}, fuse=False)
    assert not any(isinstance(step, FusedStep) for step in plan.steps)


@pytest.mark.parametrize("ops, dtype, n, fused", [
    (2, "float32", 16, False), (2, "float32", 10_000, True), (8, "float64", 1, True),
    (1, "float32", 10_000, True), (1, "float64", 10_000, False), (1, "float32", 100, False)])
def test_only_groups_worth_a_tape_get_one(monkeypatch, ops, dtype, n, fused):
    monkeypatch.setattr(executor, "MIN_GROUP_NODES", 6)
    graph = Graph()
    x = placeholder(graph, dtype, [n])
    h = x
    for i in range(ops):
        h = build.op("Tanh", h) if i % 2 == 0 else h * 0.5
    plan, _ = run(graph, [h], {x: np.ones(n, dtype)})
    assert any(isinstance(step, FusedStep) for step in plan.steps) == fused


def test_the_interpreters_disk_cache_is_keyed_on_the_functions_it_inlines_too():
    stamp = tape.run_tape._cache._cache_file._source_stamp
    assert os.stat(fastmath.__file__).st_mtime in {part[0] for part in stamp[1:]}
