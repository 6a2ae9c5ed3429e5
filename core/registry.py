"""The op registry: for every op its inputs, attributes, shape rule, kernel and gradient rule.

An op is declared once with `defop`, next to its gradient (`gradient`) or its
`not_differentiable` mark, in the module of its family under `core/ops/`. The three
gradient states are kept apart as TensorFlow keeps them: a rule (gradients flow), not
differentiable (no gradient flows, None), and no rule at all (LookupError).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core import dtypes as dt
from core.errors import GraphError
from core.shapes import as_shape

REQUIRED = object()

# Type attributes TensorFlow writes into a GraphDef that follow from the inputs here.
INFERRED_TYPE_ATTRS = frozenset({
    "T", "Tidx", "Tshape", "Tperm", "Tpaddings", "Tmultiples", "Tindices", "Tparams",
    "Taxis", "TI", "Index", "Tidx", "N", "SrcT", "Tcond", "Tlen", "Tsegmentids",
    "Tnumsegments", "Tblock_shape", "Tcrops", "Tout", "Targmax", "Tdim", "Truncate",
    "dtype_hint", "num_split_hint", "Tlabels", "shape_type", "Tk", "Tindex",
})


@dataclass(frozen=True)
class Attr:
    """An attribute: its kind ("type", "shape", "int", "float", "bool", "string",
    "list(int)", "list(type)", "tensor") and default (REQUIRED when it has none)."""
    kind: str
    default: Any = REQUIRED


@dataclass
class OpDef:
    name: str
    inputs: tuple[str, ...]          # a name ending in "*" takes any number of tensors (>= 1)
    infer: Callable                  # infer(node) -> [(dtype, shape), ...], one per output
    kernel: Callable                 # kernel(node, *arrays) -> array or tuple of arrays
    attrs: dict[str, Attr] = field(default_factory=dict)
    dtypes: frozenset = dt.ALL       # the dtypes of its main type T, for GET /v1/ops
    broadcasts: bool = False         # rule results are reduced to each input's shape
    foldable: bool = True            # may be evaluated at build time on constant inputs
    static_value: Callable | None = None  # value known from static shapes alone (Shape, Size)
    grad: Callable | None = None
    not_differentiable: bool = False
    doc: str = ""

    @property
    def gradient_status(self) -> str:
        if self.grad is not None:
            return "differentiable"
        return "not_differentiable" if self.not_differentiable else "no_gradient"

    def __post_init__(self):
        self.min_inputs = len(self.inputs)
        self.variadic = any(name.endswith("*") for name in self.inputs)
        self.attr_defaults = {name: spec.default for name, spec in self.attrs.items()
                              if spec.default is not REQUIRED}
        self.required_attrs = frozenset(self.attrs) - frozenset(self.attr_defaults)


_OPS: dict[str, OpDef] = {}


def defop(name: str, *, inputs, infer, attrs=None, dtypes=dt.ALL, broadcasts=False,
          foldable=True, static_value=None):
    """Decorator registering `kernel` as op `name`; returns the OpDef."""
    def register(kernel):
        if name in _OPS:
            raise RuntimeError(f"op {name} registered twice")
        _OPS[name] = OpDef(name=name, inputs=tuple(inputs), infer=infer, kernel=kernel,
                           attrs=dict(attrs or {}), dtypes=frozenset(dtypes),
                           broadcasts=broadcasts, foldable=foldable, static_value=static_value,
                           doc=(kernel.__doc__ or "").strip())
        return _OPS[name]
    return register


def gradient(*names: str):
    """Decorator registering a symbolic gradient rule `rule(op, *out_grads)` for ops.

    A rule may read the op's attributes and the dtypes, static shapes, constant values and
    producing op types of its inputs, outputs and out_grads, nothing further upstream: the
    backward builder replays a rule's subgraph for calls that see the same (core.replay)."""
    def register(rule):
        for name in names:
            _OPS[name].grad = rule
        return rule
    return register


def not_differentiable(*names: str) -> None:
    """Marks ops through which no gradient flows (TensorFlow's NotDifferentiable)."""
    for name in names:
        _OPS[name].not_differentiable = True


def lookup(name: str) -> OpDef | None:
    return _OPS.get(name)


def all_ops() -> list[OpDef]:
    return [_OPS[name] for name in sorted(_OPS)]


def convert_attr(kind: str, value, node: str, attr: str):
    """An attribute's wire value in its core form; GraphError when it is not of its kind."""
    def bad():
        return GraphError(f"attribute {attr!r} of node {node!r} must be {kind}, got {value!r}", node)

    if kind == "type":
        return dt.as_dtype(value, node)
    if kind == "list(type)":
        if not isinstance(value, (list, tuple)):
            raise bad()
        return tuple(dt.as_dtype(v, node) for v in value)
    if kind == "shape":
        return as_shape(value, node)
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise bad()
        return bool(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise bad()
        return int(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise bad()
        return float(value)
    if kind == "string":
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str):
            raise bad()
        return value
    if kind == "list(int)":
        if not isinstance(value, (list, tuple)) or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            raise bad()
        return tuple(int(v) for v in value)
    if kind == "list(float)":
        if not isinstance(value, (list, tuple)) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise bad()
        return tuple(float(v) for v in value)
    if kind == "tensor":
        if not isinstance(value, np.ndarray):
            raise bad()
        return value
    raise AssertionError(f"unknown attribute kind {kind}")
