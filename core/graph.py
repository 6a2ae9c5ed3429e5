"""The graph IR: nodes, tensor references, name scopes, import and validation.

Nodes are kept in topological order (every node after the nodes it reads), so any
pass over the graph is a loop, never a recursion: a 100,000-node chain is no deeper
to handle than a short one.
"""

import gc
import heapq
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core import dtypes as dt
from core import registry
from core.errors import GraphError, ResourceLimitError
from core.shapes import Shape, as_shape, compatible, format_shape, num_elements

NAME_PATTERN = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\-/]*")
_REF_PATTERN = re.compile(r"(\^)?([^:^]+)(?::(\d+))?")

# Values computed at build time from constant inputs are kept only when this small.
FOLD_MAX_ELEMENTS = 4096


@dataclass
class NodeDef:
    """A node as it comes from (or goes to) the wire: inputs are references, attrs are
    decoded (tensor-valued attributes are NumPy arrays)."""
    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)


class Tensor:
    """Output `index` of `node`; named `node` (output 0) or `node:k` as in TensorFlow.

    The arithmetic operators add nodes to the tensor's graph, so gradient rules read
    like the formulas they implement."""

    __slots__ = ("node", "index")

    def __init__(self, node: "Node", index: int):
        self.node = node
        self.index = index

    @property
    def dtype(self) -> np.dtype:
        return self.node.output_dtypes[self.index]

    @property
    def shape(self) -> Shape:
        return self.node.output_shapes[self.index]

    @property
    def graph(self) -> "Graph":
        return self.node.graph

    @property
    def name(self) -> str:
        return self.node.name if self.index == 0 else f"{self.node.name}:{self.index}"

    @property
    def const_value(self) -> np.ndarray | None:
        """The value, when it is known while building the graph (constants, static shapes)."""
        values = self.node.const_values
        return None if values is None else values[self.index]

    def __eq__(self, other):
        return isinstance(other, Tensor) and other.node is self.node and other.index == self.index

    def __hash__(self):
        return hash((id(self.node), self.index))

    def __repr__(self):
        return f"<Tensor {self.name} {self.dtype} {format_shape(self.shape)}>"

    def _binary(self, op, other, reverse=False):
        other = self.graph.as_tensor(other, self.dtype)
        a, b = (other, self) if reverse else (self, other)
        return self.graph.emit(op, [a, b]).output(0)

    def __add__(self, other): return self._binary("AddV2", other)
    def __radd__(self, other): return self._binary("AddV2", other, reverse=True)
    def __sub__(self, other): return self._binary("Sub", other)
    def __rsub__(self, other): return self._binary("Sub", other, reverse=True)
    def __mul__(self, other): return self._binary("Mul", other)
    def __rmul__(self, other): return self._binary("Mul", other, reverse=True)
    def __truediv__(self, other): return self._binary("RealDiv", other)
    def __rtruediv__(self, other): return self._binary("RealDiv", other, reverse=True)
    def __pow__(self, other): return self._binary("Pow", other)
    def __neg__(self): return self.graph.emit("Neg", [self]).output(0)


class Node:
    __slots__ = ("graph", "name", "op", "opdef", "inputs", "control_inputs", "attrs",
                 "output_dtypes", "output_shapes", "const_values", "index", "rule_view")

    def __init__(self, graph, name, opdef, inputs, control_inputs, attrs):
        self.graph = graph
        self.name = name
        self.op = opdef.name
        self.opdef = opdef
        self.inputs: list[Tensor] = inputs
        self.control_inputs: tuple[Node, ...] = control_inputs
        self.attrs: dict[str, Any] = attrs
        self.output_dtypes: tuple[np.dtype, ...] = ()
        self.output_shapes: tuple[Shape, ...] = ()
        self.const_values: list[np.ndarray] | None = None
        self.index = -1
        # what gradient rules see of the outputs (core.replay.rule_view), once asked
        self.rule_view: tuple | None = None

    @property
    def type(self) -> str:
        """The op type, under TensorFlow's name for it."""
        return self.op

    @property
    def num_outputs(self) -> int:
        return len(self.output_dtypes)

    def output(self, index: int) -> Tensor:
        return Tensor(self, index)

    @property
    def outputs(self) -> list[Tensor]:
        return [Tensor(self, i) for i in range(self.num_outputs)]

    def attr(self, name: str):
        return self.attrs[name]

    def __repr__(self):
        return f"<Node {self.name} op={self.op}>"


