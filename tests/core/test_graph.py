"""The graph IR: import in any order, validation errors naming the node, evaluation."""

import gc
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import core
from core.graph import Graph, NodeDef, gc_paused


def P(name, shape=(2,), dtype="float32"):
    return NodeDef(name, "Placeholder", [], {"dtype": dtype, "shape": list(shape)})


def C(name, value):
    return NodeDef(name, "Const", [], {"value": np.asarray(value)})


def test_nodes_may_come_in_any_order():
    graph = Graph.from_node_defs([NodeDef("y", "Mul", ["x", "x"]), P("x")])
    assert [n.name for n in graph.nodes] == ["x", "y"]
    assert graph.tensor("y").shape == (2,)


@pytest.mark.parametrize("defs, message, node", [
    ([NodeDef("y", "Frobnicate", [])], "op 'Frobnicate', which is not registered", "y"),
    ([P("x"), NodeDef("y", "Neg", ["z"])], "no node named 'z'", "y"),
    ([P("x"), NodeDef("y", "Neg", ["x:1"])], "out of range", "y"),
    ([P("x"), P("x")], "duplicate node name 'x'", "x"),
    ([NodeDef("a", "Neg", ["b"]), NodeDef("b", "Neg", ["a"])], "cycle", None),
    ([NodeDef("x", "Placeholder", [], {"shape": [2]})], "missing attribute 'dtype'", "x"),
    ([P("x"), NodeDef("y", "Mul", ["x"])], "takes 2 input", "y"),
    ([P("x"), P("i", dtype="int32"), NodeDef("y", "Mul", ["x", "i"])], "matching dtypes", "y"),
    ([P("x", (2,)), P("z", (3,)), NodeDef("y", "Mul", ["x", "z"])], "incompatible shapes", "y"),
    ([P("x"), NodeDef("y", "Neg", ["x"], {"bogus": 1})], "no attribute 'bogus'", "y"),
    ([NodeDef("bad name!", "NoOp", [])], "invalid node name", None),
    ([C("s", [3, 2]), P("x", (2, 2)), NodeDef("y", "Reshape", ["x", "s"])], "cannot reshape", "y"),
    ([NodeDef("x", "Placeholder", [], {"dtype": "float128"})], "unsupported dtype", "x"),
])
def test_invalid_graphs_raise_value_error_naming_the_node(defs, message, node):
    with pytest.raises(ValueError, match=message) as error:
        Graph.from_node_defs(defs)
    if node is not None:
        assert error.value.node == node


def test_cycle_error_names_a_node_on_the_cycle():
    defs = [P("x"), NodeDef("a", "AddV2", ["x", "c"]), NodeDef("b", "Neg", ["a"]),
            NodeDef("c", "Neg", ["b"]), NodeDef("d", "Neg", ["c"])]
    with pytest.raises(ValueError, match="cycle") as error:
        Graph.from_node_defs(defs)
    assert error.value.node in {"a", "b", "c"}


