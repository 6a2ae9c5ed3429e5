"""The tf.gradients algorithm, as TensorFlow's gradients_util.py runs it.

1. Reachability: the nodes reached forward from the xs through trainable (float or
   complex) tensors, intersected with the nodes reached backward from the ys.
2. Pending counts: how many gradient contributions each of those nodes waits for.
3. A queue from the ys: each node, once all its contributions are in, has them summed
   (the aggregation method), its rule called under `<scope>/<node>_grad`, the rule's
   result checked (one gradient per input, shapes compatible) and reduced over
   broadcast dimensions, then handed to its inputs.

The stop set is the xs that no other x feeds, plus `stop_gradients`. A node without a
rule raises LookupError; a not-differentiable node passes no gradient on.
"""

from collections import deque
from collections.abc import Sequence
from enum import IntEnum

import numpy as np

from core import build, registry
from core import dtypes as dt
from core.errors import GradientTypeError, GraphError, NoGradientError
from core.graph import NAME_PATTERN, Graph, Node, Tensor, gc_paused
from core.replay import Record, RuleRecords
from core.shapes import compatible, format_shape, merge
from core.sparse import IndexedSlices, concat, densify


class AggregationMethod(IntEnum):
    ADD_N = 0
    DEFAULT = 0
    EXPERIMENTAL_TREE = 1
    EXPERIMENTAL_ACCUMULATE_N = 2


_AGGREGATION_NAMES = {
    "add_n": AggregationMethod.ADD_N,
    "default": AggregationMethod.DEFAULT,
    "experimental_tree": AggregationMethod.EXPERIMENTAL_TREE,
    "experimental_accumulate_n": AggregationMethod.EXPERIMENTAL_ACCUMULATE_N,
}
UNCONNECTED_GRADIENTS = ("none", "zero")


def parse_aggregation_method(value) -> AggregationMethod:
    """A method given by name, TensorFlow's integer code, or None (the default)."""
    if value is None:
        return AggregationMethod.DEFAULT
    if isinstance(value, str) and value.lower() in _AGGREGATION_NAMES:
        return _AGGREGATION_NAMES[value.lower()]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value in (0, 1, 2):
        return AggregationMethod(int(value))
    raise GraphError(f"Invalid `aggregation_method` specified {value!r}. Accepted values are "
                     f"{sorted(_AGGREGATION_NAMES)} or the integer codes 0, 1, 2.")


def gradients(graph: Graph, ys: Sequence[Tensor], xs: Sequence[Tensor],
              grad_ys: Sequence[Tensor | np.ndarray | None] | None = None,
              name: str = "gradients", gate_gradients: bool = False,
              aggregation_method=None, stop_gradients: Sequence[Tensor] = (),
              unconnected_gradients: str = "none",
              indexed_slices: bool = False) -> list[Tensor | IndexedSlices | None]:
    """Adds the symbolic gradients of sum(ys) w.r.t. each x to `graph`; None where unconnected.

    A gradient that only touches some rows of its x (GatherV2 along axis 0) is returned as
    IndexedSlices when `indexed_slices` is set, else made dense once at the end."""
    ys, xs, stop_gradients = list(ys), list(xs), list(stop_gradients)
    name = name or "gradients"
    if not NAME_PATTERN.fullmatch(name):
        raise GraphError(f"'{name}' is not a valid scope name")
    if unconnected_gradients not in UNCONNECTED_GRADIENTS:
        raise GraphError(f"Unknown value for unconnected_gradients: '{unconnected_gradients}'")
    method = parse_aggregation_method(aggregation_method)
    if grad_ys is None:
        grad_ys = [None] * len(ys)
    if len(grad_ys) != len(ys):
        raise GraphError(f"Length mismatch. Passed {len(grad_ys)} grad_ys for {len(ys)} ys")

    # The build runs in its own frame, so that its bookkeeping (a list of contributions
    # per node, the pending counts, the records) is freed before the collector resumes
    # and walks what the build made.
    with gc_paused():
        return _backward(graph, ys, xs, grad_ys, name, gate_gradients, method,
                         stop_gradients, unconnected_gradients, indexed_slices)


