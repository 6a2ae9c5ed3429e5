"""A program: the gradients (`tf.gradients`) and other tensors of one graph, built once and
evaluated with any feeds.

A `Program` is defined by its graph, ys, xs, grad_ys, stop_gradients, options and fetches;
its `id` is a hash of them (not of the feeds), so the same content has the same id in every
process. Building imports the graph, adds the gradient nodes and compiles a `Plan`: each
build is kept, one per signature of the feeds (which tensors are fed, at which shapes),
since a graph whose placeholders take the fed shapes has every static shape known (gradient
rules take their static paths, elementwise nodes fuse, memory is estimated before running).
Running a kept build again costs only the kernels. `ProgramCache` keeps the most recently
used programs by id, and finds them by cheaper keys of the caller's too (`alias`).
"""

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import ResourceLimitError
from core.executor import Plan
from core.gradients import gradients
from core.graph import Graph, NodeDef, Tensor, parse_ref
from core.sparse import IndexedSlices

Gradient = Tensor | IndexedSlices | None
# A gradient's value: an array, (values, indices, dense_shape) for IndexedSlices, or None.
GradientValue = np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray] | None
# The builds a program keeps, one per feed signature; the least recently used goes first.
MAX_BUILDS_PER_PROGRAM = 8
# The aliases a ProgramCache keeps, per program it keeps; the least recently used go first.
ALIASES_PER_PROGRAM = 4


@dataclass
class Results:
    gradients: list[GradientValue]
    fetched: list[np.ndarray]


@dataclass
class Build:
    """The program's graph imported (fed placeholders at the fed shapes, when specialised)
    with its gradient nodes added, and the plan evaluating them from the feeds it was made
    for (None when built without feeds)."""
    graph: Graph
    graph_size: int  # nodes before the gradient nodes
    gradients: list[Gradient]
    fed: dict[str, Tensor]  # reference -> tensor, of the feeds the plan evaluates from
    plan: Plan | None

    def run(self, feeds: Mapping[str, np.ndarray], *, max_bytes: int | None = None,
            timeout: float | None = None) -> Results:
        """The values of the gradients and fetches given `feeds` (reference -> array, the
        references the build was made for). With `max_bytes`, refused before it starts
        (ResourceLimitError naming the node) when the memory estimated from static shapes is
        over it, and stopped before a node of a size unknown until then that would go over;
        with `timeout` (seconds), stopped between two nodes past it (DeadlineExceeded)."""
        values = iter(self._evaluate(feeds, max_bytes, timeout))
        results = [_gradient_value(g, values) for g in self.gradients]
        return Results(results, list(values))

    def _evaluate(self, feeds: Mapping[str, np.ndarray], max_bytes: int | None,
                  timeout: float | None) -> list[np.ndarray]:
        if self.plan is None or not self.plan.fetches:
            return []
        by_tensor = {t: feeds[ref] for ref, t in self.fed.items()}
        if max_bytes is not None:
            peak, node = self.plan.peak_bytes(by_tensor)
            if peak > max_bytes:
                where = "in the feeds alone" if node is None else f"at node {node.name!r} ({node.op})"
                raise ResourceLimitError(f"the evaluation would hold {peak} bytes at once "
                                         f"{where}, over the limit of {max_bytes}",
                                         None if node is None else node.name)
        deadline = None if timeout is None else time.monotonic() + timeout
        return self.plan.run(by_tensor, deadline=deadline, max_bytes=max_bytes)


@dataclass(eq=False)
class Program:
    """`tf.gradients(ys, xs, grad_ys, stop_gradients=..., **options)` on the graph of
    `node_defs`, and the tensors `fetches`; with no ys and xs, just the fetches (Session.run).
    Thread-safe: a build, once made, is read-only and runs concurrently."""
    node_defs: list[NodeDef]
    ys: list[str] = field(default_factory=list)
    xs: list[str] = field(default_factory=list)
    grad_ys: list[np.ndarray | str | None] | None = None
    stop_gradients: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)  # the other arguments of gradients()
    fetches: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Arrays viewing another buffer (a request body read in place) are copied, so that
        # keeping the program does not keep that buffer.
        self.node_defs = [NodeDef(nd.name, nd.op, nd.inputs,
                                  {name: _owned(value) for name, value in nd.attrs.items()})
                          for nd in self.node_defs]
        if self.grad_ys is not None:
            self.grad_ys = [_owned(g) for g in self.grad_ys]
        self.id = program_id(self.node_defs, self.ys, self.xs, self.grad_ys,
                             self.stop_gradients, self.options, self.fetches)
        self._builds: OrderedDict[tuple, Build] = OrderedDict()
        self._lock = threading.Lock()

    def build(self, feeds: Mapping[str, np.ndarray] | None = None, *,
              specialize: bool = True) -> Build:
        """The build evaluating from `feeds` (None: the symbolic build, no plan), made once
        per signature: the fed references and, when `specialize`, their shapes (an
        unspecialised graph keeps its declared shapes, e.g. to be returned)."""
        signature = None if feeds is None else tuple(sorted(
            (ref, np.shape(value) if specialize else None) for ref, value in feeds.items()))
        with self._lock:
            build = self._builds.get(signature)
            if build is not None:
                self._builds.move_to_end(signature)
                return build
        build = self._build(signature)  # outside the lock: kept builds run meanwhile
        with self._lock:
            build = self._builds.setdefault(signature, build)
            if len(self._builds) > MAX_BUILDS_PER_PROGRAM:
                self._builds.popitem(last=False)
            return build

    def _build(self, signature: tuple | None) -> Build:
        shapes = {}
        for ref, shape in signature or ():
            name, index, _ = parse_ref(ref)
            if shape is not None and index == 0:
                shapes[name] = shape
        graph = Graph.from_node_defs(self.node_defs, placeholder_shapes=shapes)
        graph_size = len(graph)
        ys, xs, stop_gradients, fetches = ([graph.tensor(ref) for ref in refs] for refs in (
            self.ys, self.xs, self.stop_gradients, self.fetches))
        grad_ys = None if self.grad_ys is None else [
            graph.tensor(g) if isinstance(g, str) else g for g in self.grad_ys]
        grads = gradients(graph, ys, xs, grad_ys, stop_gradients=stop_gradients, **self.options)
        fed = {ref: graph.tensor(ref) for ref, _ in signature or ()}
        plan = None
        if signature is not None:
            wanted = [t for g in grads for t in _gradient_tensors(g)] + fetches
            plan = Plan(graph, wanted, fed.values())
        return Build(graph, graph_size, grads, fed, plan)


