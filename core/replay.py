"""Gradient subgraphs recorded once and replayed: the backward builder's cache of rule calls.

A gradient rule is a function of what it can see: the op and its attributes, and the
dtypes, static shapes, small constant values and producing op types of the tensors it is
given (the node's inputs and outputs and the gradients flowing in), and which of them are
the same tensor. Two calls that see the same of all that build the same subgraph, up to
the tensors it reads and the scope it is named under. So the first call is recorded: its
nodes with their names relative to the scope, their inferred dtypes and shapes, and every
input as either one of those tensors or an earlier node of the record. Later calls with
the same key append the recorded nodes directly, without running the rule, the shape
rules, attribute conversion or name uniquing; a graph of 20,000 similar steps then pays
for each kind of step once.

The rule's result is the same either way, node for node and name for name (the tests
compare both builds). A call whose key cannot be formed (an unhashable attribute, a
constant input too large to key on) or whose record reads a tensor outside its own nodes
and the given ones just runs the rule.
"""

from itertools import repeat

from core.graph import Graph, Node, Tensor

# Constant inputs up to this many elements are keyed by value; larger ones make the rule
# call run without a record.
KEYED_CONSTANT_ELEMENTS = 16


def rule_key(node: Node, out_grads: list, gate: bool,
             views: dict | None = None) -> tuple[tuple | None, list]:
    """What the gradient rule of `node` can see, as a key (None when a constant input is
    too large to key on), and the given tensors (the replay's inputs): the node's inputs,
    its outputs, then the gradients of its outputs. `views` interns the views computed
    here: one tuple for the thousands of nodes that look alike, not one each for the
    garbage collector to walk."""
    count = len(node.output_dtypes)
    outputs = [Tensor(node, 0)] if count == 1 else [Tensor(node, i) for i in range(count)]
    tensors = node.inputs + out_grads
    given = node.inputs + outputs + out_grads
    parts = [node.op, gate, node.output_dtypes, node.output_shapes, tuple(node.attrs.items())]
    producers = []
    for t in tensors:
        if t is None:
            parts.append(None)
            continue
        producer = t.node
        view = producer.rule_view
        if view is None:
            view = rule_view(producer)
            if views is not None:
                view = views.setdefault(view, view)
            producer.rule_view = view
        part = view[t.index]
        if part is None:
            return None, given
        parts.append(part)
        producers.append(producer)
    if len(set(producers)) < len(producers):
        refs = [(id(t.node), t.index) for t in tensors if t is not None]
        if len(set(refs)) < len(refs):  # a tensor given twice: key which positions repeat
            first: dict = {}
            parts.append(tuple(first.setdefault(ref, i) for i, ref in enumerate(refs)))
    return tuple(parts), given


def rule_view(node: Node) -> tuple:
    """What a gradient rule reading an output of `node` sees of it, per output: the op, the
    dtype and static shape, and a constant's value (None when too large to key on)."""
    values = node.const_values
    if values is None:
        if len(node.output_dtypes) == 1:
            return ((node.op, node.output_dtypes[0], node.output_shapes[0]),)
        return tuple(zip(repeat(node.op), node.output_dtypes, node.output_shapes))
    if len(values) == 1:
        return (_constant_view(node.op, values[0]),)
    return tuple(_constant_view(node.op, value) for value in values)


def _constant_view(op: str, value) -> tuple | None:
    if value.size > KEYED_CONSTANT_ELEMENTS:
        return None
    return op, value.dtype, value.shape, value.tobytes()


