"""Evaluates tensors of a graph: only the nodes the fetches need, each intermediate freed
after its last use.

Evaluation is compiled once into a `Plan` (the schedule, with every tensor given a slot
and every slot its last use), so running it again with new feeds costs only the kernels.

Elementwise nodes of one float dtype and static shape are grouped (`_partition`) and each
group runs as one step, a tape of core/kernels/tape.py: its intermediates never reach
memory as arrays, and there is no Python between its nodes. A group runs when a node
outside it first reads one of its outputs (or at the end), so every node it reads has run.
"""

import ctypes
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from core.errors import DeadlineExceeded, GraphError, ResourceLimitError
from core.graph import FOLD_MAX_ELEMENTS, Graph, Node, Tensor, gc_paused
from core.kernels import tape as tapes
from core.shapes import compatible, format_shape, num_elements

# Group elementwise nodes into tapes (tests switch it off to compare with node-by-node).
FUSE = True
# A group runs as a tape when it has at least MIN_GROUP_NODES nodes, or two or more over
# at least MIN_GROUP_ELEMENTS elements, or a float32 transcendental one that large (a
# tape costs about 7 us more to start than a NumPy call; measured break-even).
MIN_GROUP_NODES = 6
MIN_GROUP_ELEMENTS = 4096

# glibc's malloc gives a freed block over its threshold (128 KiB at first, raised as such
# blocks are freed, and then trims the heap's free top) back to the system. A plan frees
# each intermediate at its last use and allocates it again on the next run, so every run
# faulted its temporaries' pages in anew: 1,000 page faults a step on the mlp workload
# (10.3 against 13.3 ms), 3,500 on cnn (18.4 against 28.3). Blocks up to this size are
# kept for reuse instead, unless the MALLOC_*_THRESHOLD_ environment variables set
# otherwise. Elsewhere than glibc nothing changes.
KEPT_BLOCK_BYTES = 32 << 20  # glibc's largest mmap threshold
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _keep_freed_blocks() -> None:
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, KEPT_BLOCK_BYTES)
        mallopt(_M_TRIM_THRESHOLD, 2 * KEPT_BLOCK_BYTES)


_keep_freed_blocks()


@dataclass(frozen=True)
class Step:
    node: Node
    inputs: tuple[int, ...]              # slots read
    outputs: tuple[tuple[int, int], ...]  # (output index, slot) of the outputs still needed
    frees: tuple[int, ...]               # slots read here for the last time


@dataclass(frozen=True)
class FusedStep:
    """A group of elementwise nodes run as one tape."""
    tape: tapes.Tape
    inputs: tuple[int, ...]              # slots of tape.inputs
    outputs: tuple[int, ...]             # slots of tape.outputs
    frees: tuple[int, ...]

    @property
    def node(self) -> Node:
        """The first node of the group, named when the group fails or runs out of time."""
        return self.tape.members[0]