def _gradient_tensors(gradient: Gradient) -> list[Tensor]:
    """The tensors to evaluate for one gradient."""
    if gradient is None:
        return []
    if isinstance(gradient, IndexedSlices):
        return [gradient.values, gradient.indices, gradient.dense_shape]
    return [gradient]


def _gradient_value(gradient: Gradient, values) -> GradientValue:
    taken = tuple(next(values) for _ in _gradient_tensors(gradient))
    return None if not taken else taken if isinstance(gradient, IndexedSlices) else taken[0]


def _owned(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) and value.base is not None else value


def program_id(node_defs: Sequence[NodeDef], ys: Sequence[str], xs: Sequence[str],
               grad_ys: Sequence[np.ndarray | str | None] | None,
               stop_gradients: Sequence[str], options: Mapping[str, Any],
               fetches: Sequence[str]) -> str:
    """The SHA-256 (hex) of a canonical form of what defines a program: its nodes in the
    order given (name, op, inputs, attributes by name), its references, grad_ys and options.
    An array counts by its dtype, shape and bytes, so how it was encoded does not matter."""
    content = {"nodes": [[nd.name, nd.op, list(nd.inputs), nd.attrs] for nd in node_defs],
               "ys": list(ys), "xs": list(xs), "grad_ys": grad_ys,
               "stop_gradients": list(stop_gradients), "options": dict(options),
               "fetches": list(fetches)}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=_canonical)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
        return {"ndarray": value.dtype.name, "shape": list(value.shape),
                "sha256": hashlib.sha256(data).hexdigest()}
    if isinstance(value, np.dtype):
        return {"dtype": value.name}
    if isinstance(value, np.generic):
        return _canonical(np.asarray(value))
    raise TypeError(f"a program cannot hold a value of type {type(value).__name__}")


class ProgramCache:
    """The most recently used programs by id: at most `max_programs` of them, and at most
    `max_nodes` nodes in their graphs altogether (a larger program is not kept). Thread-safe.

    An alias is a key the caller knows a program by before it has the program, cheaper to
    compute than its id (the service's: a hash of the program's part of a request as
    posted); several aliases may name one id. The most recently used are kept, and one
    finds its program while the program is kept."""

    def __init__(self, max_programs: int, max_nodes: int) -> None:
        self.max_programs = max_programs
        self.max_nodes = max_nodes
        self._programs: OrderedDict[str, Program] = OrderedDict()
        self._nodes = 0
        self._ids_by_alias: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, program_id: str) -> Program | None:
        with self._lock:
            program = self._programs.get(program_id)
            if program is not None:
                self._programs.move_to_end(program_id)
            return program

    def find(self, alias: Hashable) -> Program | None:
        """The kept program `alias` names (`alias(alias, id)`), if any."""
        with self._lock:
            program_id = self._ids_by_alias.get(alias)
            if program_id is None:
                return None
            self._ids_by_alias.move_to_end(alias)
        return self.get(program_id)

    def alias(self, alias: Hashable, program_id: str) -> None:
        """Makes `alias` name the program of `program_id` (kept now or later)."""
        with self._lock:
            self._ids_by_alias[alias] = program_id
            self._ids_by_alias.move_to_end(alias)
            if len(self._ids_by_alias) > ALIASES_PER_PROGRAM * self.max_programs:
                self._ids_by_alias.popitem(last=False)

    def add(self, program: Program) -> Program:
        """Keeps `program`, evicting the least recently used ones as needed; the program
        already kept under its id, if any, is kept and returned instead."""
        with self._lock:
            kept = self._programs.get(program.id)
            if kept is not None:
                self._programs.move_to_end(program.id)
                return kept
            size = len(program.node_defs)
            if size > self.max_nodes:
                return program
            self._programs[program.id] = program
            self._nodes += size
            while len(self._programs) > self.max_programs or self._nodes > self.max_nodes:
                _, evicted = self._programs.popitem(last=False)
                self._nodes -= len(evicted.node_defs)
            return program

    def remove(self, program_id: str) -> bool:
        with self._lock:
            program = self._programs.pop(program_id, None)
            if program is not None:
                self._nodes -= len(program.node_defs)
            return program is not None

    def __len__(self) -> int:
        return len(self._programs)

    def __contains__(self, program_id: str) -> bool:
        return program_id in self._programs