def _backward(graph: Graph, ys: list[Tensor], xs: list[Tensor], grad_ys: list, name: str,
              gate_gradients: bool, method: AggregationMethod, stop_gradients: list[Tensor],
              unconnected_gradients: str, indexed_slices: bool) -> list:
    """Steps 1 to 3 of the module's docstring, under the scope `name`."""
    with graph.name_scope(name):
        grad_ys = _default_grad_ys(graph, ys, list(grad_ys))
        to_nodes = [y.node for y in ys]
        from_nodes = [x.node for x in xs]
        reachable_to, pending = _pending_counts(graph, to_nodes, from_nodes)
        grads: dict[Node, list[list[Tensor]]] = {}
        for y, grad_y in zip(ys, grad_ys):
            _add_grad(grads, y, grad_y)
        queue: deque[Node] = deque()
        queued = set()
        for node in to_nodes:
            if pending[node.index] == 0 and node not in queued and node in reachable_to:
                queued.add(node)
                queue.append(node)
        stop_nodes = _stop_nodes(from_nodes, [t.node for t in stop_gradients], pending)
        records = RuleRecords()

        while queue:
            node = queue.popleft()
            out_grads = _aggregate(graph, grads, node, method)
            if node not in stop_nodes and (out_grads[0] is not None if len(out_grads) == 1
                                           else any(g is not None for g in out_grads)):
                in_grads = _apply_rule(graph, node, out_grads, gate_gradients, records)
            else:
                in_grads = [None] * len(node.inputs)
            for t_in, in_grad in zip(node.inputs, in_grads):
                if in_grad is not None:
                    _add_grad(grads, t_in, in_grad)
                index = t_in.node.index
                pending[index] -= 1
                if pending[index] == 0:
                    queue.append(t_in.node)

        results = [_result_grad(grads, x, unconnected_gradients) for x in xs]
        return results if indexed_slices else [densify(g) for g in results]


def _default_grad_ys(graph: Graph, ys: list[Tensor], grad_ys: list) -> list[Tensor]:
    """Ones shaped like each y where no grad_y is given; the given ones checked and named."""
    grad_ys = [graph.constant(g, name="grad_y") if g is not None and not isinstance(g, Tensor)
               else g for g in grad_ys]
    result = []
    for i, (y, grad_y) in enumerate(zip(ys, grad_ys)):
        if grad_y is None:
            if y.dtype in dt.COMPLEX:
                raise GradientTypeError(f"Gradients of complex tensors ({y.name}) must set "
                                        f"grad_ys (y.dtype = {y.dtype.name})", y.node.name)
            if y.dtype not in dt.NUMERIC:
                raise GradientTypeError(f"Tensor {y.name} with type {y.dtype.name} must be "
                                        f"numeric to obtain a default gradient", y.node.name)
            result.append(build.ones(build.shape(y), y.dtype, name=f"grad_ys_{i}"))
            continue
        if y.dtype in dt.REAL and grad_y.dtype not in dt.REAL:
            raise GradientTypeError(
                f"Gradient type {grad_y.dtype.name} generated for real or integer-valued "
                f"tensor {y.name} with type {y.dtype.name} must be real or integer", y.node.name)
        if y.dtype in dt.COMPLEX and grad_y.dtype not in dt.COMPLEX:
            raise GradientTypeError(
                f"Gradient type {grad_y.dtype.name} generated for complex-valued tensor "
                f"{y.name} with type {y.dtype.name} must be real", y.node.name)
        if y.dtype not in dt.NUMERIC:
            raise GradientTypeError(f"Tensor {y.name} with type {y.dtype.name} must be numeric "
                                    f"to obtain a default gradient", y.node.name)
        if not compatible(grad_y.shape, y.shape):
            raise GraphError(f"grad_ys[{i}] has shape {format_shape(grad_y.shape)}, which is "
                             f"not compatible with y {y.name!r} of shape {format_shape(y.shape)}",
                             y.node.name)
        result.append(build.identity(grad_y, name=f"grad_ys_{i}"))
    return result


