"""core.program: a program built once gives, feed after feed, what tf.gradients and an
evaluation of the same graph give; its id depends on its content only; ProgramCache."""

import numpy as np
import pytest

import core
from core import NodeDef
from core.program import Program, ProgramCache, program_id


def placeholder(name, shape, dtype="float32"):
    return NodeDef(name, "Placeholder", [], {"dtype": dtype, "shape": shape})


def const(name, value, dtype="float32"):
    return NodeDef(name, "Const", [], {"value": np.asarray(value, dtype), "dtype": dtype})


def loss_nodes():
    """y = sum(tanh(x * w)), x of any batch size."""
    return [placeholder("x", [None, 3]), const("w", [0.5, -1.0, 2.0]),
            NodeDef("xw", "Mul", ["x", "w"]), NodeDef("t", "Tanh", ["xw"]),
            const("axes", [0, 1], "int32"), NodeDef("y", "Sum", ["t", "axes"])]


def one_shot(feeds):
    """The gradients and fetch of the program below, imported and built from scratch."""
    graph = core.Graph.from_node_defs(loss_nodes())
    y, x, w = (graph.tensor(ref) for ref in ("y", "x", "w"))
    grads = core.gradients(graph, [y], [x, w])
    return core.evaluate(graph, [*grads, y], {x: feeds["x"]})


def program(**fields):
    return Program(loss_nodes(), ys=["y"], xs=["x", "w"], fetches=["y"], **fields)


def test_each_run_matches_a_one_shot_build_and_reuses_its_build():
    prepared = program()
    rng = np.random.default_rng(0)
    for batch in (2, 2, 5, 2):
        feeds = {"x": rng.standard_normal((batch, 3)).astype(np.float32)}
        build = prepared.build(feeds)
        results = build.run(feeds)
        dx, dw, y = one_shot(feeds)
        np.testing.assert_allclose(results.gradients[0], dx, rtol=1e-6)
        np.testing.assert_allclose(results.gradients[1], dw, rtol=1e-6)
        np.testing.assert_allclose(results.fetched[0], y, rtol=1e-6)
    assert prepared.build({"x": np.zeros((2, 3), np.float32)}) is prepared.build(
        {"x": np.ones((2, 3), np.float32)})
    assert prepared.build({"x": np.zeros((5, 3), np.float32)}) is not prepared.build(
        {"x": np.zeros((2, 3), np.float32)})


def test_a_build_is_specialised_to_the_fed_shapes_unless_asked_not_to():
    feeds = {"x": np.ones((4, 3), np.float32)}
    assert program().build(feeds).graph.tensor("x").shape == (4, 3)
    assert program().build(feeds, specialize=False).graph.tensor("x").shape == (None, 3)
    symbolic = program().build()
    assert symbolic.plan is None and symbolic.graph.tensor("x").shape == (None, 3)


def test_the_memory_limit_refuses_before_running():
    feeds = {"x": np.ones((1000, 3), np.float32)}
    with pytest.raises(core.ResourceLimitError, match="over the limit of 1000"):
        program().build(feeds).run(feeds, max_bytes=1000)


def test_none_and_run_only_programs():
    nodes = [*loss_nodes(), placeholder("z", [3])]
    results = Program(nodes, ys=["y"], xs=["z"], fetches=["t"]).build(
        {"x": np.ones((1, 3), np.float32)}).run({"x": np.ones((1, 3), np.float32)})
    assert results.gradients == [None]
    run_only = Program(nodes, fetches=["xw"])
    feeds = {"x": np.ones((1, 3), np.float32)}
    np.testing.assert_array_equal(run_only.build(feeds).run(feeds).fetched[0], [[0.5, -1, 2]])


def test_the_id_is_the_content_not_the_objects():
    assert program().id == program().id
    assert len(program().id) == 64
    assert program().id != program(options={"name": "other"}).id
    assert program().id != Program(loss_nodes(), ys=["y"], xs=["x"], fetches=["y"]).id
    nodes = loss_nodes()
    nodes[1] = const("w", [0.5, -1.0, 2.5])
    assert Program(nodes, ys=["y"], xs=["x", "w"], fetches=["y"]).id != program().id
    # An array counts by its values, however it is laid out in memory.
    strided = np.array([0.5, 0, -1.0, 0, 2.0, 0], np.float32)[::2]
    nodes[1] = NodeDef("w", "Const", [], {"value": strided, "dtype": "float32"})
    assert Program(nodes, ys=["y"], xs=["x", "w"], fetches=["y"]).id == program().id
    assert program_id(loss_nodes(), ["y"], ["x"], [np.float32(1)], [], {}, []) != program_id(
        loss_nodes(), ["y"], ["x"], [np.float32(2)], [], {}, [])


def test_the_cache_evicts_the_least_recently_used():
    programs = [Program(loss_nodes(), ys=["y"], xs=[x]) for x in ("x", "w", "t")]
    cache = ProgramCache(max_programs=2, max_nodes=100)
    cache.add(programs[0])
    cache.add(programs[1])
    assert cache.get(programs[0].id) is programs[0]  # now the most recently used
    cache.add(programs[2])
    assert programs[1].id not in cache and len(cache) == 2
    assert cache.add(Program(loss_nodes(), ys=["y"], xs=["x"])) is programs[0]
    assert cache.remove(programs[0].id) and not cache.remove(programs[0].id)


def test_the_cache_bounds_the_nodes_it_holds():
    cache = ProgramCache(max_programs=10, max_nodes=2 * len(loss_nodes()))
    programs = [Program(loss_nodes(), ys=["y"], xs=[x]) for x in ("x", "w", "t")]
    for p in programs:
        cache.add(p)
    assert [p.id in cache for p in programs] == [False, True, True]
    too_big = ProgramCache(max_programs=10, max_nodes=3)
    too_big.add(programs[0])
    assert len(too_big) == 0


def test_an_alias_finds_its_program_while_the_program_is_kept():
    programs = [Program(loss_nodes(), ys=["y"], xs=[x]) for x in ("x", "w", "t")]
    cache = ProgramCache(max_programs=2, max_nodes=100)
    cache.alias("posted as x", programs[0].id)
    assert cache.find("posted as x") is None  # named before it is kept
    cache.add(programs[0])
    cache.alias("posted otherwise", programs[0].id)
    assert cache.find("posted as x") is cache.find("posted otherwise") is programs[0]
    assert cache.find("never named") is None
    cache.add(programs[1])
    cache.add(programs[2])  # evicts programs[0]
    assert cache.find("posted as x") is None


def test_the_cache_bounds_the_aliases_it_holds():
    program = Program(loss_nodes(), ys=["y"], xs=["x"])
    cache = ProgramCache(max_programs=1, max_nodes=100)
    cache.add(program)
    for n in range(10):
        cache.alias(n, program.id)
    assert cache.find(9) is program and cache.find(0) is None
