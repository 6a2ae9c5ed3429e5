"""Graphs as TensorFlow 1.x builds them: operations, their output tensors, name scopes,
the default graph and the conversion of Python and NumPy values to constants.

A graph lives on the client; the service sees it only when a request sends it. Names are
made unique as TensorFlow makes them (`Mul`, `Mul_1`, `scope/Mul`, case-insensitively).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from gradserve import dtypes

if TYPE_CHECKING:
    from gradserve.wire import WireNode

Shape = tuple[int | None, ...] | None  # None: unknown rank; None in the tuple: unknown dim
Spec = tuple[np.dtype, Shape]          # an output's dtype and static shape

_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\-/]*")


class Pending(Protocol):
    """A recorded gradients() call whose tensors the service has not built yet."""

    def resolve(self) -> None: ...


class Operation:
    """A node: a TensorFlow raw op (`type`) with its input tensors and attributes."""

    def __init__(self, graph: Graph, name: str, op_type: str, inputs: Sequence[Tensor],
                 attrs: dict[str, Any], outputs: Sequence[Spec],
                 control_inputs: Sequence[Operation] = ()) -> None:
        self.graph = graph
        self.name = name
        self.type = op_type
        self.inputs = tuple(inputs)
        self.control_inputs = tuple(control_inputs)
        self.attrs = attrs
        self.outputs = [Tensor(self, i, dtype, shape) for i, (dtype, shape) in enumerate(outputs)]
        self._wire: WireNode | None = None

    def get_attr(self, name: str) -> Any:
        return self.attrs[name]

    @property
    def node_def(self) -> WireNode:
        """The node as the wire carries it (computed once: operations never change)."""
        if self._wire is None:
            from gradserve.wire import encode_node
            self._wire = encode_node(self)
        return self._wire

    def __repr__(self) -> str:
        return f"<gradserve.Operation {self.name!r} type={self.type}>"


class Tensor:
    """Output `value_index` of operation `op`, named `op:value_index` as in TensorFlow.

    A gradient returned by `Client.gradients` starts out pending: its dtype and shape are
    known, its operation is made by the service at the first request that needs it."""

    def __init__(self, op: Operation | None, value_index: int, dtype: np.dtype, shape: Shape,
                 graph: Graph | None = None, pending: Pending | None = None) -> None:
        self._op = op
        self._index = value_index
        self.dtype = dtype
        self.shape = shape
        self._graph = graph if op is None else op.graph
        self._pending = pending

    @property
    def op(self) -> Operation:
        if self._op is None and self._pending is not None:
            self._pending.resolve()
        if self._op is None:
            raise TypeError(f"{self!r} is None: the service found no gradient flowing to its x "
                            f"(an op's gradient rule gives none for that input)")
        return self._op

    @property
    def value_index(self) -> int:
        self.op  # noqa: B018  (a pending gradient is built first)
        return self._index

    @property
    def graph(self) -> Graph:
        assert self._graph is not None
        return self._graph

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self._index}"

    @property
    def is_pending(self) -> bool:
        """Whether this is a gradient the service has not built yet."""
        return self._op is None and self._pending is not None

    def get_shape(self) -> Shape:
        return self.shape

    def set_shape(self, shape: Sequence[int | None] | None) -> None:
        """Narrows the static shape (TensorFlow's set_shape); ValueError if incompatible."""
        if shape is None:
            return
        given = tuple(shape)
        if self.shape is not None and (len(given) != len(self.shape) or any(
                a is not None and b is not None and a != b for a, b in zip(given, self.shape))):
            raise ValueError(f"Shapes {_format(self.shape)} and {_format(given)} are incompatible")
        current = self.shape or given
        self.shape = tuple(a if a is not None else b for a, b in zip(given, current))

    def _bind(self, op: Operation, index: int) -> None:
        """Makes a pending gradient the output `index` of `op` (built by the service)."""
        self._op, self._index, self._pending = op, index, None
        self.shape = op.outputs[index].shape

    @property
    def _ref(self) -> str:
        """The wire reference: `node` for output 0, else `node:k`."""
        return self.op.name if self._index == 0 else f"{self.op.name}:{self._index}"

    def __repr__(self) -> str:
        where = "pending gradient" if self.is_pending else repr(self.name)
        return f"<gradserve.Tensor {where} shape={_format(self.shape)} dtype={self.dtype.name}>"

    def __bool__(self) -> bool:
        raise TypeError("Using a gradserve.Tensor as a Python bool is not allowed: its value "
                        "exists only on the service (Client.run).")

    def __iter__(self) -> Iterator[Tensor]:
        if self.shape is None or not self.shape or self.shape[0] is None:
            raise TypeError("Cannot iterate over a tensor whose first dimension is unknown.")
        return (self[i] for i in range(self.shape[0]))

    # The operators add ops as TensorFlow's do (gradserve.math_ops, gradserve.array_ops).
    def __add__(self, other: Any) -> Tensor: return math_ops.binary_operator("add", self, other)
    def __radd__(self, other: Any) -> Tensor: return math_ops.binary_operator("add", other, self, True)
    def __sub__(self, other: Any) -> Tensor: return math_ops.binary_operator("sub", self, other)
    def __rsub__(self, other: Any) -> Tensor: return math_ops.binary_operator("sub", other, self, True)
    def __mul__(self, other: Any) -> Tensor: return math_ops.binary_operator("mul", self, other)
    def __rmul__(self, other: Any) -> Tensor: return math_ops.binary_operator("mul", other, self, True)
    def __truediv__(self, other: Any) -> Tensor: return math_ops.binary_operator("truediv", self, other)
    def __rtruediv__(self, other: Any) -> Tensor: return math_ops.binary_operator("truediv", other, self, True)
    def __floordiv__(self, other: Any) -> Tensor: return math_ops.binary_operator("floordiv", self, other)
    def __rfloordiv__(self, other: Any) -> Tensor: return math_ops.binary_operator("floordiv", other, self, True)
    def __mod__(self, other: Any) -> Tensor: return math_ops.binary_operator("mod", self, other)
    def __rmod__(self, other: Any) -> Tensor: return math_ops.binary_operator("mod", other, self, True)
    def __pow__(self, other: Any) -> Tensor: return math_ops.binary_operator("pow", self, other)
    def __rpow__(self, other: Any) -> Tensor: return math_ops.binary_operator("pow", other, self, True)
    def __matmul__(self, other: Any) -> Tensor: return math_ops.binary_operator("matmul", self, other)
    def __rmatmul__(self, other: Any) -> Tensor: return math_ops.binary_operator("matmul", other, self, True)
    def __lt__(self, other: Any) -> Tensor: return math_ops.less(self, other)
    def __le__(self, other: Any) -> Tensor: return math_ops.less_equal(self, other)
    def __gt__(self, other: Any) -> Tensor: return math_ops.greater(self, other)
    def __ge__(self, other: Any) -> Tensor: return math_ops.greater_equal(self, other)
    def __neg__(self) -> Tensor: return math_ops.negative(self)
    def __abs__(self) -> Tensor: return math_ops.abs(self)
    def __getitem__(self, key: Any) -> Tensor: return array_ops.slice_helper(self, key)

    __hash__ = object.__hash__  # tensors are dict keys (feed_dict), as in TensorFlow 1.x
    __array_priority__ = 100    # `array + tensor` calls tensor.__radd__, not NumPy


class Graph:
    """A TensorFlow-style graph: operations added in order, never removed."""

    def __init__(self) -> None:
        self._ops: list[Operation] = []
        self._by_name: dict[str, Operation] = {}
        self._names_in_use: dict[str, int] = {}
        self._name_stack = ""

    @contextmanager
    def as_default(self) -> Iterator[Graph]:
        """Makes this the graph that module-level functions (placeholder, ...) add to."""
        _graph_stack.append(self)
        try:
            yield self
        finally:
            _graph_stack.pop()

    @contextmanager
    def name_scope(self, name: str | None) -> Iterator[str]:
        """TensorFlow's Graph.name_scope: a new unique scope under the current one (a name
        ending in "/" re-enters that exact scope; None or "" goes back to the root).
        Yields the scope with a trailing "/"."""
        outer = self._name_stack
        if not name:
            self._name_stack, scope = "", ""
        elif name.endswith("/"):
            self._name_stack, scope = name[:-1], name
        else:
            self._name_stack = self.unique_name(name)
            scope = self._name_stack + "/"
        try:
            yield scope
        finally:
            self._name_stack = outer

    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """`name` under the current scope, made unique as TensorFlow does: `name`, `name_1`..."""
        if self._name_stack:
            name = f"{self._name_stack}/{name}"
        key = name.lower()
        i = self._names_in_use.get(key, 0)
        if mark_as_used:
            self._names_in_use[key] = i + 1
        if i > 0:
            base = key
            while key in self._names_in_use:
                key = f"{base}_{i}"
                i += 1
            if mark_as_used:
                self._names_in_use[key] = 1
            name = f"{name}_{i - 1}"
        return name

    def get_operations(self) -> list[Operation]:
        return list(self._ops)

    def get_operation_by_name(self, name: str) -> Operation:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"The name {name!r} refers to an Operation not in the graph.") from None

    def get_tensor_by_name(self, name: str) -> Tensor:
        """The tensor `op:k` (or `op`, output 0)."""
        op_name, _, index = name.partition(":")
        outputs = self.get_operation_by_name(op_name).outputs
        k = int(index or 0)
        if k >= len(outputs):
            raise KeyError(f"The name {name!r} refers to a Tensor which does not exist: "
                           f"{op_name!r} has {len(outputs)} output(s).")
        return outputs[k]

    def as_graph_def(self) -> dict[str, Any]:
        """The graph as the wire carries it: `{"nodes": [...]}`."""
        return {"nodes": [op.node_def for op in self._ops]}

    def create_op(self, op_type: str, inputs: Sequence[Tensor], attrs: dict[str, Any],
                  name: str, outputs: Sequence[Spec],
                  control_inputs: Sequence[Operation] = ()) -> Operation:
        """Adds an operation named `name` made unique, or exactly `name` without its
        trailing "/" (a scope from name_scope), as TensorFlow's create_op."""
        name = name[:-1] if name.endswith("/") else self.unique_name(name)
        if not _NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid node name")
        if name in self._by_name:
            raise ValueError(f"Duplicate node name in graph: {name!r}")
        for t in inputs:
            if t.graph is not self:
                raise ValueError(f"{t!r} must be from the same graph as the new op {name!r}")
        op = Operation(self, name, op_type, inputs, attrs, outputs, control_inputs)
        self._ops.append(op)
        self._by_name[name] = op
        return op

    def _mark_used(self, name: str) -> None:
        """Marks a name the service chose, and its scopes, as in use."""
        parts = name.lower().split("/")
        for end in range(1, len(parts) + 1):
            self._names_in_use.setdefault("/".join(parts[:end]), 1)