def _pending_counts(graph: Graph, to_nodes: list[Node], from_nodes: list[Node]):
    """(the ys' nodes reachable from the xs, pending gradient count per node index).

    Two passes over the nodes by index, which is a topological order: forward, the nodes
    reached from the xs through trainable tensors; backward from the ys, those of them
    the ys depend on, each counting one pending gradient per input it reads from another."""
    reached = [False] * len(graph)
    for node in from_nodes:
        reached[node.index] = True
    first = min((node.index for node in from_nodes), default=len(graph))
    trainable = dt.TRAINABLE
    for node in graph.nodes[first:]:
        if reached[node.index]:
            continue
        for t in node.inputs:
            producer = t.node
            if reached[producer.index] and producer.output_dtypes[t.index] in trainable:
                reached[node.index] = True
                break
    reachable_to = {node for node in to_nodes if reached[node.index]}

    between = [False] * len(graph)
    for node in reachable_to:
        between[node.index] = True
    pending = [0] * len(graph)
    last = max((node.index for node in reachable_to), default=-1)
    for node in reversed(graph.nodes[:last + 1]):
        if between[node.index]:
            for t in node.inputs:
                index = t.node.index
                if reached[index]:
                    between[index] = True
                    pending[index] += 1
    return reachable_to, pending


def _stop_nodes(from_nodes, stop_gradient_nodes, pending) -> set[Node]:
    """The xs that no other x feeds (the frontier), plus the stop_gradients' nodes."""
    stop = {node for node in from_nodes
            if all(pending[t.node.index] <= 0 for t in node.inputs)}
    stop.update(stop_gradient_nodes)
    return stop


def _add_grad(grads: dict, t: Tensor, grad: Tensor) -> None:
    node = t.node
    node_grads = grads.get(node)
    if node_grads is None:
        count = len(node.output_dtypes)
        node_grads = grads[node] = [[]] if count == 1 else [[] for _ in range(count)]
    node_grads[t.index].append(grad)


def _aggregate(graph: Graph, grads: dict, node: Node, method: AggregationMethod) -> list:
    """Sums each output's contributions (add_n at once, or pairwise for the tree methods);
    IndexedSlices are concatenated, or made dense when dense contributions join them."""
    out_grads = grads.get(node)
    if out_grads is None:
        out_grads = grads[node] = [[] for _ in range(node.num_outputs)]
    for i, contributions in enumerate(out_grads):
        if len(contributions) < 2:
            out_grads[i] = contributions[0] if contributions else None
            continue
        if IndexedSlices in map(type, contributions):
            if all(type(g) is IndexedSlices for g in contributions):
                out_grads[i] = concat(contributions)
                continue
            contributions = [densify(g) for g in contributions]
        if method == AggregationMethod.ADD_N:
            out_grads[i] = _add_n(graph, contributions)
        else:
            with graph.name_scope(node.name + "_gradient_sum"):
                running = contributions[0]
                for grad in contributions[1:]:
                    running = _add_n(graph, [running, grad])
                out_grads[i] = running
    return out_grads


def _add_n(graph: Graph, tensors: list[Tensor]) -> Tensor:
    """AddN of gradient contributions. When they share one numeric dtype and static shape
    and none is a constant (nearly always), that is its output and nothing folds, so it is
    appended as inferred; else the shape rule checks and merges them."""
    first = tensors[0]
    dtype, shape = first.node.output_dtypes[first.index], first.node.output_shapes[first.index]
    for t in tensors:
        producer = t.node
        if (producer.const_values is not None or producer.output_dtypes[t.index] != dtype
                or producer.output_shapes[t.index] != shape):
            return build.add_n(tensors)
    if dtype not in dt.NUMERIC:
        return build.add_n(tensors)
    node = graph.append_inferred(graph.unique_name("AddN"), registry.lookup("AddN"),
                                 list(tensors), (), {}, (dtype,), (shape,), False)
    return Tensor(node, 0)


def _apply_rule(graph: Graph, node: Node, out_grads: list, gate: bool,
                records: RuleRecords) -> list:
    """The gradients of the node's inputs, under `<scope>/<node>_grad`: replayed from an
    earlier call that saw the same (core.replay), else built by the rule and recorded."""
    opdef = node.opdef
    if opdef.grad is None:
        if opdef.not_differentiable:
            return [None] * len(node.inputs)
        reason = node.attrs.get("message")
        raise NoGradientError(
            f"No gradient defined for operation '{node.name}' (op type: {node.op})"
            + (f". Reason: {reason}" if reason else ""), node.name)
    for i, grad in enumerate(out_grads):
        if grad is None:
            if node.output_dtypes[i] in dt.TRAINABLE:
                out_grads[i] = build.zeros_like(node.output(i))
        elif type(grad) is IndexedSlices:
            out_grads[i] = densify(grad)
    key, given, record = records.find(node, out_grads, gate)
    if record is not None:  # the scope's name is all a replay needs of it
        in_grads = record.replay(graph, graph.unique_name(node.name + "_grad"), given)
        narrowed = record.narrowed
    else:
        in_grads, narrowed = _run_and_record(graph, node, out_grads, gate, records, key,
                                             given)
    for i in narrowed:
        _refine_shape(node, i, node.inputs[i], in_grads[i])
    return in_grads


