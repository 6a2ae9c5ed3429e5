"""tf.gradients on the client: the call is recorded, and whether each gradient is None is
decided here, exactly as TensorFlow decides it, so the result is known at once; the
service builds the gradient nodes at the first request that needs them (usually the
`run` that fetches them: one request in all).

The decision follows the service's algorithm (core/gradients.py, TensorFlow's
gradients_util.py): the ops reached forward from the xs through floating-point or complex
tensors, intersected with those reached backward from the ys, walked from the ys in
dependency order. No gradient passes a stopped op (an x that no other x feeds, a
`stop_gradients` op) or one whose gradient status (GET /v1/ops) is `not_differentiable`;
an op with status `no_gradient` on the way raises LookupError, as in TensorFlow.
"""

from __future__ import annotations

import enum
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradserve import dtypes
from gradserve.errors import GradientTypeError, NoGradientError
from gradserve.framework import Graph, Operation, Tensor
from gradserve.wire import decode_attr, encode_value, split_ref


class UnconnectedGradients(str, enum.Enum):
    """What a gradient is when no path joins its x to the ys: None or zeros."""
    NONE = "none"
    ZERO = "zero"


class AggregationMethod:
    """How the gradient contributions reaching a tensor are summed, as TensorFlow's."""
    ADD_N = 0
    DEFAULT = ADD_N
    EXPERIMENTAL_TREE = 1
    EXPERIMENTAL_ACCUMULATE_N = 2


# (op type, input index) whose gradient rule gives None although the input is a float.
_NO_GRADIENT_INPUTS = {("PadV2", 2)}


@dataclass(frozen=True)
class OpCatalog:
    """What the client needs from GET /v1/ops: each op's gradient status and attribute kinds."""
    gradient_status: dict[str, str]
    attr_kinds: dict[str, dict[str, str]]

    @classmethod
    def from_listing(cls, listing: dict[str, Any]) -> OpCatalog:
        ops = listing["ops"]
        return cls({op["name"]: op["gradient_status"] for op in ops},
                   {op["name"]: {a["name"]: a["kind"] for a in op["attrs"]} for op in ops})


class PendingGradients:
    """A recorded gradients() call: its arguments, and one pending tensor per x (None where
    TensorFlow returns None) that becomes a real tensor when the service builds it."""

    def __init__(self, graph: Graph, ys: list[Tensor], xs: list[Tensor],
                 grad_ys: list[Any], stop_gradients: list[Tensor], options: dict[str, Any],
                 connected: list[bool], resolver: Callable[[PendingGradients], None]) -> None:
        self.graph = graph
        self.ys, self.xs, self.grad_ys, self.stop_gradients = ys, xs, grad_ys, stop_gradients
        self.options = options
        self._resolver = resolver
        self.outputs: list[Tensor | None] = [
            Tensor(None, i, x.dtype, x.shape, graph, self) if flows else None
            for i, (x, flows) in enumerate(zip(xs, connected))]

    def resolve(self) -> None:
        """Has the service build this call's gradient nodes (one request)."""
        self._resolver(self)

    @property
    def tensors(self) -> list[Tensor]:
        """The tensors the request refers to (they and their ancestors are sent)."""
        return [*self.ys, *self.xs, *self.stop_gradients,
                *(g for g in self.grad_ys if isinstance(g, Tensor))]

    def request_fields(self) -> dict[str, Any]:
        """The gradient arguments of a POST /v1/gradients body."""
        grad_ys = None if all(g is None for g in self.grad_ys) else [
            g._ref if isinstance(g, Tensor) else None if g is None
            else encode_value(np.asarray(g, dtype=y.dtype)) for g, y in zip(self.grad_ys, self.ys)]
        return {"ys": [y._ref for y in self.ys], "xs": [x._ref for x in self.xs],
                "grad_ys": grad_ys, "stop_gradients": [t._ref for t in self.stop_gradients],
                **self.options}

    def merge(self, response: dict[str, Any], catalog: OpCatalog) -> None:
        """Adds the nodes the service built to the graph and binds the pending tensors."""
        created = merge_nodes(self.graph, response["graph"]["nodes"], response["outputs"],
                              catalog)
        for tensor, ref in zip(self.outputs, response["gradient_refs"]):
            if tensor is None:
                continue
            tensor._pending = None
            if ref is not None:
                name, index = split_ref(ref)
                op = self.graph.get_operation_by_name(name)
                tensor._bind(op, index)
                if op in created and op.outputs[index] is not tensor:
                    op.outputs[index] = tensor  # one object per tensor, the caller's