_default_graph = Graph()
_graph_stack: list[Graph] = []


def get_default_graph() -> Graph:
    """The innermost graph made default with `as_default()`, else the global default graph."""
    return _graph_stack[-1] if _graph_stack else _default_graph


def reset_default_graph() -> None:
    """Replaces the global default graph with a new, empty one."""
    global _default_graph
    if _graph_stack:
        raise AssertionError("Do not use reset_default_graph() inside a graph's as_default()")
    _default_graph = Graph()


def graph_of(values: Sequence[Any]) -> Graph:
    """The graph of the first tensor among `values` (nested lists included), else the default."""
    for value in values:
        if isinstance(value, Tensor):
            return value.graph
        if isinstance(value, (list, tuple)):
            graph = graph_of(value)
            if graph is not get_default_graph():
                return graph
    return get_default_graph()


@contextmanager
def op_scope(name: str | None, default_name: str,
             values: Sequence[Any] = ()) -> Iterator[tuple[Graph, str]]:
    """TensorFlow 1.x `name_scope(name, default_name, values)`: enters the graph of
    `values` and a scope named `name` (or `default_name`); yields (graph, scope)."""
    graph = graph_of(values)
    with graph.as_default(), graph.name_scope(default_name if name is None else name) as scope:
        yield graph, scope