class Plan:
    """The steps that compute `fetches` from tensors fed in `fed`."""

    def __init__(self, graph: Graph, fetches: Sequence[Tensor], fed):
        with gc_paused():  # a plan makes many small objects and no cycles (-30% time)
            self._build(fetches, fed)

    def _build(self, fetches: Sequence[Tensor], fed) -> None:
        self.fetches = list(fetches)
        self.fed = list(dict.fromkeys(fed))
        fed_keys = {(t.node, t.index) for t in self.fed}
        schedule = _schedule(self.fetches, fed_keys)
        # Constants without control inputs are not steps: their values sit in the slots
        # from the start (the Const kernel returns its attribute every time).
        constants = {node: node.attrs["value"] for node in schedule
                     if node.op == "Const" and not node.control_inputs}
        units = _partition(schedule, constants, fed_keys) if FUSE else schedule
        units = _compile_groups(units, self.fetches, constants)

        slots: dict[tuple[Node, int], int] = {(t.node, t.index): i for i, t in enumerate(self.fed)}
        uses: dict[tuple[Node, int], int] = {}
        reads = [_reads(unit) for unit in units]
        for keys in reads:
            for key in keys:
                uses[key] = uses.get(key, 0) + 1
        fetch_keys = [(t.node, t.index) for t in self.fetches]
        for key in fetch_keys:
            uses[key] = uses.get(key, 0) + 1
        initial: dict[int, np.ndarray] = {}
        for node, value in constants.items():
            key = (node, 0)
            if uses.get(key, 0) > 0 and key not in fed_keys:
                slots[key] = len(slots)
                initial[slots[key]] = value
        self.steps: list[Step | FusedStep] = []
        for unit, keys in zip(units, reads):
            inputs = tuple(slots[key] for key in keys)
            frees = []
            for key in keys:
                uses[key] -= 1
                if uses[key] == 0 and key not in fed_keys:
                    frees.append(slots[key])
            frees = tuple(dict.fromkeys(frees))
            if isinstance(unit, tapes.Tape):
                outputs = []
                for t in unit.outputs:
                    slots[(t.node, t.index)] = len(slots)
                    outputs.append(slots[(t.node, t.index)])
                self.steps.append(FusedStep(unit, inputs, tuple(outputs), frees))
                continue
            outputs = []
            for i in range(unit.num_outputs):
                key = (unit, i)
                if uses.get(key, 0) > 0 and key not in fed_keys:
                    slots[key] = len(slots)
                    outputs.append((i, slots[key]))
            self.steps.append(Step(unit, inputs, tuple(outputs), frees))
        self.num_slots = len(slots)
        self.fetch_slots = [slots[key] for key in fetch_keys]
        self._initial = [initial.get(slot) for slot in range(self.num_slots)]

    def peak_bytes(self, feeds: Mapping[Tensor, np.ndarray]) -> tuple[int, Node | None]:
        """An estimate, from static shapes, of the most memory live at once while running,
        and the node whose outputs reach it (outputs of unknown size count as nothing; a
        group of fused nodes holds only its outputs and a small scratch buffer, and is
        named by its first node; constants are part of the graph and count as nothing)."""
        live = sum(np.asarray(feeds[t]).nbytes for t in self.fed)
        sizes = [0] * self.num_slots
        peak, peak_node = live, None
        for step in self.steps:
            extra = 0
            if isinstance(step, FusedStep):
                tape = step.tape
                for slot in step.outputs:
                    sizes[slot] = tape.size * tape.dtype.itemsize
                    live += sizes[slot]
                extra = tape.scratch_bytes * min(tapes.THREADS, -(-tape.size // tape.tile))
            else:
                node = step.node
                for index, slot in step.outputs:
                    count = num_elements(node.output_shapes[index])
                    sizes[slot] = 0 if count is None else count * node.output_dtypes[index].itemsize
                    live += sizes[slot]
            if live + extra > peak:
                peak, peak_node = live + extra, step.node
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
        values: list = self._initial.copy()
        sizes = [0] * self.num_slots
        for slot, t in enumerate(self.fed):
            values[slot] = _check_feed(t, feeds[t])
            sizes[slot] = values[slot].nbytes
        live = sum(sizes)
        with np.errstate(all="ignore"):
            for step in self.steps:
                if deadline is not None and time.monotonic() > deadline:
                    node = step.node
                    raise DeadlineExceeded(f"the evaluation ran out of time before node "
                                           f"{node.name!r} ({node.op})", node.name)
                inputs = [values[i] for i in step.inputs]
                if type(step) is FusedStep:
                    for slot, value in zip(step.outputs, step.tape.run(inputs, deadline)):
                        values[slot] = value
                        if max_bytes is not None:
                            sizes[slot] = value.nbytes
                            live += sizes[slot]
                else:
                    node = step.node
                    if max_bytes is not None and not _sizes_known(node):
                        needed = live + _output_bytes(node, inputs)
                        if needed > max_bytes:
                            raise ResourceLimitError(
                                f"node {node.name!r} ({node.op}) would take the memory held "
                                f"at once to {needed} bytes, over the limit of {max_bytes}",
                                node.name)
                    try:
                        result = node.opdef.kernel(node, *inputs)
                    except MemoryError:
                        raise ResourceLimitError(f"node {node.name!r} ({node.op}) needs more "
                                                 f"memory than is available", node.name) from None
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


# -- grouping elementwise nodes --------------------------------------------------------------

class _Group:
    """Elementwise nodes of one dtype and shape, in schedule order."""

    def __init__(self, key):
        self.key = key            # (dtype, shape)
        self.members: list[Node] = []


def _partition(schedule: list[Node], constants, fed_keys) -> list:
    """The schedule (constants left out) with elementwise nodes gathered into groups: a
    group takes every node of its key (dtype, shape) until a node outside it reads one of
    its outputs (a data or control input), and is placed there, so that the nodes it
    reads all come before it and the nodes reading it after."""
    units: list = []
    open_groups: dict[tuple, _Group] = {}
    group_of: dict[Node, _Group] = {}

    def close(group: _Group) -> None:
        del open_groups[group.key]
        units.append(group)

    for node in schedule:
        if node in constants:
            continue
        # a node whose output is fed runs alone (for its control dependents)
        key = None if (node, 0) in fed_keys else tapes.fusion_key(node)
        for producer in [t.node for t in node.inputs] + list(node.control_inputs):
            group = group_of.get(producer)
            if group is not None and group.key != key and open_groups.get(group.key) is group:
                close(group)
        if key is None:
            units.append(node)
            continue
        group = open_groups.get(key)
        if group is None:
            group = open_groups[key] = _Group(key)
        group.members.append(node)
        group_of[node] = group
    for group in list(open_groups.values()):
        close(group)
    return units


def _compile_groups(units: list, fetches, constants) -> list:
    """Each group worth it as a Tape; the others back to single nodes."""
    if not any(isinstance(unit, _Group) for unit in units):
        return [node for node in units if node not in constants]
    group_index = {}
    for i, unit in enumerate(units):
        if isinstance(unit, _Group):
            for node in unit.members:
                group_index[node] = i
    wanted: dict[int, set] = {}
    for i, unit in enumerate(units):
        reads = ([t for node in unit.members for t in tapes.data_inputs(node)]
                 if isinstance(unit, _Group) else unit.inputs)
        for t in reads:
            j = group_index.get(t.node)
            if j is not None and j != i:
                wanted.setdefault(j, set()).add((t.node, t.index))
    for t in fetches:
        j = group_index.get(t.node)
        if j is not None:
            wanted.setdefault(j, set()).add((t.node, t.index))
    result = []
    for i, unit in enumerate(units):
        if not isinstance(unit, _Group):
            result.append(unit)
        elif _worth_a_tape(unit.members, *unit.key):
            result.append(tapes.Tape(unit.members, *unit.key, wanted.get(i, set()), constants))
        else:
            result.extend(unit.members)
    return result


def _worth_a_tape(members: list[Node], dtype, shape) -> bool:
    if len(members) >= MIN_GROUP_NODES:
        return True
    if num_elements(shape) < MIN_GROUP_ELEMENTS:
        return False
    return len(members) >= 2 or dtype == np.float32 and any(
        tapes.UNARY.get(n.op, tapes.BINARY.get(n.op)) in tapes.TRANSCENDENTAL for n in members)


def _reads(unit) -> list[tuple[Node, int]]:
    """The tensors a step reads (a tape: those from outside it), as (node, index)."""
    return [(t.node, t.index) for t in unit.inputs]


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


_graph_index = attrgetter("index")


def _schedule(fetches: Sequence[Tensor], fed: set[tuple[Node, int]]) -> list[Node]:
    """The nodes that must run, in graph (topological) order."""
    fed_nodes = {node for node, _ in fed}
    needed: set[Node] = set()
    stack = [t.node for t in fetches if (t.node, t.index) not in fed]
    while stack:
        node = stack.pop()
        if node in needed:
            continue
        needed.add(node)
        if node.op == "Placeholder":
            raise GraphError(f"You must feed a value for placeholder tensor {node.name!r} with "
                             f"dtype {node.output_dtypes[0].name} and shape "
                             f"{format_shape(node.output_shapes[0])}", node.name)
        for t in node.inputs:
            producer = t.node
            if producer not in needed and (producer not in fed_nodes
                                           or (producer, t.index) not in fed):
                stack.append(producer)
        stack.extend(node.control_inputs)
    return sorted(needed, key=_graph_index)
