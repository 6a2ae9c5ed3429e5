"""Evaluates tensors of a graph: only the nodes the fetches need, each intermediate freed
after its last use.

Evaluation is compiled once into a `Plan` (the schedule, with every tensor given a slot
and every slot its last use), so running it again with new feeds costs only the kernels.
"""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import DeadlineExceeded, GraphError, ResourceLimitError
from core.graph import FOLD_MAX_ELEMENTS, Graph, Node, Tensor
from core.shapes import compatible, format_shape, num_elements


@dataclass(frozen=True)
class Step:
    node: Node
    inputs: tuple[int, ...]              # slots read
    outputs: tuple[tuple[int, int], ...]  # (output index, slot) of the outputs still needed
    frees: tuple[int, ...]               # slots read here for the last time


class Plan:
    """The steps that compute `fetches` from tensors fed in `fed`."""

    def __init__(self, graph: Graph, fetches: Sequence[Tensor], fed):
        self.fetches = list(fetches)
        self.fed = list(dict.fromkeys(fed))
        schedule = _schedule(self.fetches, set(self.fed))
        slots: dict[Tensor, int] = {t: i for i, t in enumerate(self.fed)}
        uses: dict[Tensor, int] = {}
        for node in schedule:
            for t in node.inputs:
                uses[t] = uses.get(t, 0) + 1
        for t in self.fetches:
            uses[t] = uses.get(t, 0) + 1
        fed_set = set(self.fed)
        self.steps: list[Step] = []
        for node in schedule:
            inputs = tuple(slots[t] for t in node.inputs)
            frees = []
            for t in node.inputs:
                uses[t] -= 1
                if uses[t] == 0 and t not in fed_set:
                    frees.append(slots[t])
            outputs = []
            for i in range(node.num_outputs):
                t = Tensor(node, i)
                if uses.get(t, 0) > 0 and t not in fed_set:
                    slots[t] = len(slots)
                    outputs.append((i, slots[t]))
            self.steps.append(Step(node, inputs, tuple(outputs), tuple(dict.fromkeys(frees))))
        self.num_slots = len(slots)
        self.fetch_slots = [slots[t] for t in self.fetches]

    def peak_bytes(self, feeds: Mapping[Tensor, np.ndarray]) -> tuple[int, Node | None]:
        """An estimate, from static shapes, of the most memory live at once while running,
        and the node whose outputs reach it (outputs of unknown size count as nothing)."""
        live = sum(np.asarray(feeds[t]).nbytes for t in self.fed)
        sizes = [0] * self.num_slots
        peak, peak_node = live, None
        for step in self.steps:
            node = step.node
            for index, slot in step.outputs:
                count = num_elements(node.output_shapes[index])
                sizes[slot] = 0 if count is None else count * node.output_dtypes[index].itemsize
                live += sizes[slot]
            if live > peak:
                peak, peak_node = live, node
            for slot in step.frees:
                live -= sizes[slot]
        return peak, peak_node

    def run(self, feeds: Mapping[Tensor, np.ndarray], deadline: float | None = None,
            max_bytes: int | None = None) -> list[np.ndarray]:
        """The fetches' values; `feeds` must hold a value for every tensor of `fed`. Past
        `deadline` (a time.monotonic() value) the run stops between two nodes. With
        `max_bytes`, a node whose output sizes are not known statically has them inferred
        from its actual inputs before it runs, and the run stops (ResourceLimitError) when
        they would take the memory held at once over `max_bytes`."""
        values: list = [None] * self.num_slots
        sizes = [0] * self.num_slots
        for slot, t in enumerate(self.fed):
            values[slot] = _check_feed(t, feeds[t])
            sizes[slot] = values[slot].nbytes
        live = sum(sizes)
        with np.errstate(all="ignore"):
            for step in self.steps:
                node = step.node
                if deadline is not None and time.monotonic() > deadline:
                    raise DeadlineExceeded(f"the evaluation ran out of time before node "
                                           f"{node.name!r} ({node.op})", node.name)
                inputs = [values[i] for i in step.inputs]
                if max_bytes is not None and not _sizes_known(node):
                    needed = live + _output_bytes(node, inputs)
                    if needed > max_bytes:
                        raise ResourceLimitError(
                            f"node {node.name!r} ({node.op}) would take the memory held at "
                            f"once to {needed} bytes, over the limit of {max_bytes}", node.name)
                try:
                    result = node.opdef.kernel(node, *inputs)
                except MemoryError:
                    raise ResourceLimitError(f"node {node.name!r} ({node.op}) needs more memory "
                                             f"than is available", node.name) from None
                except (ValueError, IndexError, TypeError, ArithmeticError) as error:
                    raise GraphError(f"node {node.name!r} ({node.op}) cannot be computed: "
                                     f"{error}", node.name) from None
                if not isinstance(result, (tuple, list)):
                    result = (result,)
                for index, slot in step.outputs:
                    values[slot] = result[index]
                    if max_bytes is not None:
                        sizes[slot] = getattr(result[index], "nbytes", 0)
                        live += sizes[slot]
                for slot in step.frees:
                    values[slot] = None
                    live -= sizes[slot]
        return [np.asarray(values[slot]) for slot in self.fetch_slots]