@contextmanager
def name_scope(name: str | None, default_name: str | None = None,
               values: Sequence[Any] = ()) -> Iterator[str]:
    """`with gradserve.name_scope("layer1"):` prefixes the names of the ops made inside."""
    graph = graph_of(values)
    with graph.as_default(), graph.name_scope(default_name if name is None else name) as scope:
        yield scope


def placeholder(dtype: Any, shape: Sequence[int | None] | None = None,
                name: str | None = None) -> Tensor:
    """A tensor whose value is fed at run time (`feed_dict`), as tf.compat.v1.placeholder."""
    dtype = dtypes.as_dtype(dtype)
    static = None if shape is None else tuple(None if d is None or d == -1 else int(d)
                                              for d in shape)
    graph = get_default_graph()
    return graph.create_op("Placeholder", [], {"dtype": dtype, "shape": static},
                           name or "Placeholder", [(dtype, static)]).outputs[0]


def constant(value: Any, dtype: Any = None, shape: Sequence[int] | None = None,
             name: str = "Const") -> Tensor:
    """A Const op holding `value`; Python floats become float32 and ints int32, as in
    TensorFlow; `shape` fills a scalar or reshapes a value of that many elements."""
    array = as_array(value, None if dtype is None else dtypes.as_dtype(dtype))
    if shape is not None:
        shape = tuple(shape)
        if array.size == 1:
            array = np.full(shape, array.reshape(()), array.dtype)
        elif array.size == int(np.prod(shape)):
            array = array.reshape(shape)
        else:
            raise TypeError(f"Expected Tensor's shape: {shape}, but got {array.shape}.")
    graph = get_default_graph()
    return graph.create_op("Const", [], {"value": array, "dtype": array.dtype}, name,
                           [(array.dtype, array.shape)]).outputs[0]