def test_unfed_placeholder_and_bad_feeds_are_value_errors():
    graph = Graph.from_node_defs([P("x"), NodeDef("y", "Neg", ["x"])])
    y, x = graph.tensor("y"), graph.tensor("x")
    with pytest.raises(ValueError, match="You must feed a value for placeholder tensor 'x'"):
        core.evaluate(graph, [y])
    with pytest.raises(ValueError, match="cannot feed a value of shape \\[3\\]"):
        core.evaluate(graph, [y], {x: np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match="cannot feed a complex128 value"):
        core.evaluate(graph, [y], {x: np.zeros(2, complex)})
    np.testing.assert_array_equal(core.evaluate(graph, [y], {x: np.array([1, 2])})[0], [-1, -2])


def test_only_needed_placeholders_must_be_fed():
    graph = Graph.from_node_defs([P("x"), P("unused"), NodeDef("y", "Neg", ["x"])])
    assert core.evaluate(graph, [graph.tensor("y")], {graph.tensor("x"): np.ones(2)})[0].tolist() == [-1, -1]


def test_any_tensor_may_be_fed_and_cuts_off_what_feeds_it():
    graph = Graph.from_node_defs([P("x"), NodeDef("h", "Neg", ["x"]), NodeDef("y", "Neg", ["h"])])
    value = core.evaluate(graph, [graph.tensor("y")], {graph.tensor("h"): np.array([5, 6], np.float32)})
    assert value[0].tolist() == [-5, -6]


def test_placeholder_with_default_uses_its_input_unless_fed():
    graph = Graph.from_node_defs([C("d", np.array([1.0, 2.0], np.float32)),
                                  NodeDef("p", "PlaceholderWithDefault", ["d"],
                                          {"dtype": "float32", "shape": [2]})])
    p = graph.tensor("p")
    assert core.evaluate(graph, [p])[0].tolist() == [1, 2]
    assert core.evaluate(graph, [p], {p: np.array([3.0, 4.0])})[0].tolist() == [3, 4]


def test_a_long_chain_imports_in_reverse_order():
    n = 100_000
    defs = [NodeDef(f"n{i}", "Neg", [f"n{i - 1}"]) for i in range(n - 1, 0, -1)]
    defs.append(P("n0", (), "float64"))
    graph = Graph.from_node_defs(defs)
    assert core.evaluate(graph, [graph.tensor(f"n{n - 1}")], {graph.tensor("n0"): 1.0})[0] == -1.0


def test_intermediates_are_freed_after_their_last_use():
    defs = [P("x", (250_000,), "float32")]  # 1 MB
    defs += [NodeDef(f"h{i}", "Neg", ["x" if i == 0 else f"h{i - 1}"]) for i in range(200)]
    graph = Graph.from_node_defs(defs)
    feeds = {graph.tensor("x"): np.ones(250_000, np.float32)}
    tracemalloc.start()
    core.evaluate(graph, [graph.tensor("h199")], feeds)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 10 * 1_000_000  # 200 live intermediates would be 200 MB


def test_kernel_failures_are_value_errors_naming_the_node():
    graph = Graph.from_node_defs([P("i", (2,), "int32"), C("z", np.array([0, 1], np.int32)),
                                  NodeDef("q", "FloorDiv", ["i", "z"])])
    with pytest.raises(ValueError, match="node 'q' \\(FloorDiv\\) cannot be computed") as error:
        core.evaluate(graph, [graph.tensor("q")], {graph.tensor("i"): np.array([1, 2], np.int32)})
    assert error.value.node == "q"


def test_round_trip_through_node_defs():
    graph = Graph.from_node_defs([P("x"), C("k", np.float32(2)), NodeDef("y", "Mul", ["x", "k"])])
    core.gradients(graph, [graph.tensor("y")], [graph.tensor("x")])
    again = Graph.from_node_defs(graph.to_node_defs())
    assert [n.name for n in again.nodes] == [n.name for n in graph.nodes]
    (grad,) = core.gradients(again, [again.tensor("y")], [again.tensor("x")])
    assert grad.name.startswith("gradients_1/")


def test_placeholders_specialised_to_their_feed_shapes():
    defs = [P("x", (None, 3)), NodeDef("y", "Neg", ["x"])]
    graph = Graph.from_node_defs(defs, placeholder_shapes={"x": (2, 3)})
    assert graph.tensor("y").shape == (2, 3)
    with pytest.raises(ValueError, match="cannot feed a value of shape \\[2, 4\\]"):
        Graph.from_node_defs(defs, placeholder_shapes={"x": (2, 4)})


def test_peak_memory_is_estimated_before_anything_is_allocated():
    graph = Graph.from_node_defs([C("dims", np.array([100_000, 100_000], np.int32)),
                                  C("one", np.float32(1)), NodeDef("big", "Fill", ["dims", "one"]),
                                  NodeDef("y", "Neg", ["big"])])
    plan = core.executor.Plan(graph, [graph.tensor("y")], {})
    peak, node = plan.peak_bytes({})
    assert peak == 2 * 4 * 10**10 and node.name == "y"


def test_evaluation_stops_at_its_deadline():
    graph = Graph.from_node_defs([P("x"), NodeDef("y", "Neg", ["x"])])
    plan = core.executor.Plan(graph, [graph.tensor("y")], [graph.tensor("x")])
    with pytest.raises(TimeoutError, match="ran out of time before node 'y'"):
        plan.run({graph.tensor("x"): np.ones(2, np.float32)}, deadline=0.0)


def test_the_garbage_collector_is_paused_while_building_and_resumed_after_the_last_build():
    """Builds pause the cyclic collector; overlapping builds (threads) resume it only when
    the last one ends, and never turn on a collector the user had turned off."""
    first, second = gc_paused(), gc_paused()
    assert gc.isenabled()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_builder_path_still_checks_ops_arity_and_dtypes():
    """`Graph.emit` skips only the duplicate-name lookup: an unknown op, a wrong number of
    inputs or mismatched dtypes are still errors, and equal dtypes of distinct instances
    (a NumPy dtype built by hand) are accepted."""
    graph = Graph()
    x = graph.emit("Placeholder", [], name="x", dtype="float64", shape=[2]).output(0)
    float64 = np.dtype("float64").newbyteorder("=")
    assert float64 is not x.dtype
    y = graph.constant(np.ones(2, dtype=float64))
    assert graph.emit("Mul", [x, y]).output(0).shape == (2,)
    with pytest.raises(core.GraphError, match="not registered"):
        graph.emit("NoSuchOp", [x])
    with pytest.raises(core.GraphError, match="takes 2 input"):
        graph.emit("Mul", [x])
    with pytest.raises(core.GraphError, match="insert a Cast"):
        graph.emit("Mul", [x, graph.constant(np.ones(2, dtype=np.float32))])
    with pytest.raises(core.GraphError, match="expected one of"):
        graph.emit("Sin", [graph.constant(np.ones(2, dtype=np.int32))])


FAULTS_PROBE = """
import resource
import numpy as np
import core
from core import build
from core.executor import Plan

graph = core.Graph()
x = graph.emit("Placeholder", [], name="x", dtype=np.dtype("float32"), shape=[256, 784]).output(0)
weights = [graph.emit("Placeholder", [], name=f"w{i}", dtype=np.dtype("float32"),
                      shape=shape).output(0) for i, shape in enumerate([[784, 512], [512, 512]])]
h = x
for w in weights:
    h = build.op("Relu", build.op("MatMul", h, w))
grads = core.gradients(graph, [build.reduce_sum(h, [0, 1])], weights)
r = np.random.default_rng(0)
feeds = {t: r.standard_normal(t.shape, np.float32) for t in [x, *weights]}
plan = Plan(graph, grads, feeds)
for _ in range(3):
    plan.run(feeds)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    plan.run(feeds)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_a_plan_run_again_reuses_the_memory_of_its_intermediates():
    """Its intermediates (512 KiB to 1.5 MiB here) are freed and allocated again on every
    run: glibc's default would give them back to the system, and each run would fault
    their pages in anew (about 1,000 page faults a run on this graph)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run([sys.executable, "-c", FAULTS_PROBE], env=environment, check=True,
                          capture_output=True, text=True, timeout=300)
    assert float(done.stdout.strip().splitlines()[-1]) < 50