class _NameScope:
    """The context manager of `Graph.name_scope` (a class: entered once per gradient rule)."""

    __slots__ = ("graph", "name", "outer")

    def __init__(self, graph: "Graph", name: str):
        self.graph = graph
        self.name = name

    def __enter__(self) -> str:
        graph = self.graph
        self.outer = graph._scope
        graph._scope = graph.unique_name(self.name)
        return graph._scope

    def __exit__(self, *exc_info) -> None:
        self.graph._scope = self.outer


class Graph:
    """A computation graph. Nodes are added in topological order and never removed."""

    def __init__(self):
        self.nodes: list[Node] = []
        self._by_name: dict[str, Node] = {}
        self._names_in_use: dict[str, int] = {}
        self._scope = ""
        # The names `unique_name` marks as used go here too while it is a list: a gradient
        # rule's call being recorded (core.replay).
        self.name_log: list[str] | None = None

    def __len__(self):
        return len(self.nodes)

    # -- lookup ---------------------------------------------------------------------

    def node(self, name: str) -> Node:
        try:
            return self._by_name[name]
        except KeyError:
            raise GraphError(f"no node named {name!r} in the graph", name) from None

    def has_node(self, name: str) -> bool:
        return name in self._by_name

    def tensor(self, ref: str) -> Tensor:
        """The tensor named by a reference `node` or `node:k`."""
        node = self._by_name.get(ref) if isinstance(ref, str) else None
        if node is not None and node.output_dtypes and ":" not in ref and "^" not in ref:
            return Tensor(node, 0)
        if not isinstance(ref, str):
            raise GraphError(f"a tensor reference must be a string, got {ref!r}")
        match = _REF_PATTERN.fullmatch(ref)
        if not match or match.group(1):
            raise GraphError(f"invalid tensor reference {ref!r}: expected 'node' or 'node:k'")
        node = self.node(match.group(2))
        index = int(match.group(3) or 0)
        if index >= node.num_outputs:
            raise GraphError(
                f"tensor reference {ref!r} is out of range: node {node.name!r} ({node.op}) "
                f"has {node.num_outputs} output(s)", node.name)
        return Tensor(node, index)

    # -- names ----------------------------------------------------------------------

    def unique_name(self, name: str) -> str:
        """`name` under the current scope, made unique as TensorFlow does (`name_1`, ...)."""
        if self._scope:
            name = self._scope + "/" + name
        key = name.lower()
        i = self._names_in_use.get(key, 0)
        self._names_in_use[key] = i + 1
        if self.name_log is not None:
            self.name_log.append(key)
        if i == 0:
            return name
        base = key
        while key in self._names_in_use:
            key = f"{base}_{i}"
            i += 1
        self._names_in_use[key] = 1
        if self.name_log is not None:
            self.name_log.append(key)
        return f"{name}_{i - 1}"

    def name_use_count(self, key: str) -> int:
        """How often the lower-cased name `key` was handed out by `unique_name`."""
        return self._names_in_use.get(key, 0)

    def restore_name_use(self, scope_key: str, counts: list[tuple[str, int]]) -> None:
        """Marks the names under a scope as used as often as given (a replayed record)."""
        names = self._names_in_use
        for suffix, count in counts:
            names[scope_key + suffix] = count
        if self.name_log is not None:
            self.name_log.extend(scope_key + suffix for suffix, _ in counts)

    def _mark_used(self, name: str) -> None:
        """Marks `name` and each scope it is under (`a`, `a/b` of `a/b/c`) as used."""
        key = name.lower()
        end = key.find("/")
        while end != -1:
            self._names_in_use.setdefault(key[:end], 1)
            end = key.find("/", end + 1)
        self._names_in_use.setdefault(key, 1)

    def name_scope(self, name: str) -> "_NameScope":
        """TensorFlow's name_scope: a new unique scope under the current one."""
        return _NameScope(self, name)

    # -- building -------------------------------------------------------------------

    def add_node(self, name: str, op: str, inputs: list[Tensor], attrs: dict | None = None,
                 control_inputs: list[Node] = (), name_is_unique: bool = False) -> Node:
        """Validates and adds a node whose inputs are already in the graph. A name made by
        `unique_name` (`name_is_unique`) has its scopes marked as used already."""
        if name in self._by_name:
            raise GraphError(f"duplicate node name {name!r}", name)
        opdef = _registered(name, op)
        _check_arity(name, opdef, len(inputs))
        node = self._append(name, opdef, list(inputs), tuple(control_inputs),
                            _convert_attrs(name, opdef, attrs or {}))
        if not name_is_unique:
            self._mark_used(name)
        return node

    def emit(self, op: str, inputs: list[Tensor], name: str | None = None,
             control_inputs: list[Node] = (), **attrs) -> Node:
        """Adds a node named `name` (default: the op type) under the current scope.

        The builder's path: its names are unique by construction and their scopes marked,
        so unlike `add_node` it looks for no duplicate; shape rules still check every
        dtype and shape."""
        name = self.unique_name(name or op)
        opdef = _registered(name, op)
        _check_arity(name, opdef, len(inputs))
        return self._append(name, opdef, list(inputs), tuple(control_inputs),
                            _convert_attrs(name, opdef, attrs))

    def _append(self, name: str, opdef: registry.OpDef, inputs: list[Tensor],
                control_inputs: tuple[Node, ...], attrs: dict) -> Node:
        """Infers the outputs of a node already checked, folds its value and appends it."""
        node = Node(self, name, opdef, inputs, control_inputs, attrs)
        outputs = opdef.infer(node)
        if len(outputs) == 1:
            ((dtype, shape),) = outputs
            node.output_dtypes, node.output_shapes = (dtype,), (shape,)
        elif outputs:
            dtypes, shapes = zip(*outputs)
            node.output_dtypes, node.output_shapes = dtypes, shapes
        if opdef.static_value is not None or (opdef.foldable and inputs and not control_inputs):
            _fold_constants(node)
        node.index = len(self.nodes)
        self.nodes.append(node)
        self._by_name[name] = node
        return node

    def append_inferred(self, name: str, opdef: registry.OpDef, inputs: list[Tensor],
                        control_inputs: tuple[Node, ...], attrs: dict, output_dtypes: tuple,
                        output_shapes: tuple, fold: bool) -> Node:
        """Appends a node whose name is marked used and whose outputs are known without its
        shape rule: inferred for inputs of the same dtypes, shapes and constant values (a
        replayed record, core.replay), or a sum of gradients alike (core.gradients._add_n);
        `fold` computes its value as `_append` would."""
        node = Node(self, name, opdef, inputs, control_inputs, attrs)
        node.output_dtypes, node.output_shapes = output_dtypes, output_shapes
        if fold:
            _fold_constants(node)
        node.index = len(self.nodes)
        self.nodes.append(node)
        self._by_name[name] = node
        return node

    def constant(self, value, dtype=None, name: str = "Const") -> Tensor:
        array = np.asarray(value, dtype=None if dtype is None else dt.as_dtype(dtype))
        if array.dtype == np.float64 and dtype is None and not isinstance(value, np.ndarray):
            array = array.astype(np.float32)  # TensorFlow's default for Python floats
        if array.dtype == np.int64 and dtype is None and not isinstance(value, np.ndarray):
            array = array.astype(np.int32)
        return self.emit("Const", [], name=name, value=array, dtype=array.dtype).output(0)

    def as_tensor(self, value, dtype: np.dtype) -> Tensor:
        return value if isinstance(value, Tensor) else self.constant(value, dtype)

    # -- import and export ----------------------------------------------------------

    @classmethod
    def from_node_defs(cls, node_defs: list[NodeDef],
                       placeholder_shapes: dict[str, tuple] | None = None) -> "Graph":
        """Builds and validates a graph from nodes in any order; ValueError naming the node.

        `placeholder_shapes` specialises placeholders to the shapes they will be fed, so
        every static shape downstream is known: gradient rules take their static paths and
        the memory an evaluation needs can be estimated before it runs."""
        graph = cls()
        placeholder_shapes = placeholder_shapes or {}
        with gc_paused():
            for node_def in _topological_order(node_defs):
                if node_def.op == "Placeholder" and node_def.name in placeholder_shapes:
                    node_def = _specialized(node_def, placeholder_shapes[node_def.name])
                inputs, controls = [], []
                for ref in node_def.inputs:
                    if ref.startswith("^"):
                        controls.append(graph.node(ref[1:]))
                    else:
                        try:
                            inputs.append(graph.tensor(ref))
                        except GraphError as error:
                            raise GraphError(f"node {node_def.name!r}: {error}",
                                             node_def.name) from None
                graph.add_node(node_def.name, node_def.op, inputs, node_def.attrs, controls)
        return graph

    def to_node_defs(self) -> list[NodeDef]:
        return [NodeDef(n.name, n.op, [t.name for t in n.inputs] +
                        ["^" + c.name for c in n.control_inputs], dict(n.attrs))
                for n in self.nodes]