def as_array(value: Any, dtype: np.dtype | None = None) -> np.ndarray:
    """`value` as an array of `dtype`, or of the dtype TensorFlow gives it: NumPy values
    keep theirs, Python floats are float32, ints int32 (int64 when too large)."""
    array = np.asarray(value)
    if array.dtype.kind not in "biufc":
        raise TypeError(f"Failed to convert {value!r} to a tensor: not numbers or booleans")
    if dtype is not None:
        if array.dtype.kind in "fc" and dtype.kind in "iub" and not np.all(array == np.round(array)):
            raise TypeError(f"Cannot convert {value!r} to a tensor of dtype {dtype.name}")
        return array.astype(dtype)
    if isinstance(value, (np.ndarray, np.generic)):
        return array
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype == np.int64 and (array.size == 0 or np.abs(array).max() < 2**31):
        return array.astype(np.int32)
    return array


def convert_to_tensor(value: Any, dtype: Any = None, name: str | None = None,
                      preferred_dtype: Any = None) -> Tensor:
    """`value` if it is a tensor (of `dtype`, when given), else a constant of `dtype` (or
    `preferred_dtype`, or the dtype TensorFlow infers) named `name`. A list holding
    tensors is packed (a Pack op named `name`), as TensorFlow's autopacking does."""
    dtype = None if dtype is None else dtypes.as_dtype(dtype)
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != dtype:
            raise ValueError(f"Tensor conversion requested dtype {dtype.name} for Tensor with "
                             f"dtype {value.dtype.name}: {value!r}")
        value.op  # noqa: B018  (a pending gradient is built before an op may read it)
        return value
    if isinstance(value, (list, tuple)) and _holds_tensor(value):
        return _autopack(value, dtype or preferred_dtype, name or "packed")
    if dtype is None and preferred_dtype is not None:
        array = np.asarray(value)
        if array.dtype.kind not in "fc" or dtypes.as_dtype(preferred_dtype).kind in "fc":
            dtype = dtypes.as_dtype(preferred_dtype)
    return constant(value, dtype, name=name or "Const")


def _holds_tensor(values: Sequence[Any]) -> bool:
    return any(isinstance(v, Tensor) or (isinstance(v, (list, tuple)) and _holds_tensor(v))
               for v in values)


def _autopack(values: Sequence[Any], dtype: np.dtype | None, name: str) -> Tensor:
    """A Pack of `values` in a scope named `name`, the non-tensors as Consts named by index."""
    graph = get_default_graph()
    with graph.name_scope(name) as scope:
        dtype = dtype or next(v.dtype for v in values if isinstance(v, Tensor))
        tensors = [convert_to_tensor(v, dtype, name=str(i)) for i, v in enumerate(values)]
        shape = tensors[0].shape
        return graph.create_op("Pack", tensors, {"axis": 0}, scope,
                               [(dtype, None if shape is None else (len(tensors), *shape))]
                               ).outputs[0]


def _format(shape: Shape) -> str:
    return "<unknown>" if shape is None else "(" + ", ".join(
        "None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


from gradserve import array_ops, math_ops