def evaluate(graph: Graph, fetches: Sequence[Tensor],
             feeds: Mapping[Tensor, np.ndarray] | None = None) -> list[np.ndarray]:
    """The values of `fetches` given `feeds` (any tensor may be fed, placeholders must be)."""
    feeds = feeds or {}
    return Plan(graph, fetches, feeds).run(feeds)


def _sizes_known(node: Node) -> bool:
    return all(shape is not None and None not in shape for shape in node.output_shapes)


def _output_bytes(node: Node, arrays: list) -> int:
    """The bytes `node`'s outputs will take given its input values: its shape rule run on a
    copy of it whose inputs have those shapes (and those values, when small enough to be
    read as constants: shapes, axes). An output whose size is still unknown counts 0."""
    probe_graph = Graph()
    inputs = []
    for array in map(np.asarray, arrays):
        if array.size <= FOLD_MAX_ELEMENTS:
            inputs.append(probe_graph.constant(array))
        else:
            inputs.append(probe_graph.emit("Placeholder", [], dtype=array.dtype,
                                           shape=list(array.shape)).output(0))
    probe = Node(probe_graph, node.name, node.opdef, inputs, [], node.attrs)
    return sum((num_elements(shape) or 0) * dtype.itemsize
               for dtype, shape in node.opdef.infer(probe))


def _check_feed(t: Tensor, value) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype != t.dtype:
        if not np.can_cast(array.dtype, t.dtype, "same_kind"):
            raise GraphError(f"cannot feed a {array.dtype.name} value to tensor {t.name!r} of "
                             f"dtype {t.dtype.name}", t.node.name)
        array = array.astype(t.dtype)
    if not compatible(array.shape, t.shape):
        raise GraphError(f"cannot feed a value of shape {format_shape(array.shape)} to tensor "
                         f"{t.name!r}, which has shape {format_shape(t.shape)}", t.node.name)
    return array


def _schedule(fetches: Sequence[Tensor], fed: set[Tensor]) -> list[Node]:
    """The nodes that must run, in graph (topological) order."""
    needed: set[Node] = set()
    stack = [t.node for t in fetches if t not in fed]
    while stack:
        node = stack.pop()
        if node in needed:
            continue
        needed.add(node)
        if node.op == "Placeholder":
            raise GraphError(f"You must feed a value for placeholder tensor {node.name!r} with "
                             f"dtype {node.output_dtypes[0].name} and shape "
                             f"{format_shape(node.output_shapes[0])}", node.name)
        stack.extend(t.node for t in node.inputs if t not in fed)
        stack.extend(node.control_inputs)
    return sorted(needed, key=lambda n: n.index)
