"""Evaluates tensors of a graph: only the nodes the fetches need, each intermediate freed
after its last use."""

from collections.abc import Mapping, Sequence

import numpy as np

from core.errors import GraphError
from core.graph import Graph, Node, Tensor, run_kernel
from core.shapes import compatible, format_shape


def evaluate(graph: Graph, fetches: Sequence[Tensor],
             feeds: Mapping[Tensor, np.ndarray] | None = None) -> list[np.ndarray]:
    """The values of `fetches` given `feeds` (any tensor may be fed, placeholders must be)."""
    feeds = {t: _check_feed(t, v) for t, v in (feeds or {}).items()}
    schedule = _schedule(graph, fetches, feeds)
    remaining_uses = _count_uses(schedule, fetches)
    values: dict[Tensor, np.ndarray] = dict(feeds)
    for node in schedule:
        arrays = [values[t] for t in node.inputs]
        outputs = run_kernel(node, arrays)
        for t in node.inputs:
            remaining_uses[t] -= 1
            if remaining_uses[t] == 0 and t not in feeds:
                del values[t]
        for i, array in enumerate(outputs):
            t = Tensor(node, i)
            if remaining_uses.get(t, 0) > 0 and t not in feeds:
                values[t] = array
    return [values[t] for t in fetches]


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


def _schedule(graph: Graph, fetches: Sequence[Tensor], feeds) -> list[Node]:
    """The nodes that must run, in graph (topological) order."""
    needed: set[Node] = set()
    stack = [t.node for t in fetches if t not in feeds]
    while stack:
        node = stack.pop()
        if node in needed:
            continue
        needed.add(node)
        if node.op == "Placeholder":
            raise GraphError(f"You must feed a value for placeholder tensor {node.name!r} with "
                             f"dtype {node.output_dtypes[0].name} and shape "
                             f"{format_shape(node.output_shapes[0])}", node.name)
        stack.extend(t.node for t in node.inputs if t not in feeds)
        stack.extend(node.control_inputs)
    return sorted(needed, key=lambda n: n.index)


def _count_uses(schedule: list[Node], fetches: Sequence[Tensor]) -> dict[Tensor, int]:
    uses: dict[Tensor, int] = {}
    for node in schedule:
        for t in node.inputs:
            uses[t] = uses.get(t, 0) + 1
    for t in fetches:
        uses[t] = uses.get(t, 0) + 1
    return uses