class Record:
    """The nodes one rule call added under its scope, and the gradients it returned. A
    tensor is a position in the pool: the given tensors, then each recorded node's outputs
    in turn (a gradient the rule gave as None: -1)."""

    __slots__ = ("nodes", "names_in_use", "results", "narrowed")

    def __init__(self, nodes: list[tuple], names_in_use: list[tuple[str, int]], results: list,
                 narrowed: tuple[int, ...]):
        self.nodes = nodes  # (name under the scope, opdef, input positions, control node
        #                      numbers, attrs, output dtypes, output shapes, folded, view)
        self.names_in_use = names_in_use
        self.results = results
        # the inputs whose gradient's static shape differs from theirs (the builder narrows
        # it): the same for every call with the key, which holds the inputs' shapes
        self.narrowed = narrowed

    @classmethod
    def capture(cls, graph: Graph, scope: str, first: int, given: list, results: list,
                names_used: list[str], narrowed: tuple[int, ...]) -> "Record | None":
        """The record of the nodes from index `first` on, named under `scope`; None when
        they read a tensor neither given nor made by the call."""
        prefix = scope + "/"
        positions = {t: i for i, t in reversed(list(enumerate(given))) if t is not None}
        pool_size = len(given)
        nodes = []
        for node in graph.nodes[first:]:
            if not node.name.startswith(prefix) or prefix in node.name[len(prefix):]:
                return None  # named outside the scope, or after a node inside it
            inputs = tuple(positions.get(t) for t in node.inputs)
            controls = tuple(c.index - first for c in node.control_inputs)
            if None in inputs or any(c < 0 for c in controls):
                return None
            nodes.append((node.name[len(prefix):], node.opdef, inputs, controls,
                           dict(node.attrs), node.output_dtypes, node.output_shapes,
                           node.const_values is not None, rule_view(node)))
            for i in range(len(node.output_dtypes)):
                positions[Tensor(node, i)] = pool_size
                pool_size += 1
        if any(t is not None and positions.get(t) is None for t in results):
            return None  # an IndexedSlices, or a tensor from elsewhere
        key_prefix = prefix.lower()
        names_in_use = [(key[len(key_prefix):], graph.name_use_count(key))
                        for key in dict.fromkeys(names_used)
                        if key.startswith(key_prefix) and key_prefix not in key[len(key_prefix):]]
        if len(names_in_use) < len(set(names_used)):
            return None
        return cls(nodes, names_in_use, [-1 if t is None else positions[t] for t in results],
                   narrowed)

    def replay(self, graph: Graph, scope: str, given: list) -> list:
        """Appends the recorded nodes under `scope`, reading `given` (a list it extends
        into the pool); the rule's gradients."""
        graph.restore_name_use(scope.lower() + "/", self.names_in_use)
        prefix = scope + "/"
        pool = given
        made: list[Node] = []
        append = graph.append_inferred
        for suffix, opdef, inputs, controls, attrs, dtypes, shapes, folded, view in self.nodes:
            node = append(prefix + suffix, opdef, list(map(pool.__getitem__, inputs)),
                          tuple(made[i] for i in controls) if controls else (), attrs.copy(),
                          dtypes, shapes, folded)
            node.rule_view = view
            made.append(node)
            if len(dtypes) == 1:
                pool.append(Tensor(node, 0))
            else:
                pool.extend(Tensor(node, i) for i in range(len(dtypes)))
        pool.append(None)   # position -1: a gradient the rule gave as None
        return list(map(pool.__getitem__, self.results))


_UNREPLAYABLE = object()


class RuleRecords:
    """The records of one backward build, by key."""

    def __init__(self):
        self._records: dict[tuple, Record | object] = {}
        self._views: dict[tuple, tuple] = {}

    def find(self, node: Node, out_grads: list, gate: bool) -> tuple:
        """(key, given tensors, record): the key None when the call cannot be recorded,
        the record None when the key has none yet."""
        key, given = rule_key(node, out_grads, gate, self._views)
        if key is None:
            return None, given, None
        try:
            record = self._records.get(key)
        except TypeError:  # an attribute holding an array or a list
            return None, given, None
        if record is _UNREPLAYABLE:
            return None, given, None
        return key, given, record

    def add(self, key: tuple, record: Record | None) -> None:
        self._records[key] = _UNREPLAYABLE if record is None else record