_gc_pauses = 0
_gc_was_enabled = False
_gc_lock = threading.Lock()


@contextmanager
def gc_paused():
    """Pauses Python's cyclic garbage collector while a large graph or plan is built: as the
    graph grows, its full collections would walk every node again and again (a fifth of the
    time of a 100,000-node build), and those builds make no cycles. Counted across threads:
    the collector resumes, as it was before the first pause, when the last one ends."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _specialized(node_def: NodeDef, shape: tuple) -> NodeDef:
    declared = as_shape(node_def.attrs.get("shape"), node_def.name)
    if not compatible(tuple(shape), declared):
        raise GraphError(f"cannot feed a value of shape {format_shape(tuple(shape))} to tensor "
                         f"{node_def.name!r}, which has shape {format_shape(declared)}",
                         node_def.name)
    return NodeDef(node_def.name, node_def.op, node_def.inputs,
                   {**node_def.attrs, "shape": list(shape)})


def parse_ref(ref: str) -> tuple[str, int, bool]:
    """(node name, output index, is control input) of a reference."""
    match = _REF_PATTERN.fullmatch(ref) if isinstance(ref, str) else None
    if not match:
        raise GraphError(f"invalid tensor reference {ref!r}")
    return match.group(2), int(match.group(3) or 0), bool(match.group(1))


def _topological_order(node_defs: list[NodeDef]) -> list[NodeDef]:
    """Kahn's algorithm, keeping the given order wherever it is already topological; names a node on a cycle if there is one."""
    by_name: dict[str, NodeDef] = {}
    for nd in node_defs:
        if not isinstance(nd.name, str) or not NAME_PATTERN.fullmatch(nd.name):
            raise GraphError(
                f"invalid node name {nd.name!r}: names match [A-Za-z0-9.][A-Za-z0-9_.\\-/]*",
                nd.name if isinstance(nd.name, str) else None)
        if nd.name in by_name:
            raise GraphError(f"duplicate node name {nd.name!r}", nd.name)
        by_name[nd.name] = nd
    if _in_order(node_defs):
        return node_defs
    consumers: dict[str, list[str]] = {name: [] for name in by_name}
    pending: dict[str, int] = {}
    for nd in node_defs:
        producers = set()
        for ref in nd.inputs:
            name = _producer_name(ref)
            if name not in by_name:
                raise GraphError(
                    f"node {nd.name!r} reads {ref!r}, but there is no node named {name!r}", nd.name)
            producers.add(name)
        pending[nd.name] = len(producers)
        for name in producers:
            consumers[name].append(nd.name)
    position = {nd.name: i for i, nd in enumerate(node_defs)}
    ready = [i for i, nd in enumerate(node_defs) if pending[nd.name] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        nd = node_defs[heapq.heappop(ready)]
        order.append(nd)
        for consumer in consumers[nd.name]:
            pending[consumer] -= 1
            if pending[consumer] == 0:
                heapq.heappush(ready, position[consumer])
    if len(order) < len(node_defs):
        stuck = _node_on_cycle(by_name, pending)
        raise GraphError(f"the graph has a cycle through node {stuck!r}", stuck)
    return order


def _in_order(node_defs: list[NodeDef]) -> bool:
    """Whether every node comes after the nodes it reads (as in any exported graph)."""
    seen = set()
    for nd in node_defs:
        for ref in nd.inputs:
            if _producer_name(ref) not in seen:
                return False
        seen.add(nd.name)
    return True


def _producer_name(ref: str) -> str:
    """The node a reference reads; the reference itself in the usual case, `node`."""
    if isinstance(ref, str) and ref and ":" not in ref and "^" not in ref:
        return ref
    return parse_ref(ref)[0]


def _node_on_cycle(by_name, pending) -> str:
    """Walks back from a node left unsorted until a node repeats: that node is on a cycle."""
    current = next(name for name, count in pending.items() if count > 0)
    seen = set()
    while current not in seen:
        seen.add(current)
        current = next(name for name, _, _ in map(parse_ref, by_name[current].inputs)
                       if pending[name] > 0)
    return current


def _check_arity(name: str, opdef: registry.OpDef, count: int) -> None:
    expected = opdef.min_inputs
    if opdef.variadic:
        if count < expected:
            raise GraphError(f"node {name!r} ({opdef.name}) takes at least {expected} input(s) "
                             f"({', '.join(opdef.inputs)}), got {count}", name)
    elif count != expected:
        raise GraphError(f"node {name!r} ({opdef.name}) takes {expected} input(s) "
                         f"({', '.join(opdef.inputs) or 'none'}), got {count}", name)


def _registered(name: str, op: str) -> registry.OpDef:
    opdef = registry.lookup(op)
    if opdef is None:
        raise GraphError(
            f"node {name!r} uses op {op!r}, which is not registered (GET /v1/ops lists "
            f"the supported ops)", name)
    return opdef


def _convert_attrs(name: str, opdef: registry.OpDef, attrs: dict) -> dict:
    if not attrs and not opdef.required_attrs:
        return dict(opdef.attr_defaults)
    converted = {}
    for attr_name, value in attrs.items():
        spec = opdef.attrs.get(attr_name)
        if spec is None:
            if attr_name.startswith("_") or attr_name in registry.INFERRED_TYPE_ATTRS:
                continue
            raise GraphError(f"node {name!r}: op {opdef.name} has no attribute {attr_name!r} "
                             f"(its attributes: {', '.join(opdef.attrs) or 'none'})", name)
        if value is None and spec.default is None:
            converted[attr_name] = None
        else:
            converted[attr_name] = registry.convert_attr(spec.kind, value, name, attr_name)
    if len(converted) == len(opdef.attrs):
        return converted
    for attr_name, spec in opdef.attrs.items():
        if attr_name not in converted:
            if spec.default is registry.REQUIRED:
                raise GraphError(f"node {name!r} ({opdef.name}) is missing attribute "
                                 f"{attr_name!r}", name)
            converted[attr_name] = spec.default
    return converted


def _fold_constants(node: Node) -> None:
    """Computes small values known at build time, as TensorFlow's constant_value does, so
    that shape rules can read a reshape's shape or a reduction's axes."""
    opdef = node.opdef
    if opdef.static_value is not None:
        node.const_values = opdef.static_value(node)
        if node.const_values is not None:
            return
    if not opdef.foldable or not node.inputs or node.control_inputs:
        return
    for t in node.inputs:
        if t.const_value is None:
            return
    sizes = [num_elements(s) for s in node.output_shapes]
    if any(n is None or n > FOLD_MAX_ELEMENTS for n in sizes):
        return
    node.const_values = run_kernel(node, [t.const_value for t in node.inputs])


def run_kernel(node: Node, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Runs a node's kernel; a failure on the values given becomes a ValueError naming it."""
    try:
        with np.errstate(all="ignore"):
            result = node.opdef.kernel(node, *arrays)
    except MemoryError:
        raise ResourceLimitError(
            f"node {node.name!r} ({node.op}) needs more memory than is available", node.name) from None
    except (ValueError, IndexError, TypeError, ArithmeticError) as error:
        raise GraphError(f"node {node.name!r} ({node.op}) cannot be computed: {error}",
                         node.name) from None
    return list(result) if isinstance(result, (tuple, list)) else [result]