def merge_nodes(graph: Graph, nodes: list[dict[str, Any]],
                outputs: dict[str, list[dict[str, Any]]], catalog: OpCatalog) -> set[Operation]:
    """Adds nodes from the service (in dependency order) to `graph`, under their names."""
    created = set()
    for node in nodes:
        inputs, controls = [], []
        for ref in node.get("inputs", []):
            if ref.startswith("^"):
                controls.append(graph.get_operation_by_name(ref[1:]))
            else:
                name, index = split_ref(ref)
                inputs.append(graph.get_operation_by_name(name).outputs[index])
        kinds = catalog.attr_kinds.get(node["op"], {})
        attrs = {name: decode_attr(value, kinds.get(name))
                 for name, value in node.get("attrs", {}).items()}
        specs = [(np.dtype(s["dtype"]), None if s["shape"] is None else tuple(s["shape"]))
                 for s in outputs[node["name"]]]
        created.add(graph.create_op(node["op"], inputs, attrs, node["name"] + "/", specs,
                                    controls))
        graph._mark_used(node["name"])
    return created


def check_arguments(ys: Sequence[Any], xs: Sequence[Any], grad_ys: Sequence[Any],
                    stop_gradients: Sequence[Any], unconnected_gradients: Any,
                    aggregation_method: Any) -> None:
    """The mistakes tf.gradients reports before building anything."""
    for value in (*ys, *xs, *stop_gradients):
        if not isinstance(value, Tensor):
            raise RuntimeError(  # noqa: TRY004  (tf.gradients raises RuntimeError for eager values)
                f"gradients() takes graph tensors, got {type(value).__name__} {value!r}: "
                f"eager values have no graph to differentiate. Build the computation with "
                f"gradserve.placeholder / gradserve.constant and gradserve's ops, then call "
                f"client.gradients(ys, xs) and client.run(...).")
    if str(getattr(unconnected_gradients, "value", unconnected_gradients)) not in ("none", "zero"):
        raise ValueError(f"Unknown value for unconnected_gradients: '{unconnected_gradients}'")
    if aggregation_method not in (None, 0, 1, 2) or isinstance(aggregation_method, bool):
        raise ValueError(f"Invalid aggregation_method specified {aggregation_method}.")
    if len(grad_ys) != len(ys):
        raise ValueError(f"Passed {len(grad_ys)} grad_ys for {len(ys)} ys")
    for y, grad_y in zip(ys, grad_ys):
        if grad_y is None and y.dtype.kind == "c":
            raise GradientTypeError(f"Gradients of complex tensors ({y!r}) must set grad_ys "
                                    f"(y.dtype = {y.dtype.name})")
        if grad_y is None and y.dtype.kind not in "iufc":
            raise GradientTypeError(f"Tensor {y!r} with type {y.dtype.name} must be numeric "
                                    f"to obtain a default gradient")


def connected(graph: Graph, ys: list[Tensor], xs: list[Tensor], stop_gradients: list[Tensor],
              catalog: OpCatalog) -> list[bool]:
    """Whether a gradient reaches each x (False exactly where tf.gradients gives None)."""
    consumers: dict[tuple[Operation, int], list[Operation]] = defaultdict(list)
    for op in graph.get_operations():
        for t in op.inputs:
            consumers[(t.op, t._index)].append(op)
    reached: set[Operation] = set()
    queue = deque(x.op for x in xs)
    while queue:
        op = queue.popleft()
        if op not in reached:
            reached.add(op)
            for t in op.outputs:
                if dtypes.is_trainable(t.dtype):
                    queue.extend(consumers[(op, t._index)])
    reachable_ys = {y.op for y in ys if y.op in reached}
    between: set[Operation] = set()
    queue = deque(y.op for y in ys)
    while queue:
        op = queue.popleft()
        if op in reached:
            between.add(op)
            reached.remove(op)
            queue.extend(t.op for t in op.inputs)
    pending = Counter(t.op for op in between for t in op.inputs if t.op in between)
    stopped = {x.op for x in xs if all(pending[t.op] <= 0 for t in x.op.inputs)}
    stopped.update(t.op for t in stop_gradients)

    has_gradient = {(y.op, y._index) for y in ys}
    queue = deque(dict.fromkeys(y.op for y in ys if pending[y.op] == 0 and y.op in reachable_ys))
    while queue:
        op = queue.popleft()
        gets = [(op, t._index) in has_gradient for t in op.outputs]
        if any(gets) and op not in stopped:
            status = catalog.gradient_status.get(op.type, "differentiable")
            if status == "no_gradient":
                raise NoGradientError(f"No gradient defined for operation '{op.name}' (op "
                                      f"type: {op.type})", node=op.name)
            flows = status == "differentiable" and any(
                got and dtypes.is_trainable(t.dtype) for got, t in zip(gets, op.outputs))
            for i, t in enumerate(op.inputs):
                if flows and dtypes.is_trainable(t.dtype) and (op.type, i) not in _NO_GRADIENT_INPUTS:
                    has_gradient.add((t.op, t._index))
        for t in op.inputs:
            pending[t.op] -= 1
            if pending[t.op] == 0:
                queue.append(t.op)
    return [(x.op, x._index) in has_gradient for x in xs]