def _run_and_record(graph: Graph, node: Node, out_grads: list, gate: bool,
                    records: RuleRecords, key: tuple | None, given: list) -> tuple:
    """(the rule's gradients, the inputs whose gradient's static shape differs from theirs),
    the call recorded under `key` unless it is None; within any outer recording (a rule
    that builds gradients itself), whose log of names gets this call's too."""
    with graph.name_scope(node.name + "_grad") as scope:
        if key is None:
            in_grads = _run_rule(graph, node, out_grads, gate)
            return in_grads, _narrowed(node, in_grads)
        first, outer_log, graph.name_log = len(graph), graph.name_log, []
        try:
            in_grads = _run_rule(graph, node, out_grads, gate)
            narrowed = _narrowed(node, in_grads)
            records.add(key, Record.capture(graph, scope, first, given, in_grads,
                                            graph.name_log, narrowed))
        finally:
            if outer_log is not None:
                outer_log.extend(graph.name_log)
            graph.name_log = outer_log
    return in_grads, narrowed


def _narrowed(node: Node, in_grads: list) -> tuple[int, ...]:
    """The inputs whose gradient's static shape differs from theirs: `_refine_shape` checks
    and narrows those."""
    return tuple(i for i, (t_in, grad) in enumerate(zip(node.inputs, in_grads))
                 if grad is not None and grad.shape != t_in.shape)


def _run_rule(graph: Graph, node: Node, out_grads: list, gate: bool) -> list:
    """The rule's gradients, checked (one per input), reduced over broadcast dimensions
    and, with `gate`, made to wait for each other."""
    in_grads = node.opdef.grad(node, *out_grads)
    in_grads = list(in_grads) if isinstance(in_grads, (list, tuple)) else [in_grads]
    if len(in_grads) != len(node.inputs):
        raise GraphError(f"Num gradients {len(in_grads)} generated for op {node.name!r} "
                         f"({node.op}) do not match num inputs {len(node.inputs)}", node.name)
    if node.opdef.broadcasts:
        in_grads = [None if g is None else build.unbroadcast(g, t)
                    for g, t in zip(in_grads, node.inputs)]
    if gate and sum(g is not None for g in in_grads) > 1:
        in_grads = _tuple(graph, in_grads)
    return in_grads


def _refine_shape(node: Node, index: int, t_in: Tensor, grad: Tensor) -> None:
    """TensorFlow's set_shape on an input gradient whose static shape differs from the
    input's: check it and narrow it."""
    if not compatible(grad.shape, t_in.shape):
        raise GraphError(
            f"Incompatible shapes between op input and calculated input gradient. Forward "
            f"operation: {node.name}. Input index: {index}. Original input shape: "
            f"{format_shape(t_in.shape)}. Calculated input gradient shape: "
            f"{format_shape(grad.shape)}", node.name)
    if isinstance(grad, Tensor):
        shapes = list(grad.node.output_shapes)
        shapes[grad.index] = merge(grad.shape, t_in.shape)
        grad.node.output_shapes = tuple(shapes)
        grad.node.rule_view = None


def _tuple(graph: Graph, tensors: list) -> list:
    """gate_gradients: every gradient of an op waits for all of them (control_flow_ops.tuple)."""
    with graph.name_scope("tuple"):
        gate = graph.emit("NoOp", [], name="group_deps",
                          control_inputs=[_values(t).node for t in tensors if t is not None])

        def gated(t: Tensor) -> Tensor:
            return build.identity(t, name="control_dependency", control_inputs=[gate])
        return [None if t is None else
                IndexedSlices(gated(t.values), t.indices, t.dense_shape)
                if isinstance(t, IndexedSlices) else gated(t) for t in tensors]


def _values(grad: Tensor | IndexedSlices) -> Tensor:
    return grad.values if isinstance(grad, IndexedSlices) else grad


def _result_grad(grads: dict, x: Tensor, unconnected: str) -> Tensor | IndexedSlices | None:
    node_grads = grads.get(x.node)
    grad = node_grads[x.index] if node_grads else None
    if grad is None and unconnected == "zero":
        return build.zeros_like(x)
    return grad
