"""Runs our graphs in TensorFlow (the reference) for the comparison tests.

A core Graph becomes a TensorFlow GraphDef node for node: the same op names, inputs
and attributes, with the type attributes TensorFlow needs filled in from our inferred
dtypes. Then `tf.gradients` runs on it in graph mode, as a user of TensorFlow would.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tensorflow.core.framework import attr_value_pb2, graph_pb2, tensor_shape_pb2  # noqa: E402
from tensorflow.python.framework import op_def_registry  # noqa: E402

import core  # noqa: E402
from core import build  # noqa: E402
from core.graph import Graph, Tensor  # noqa: E402

tf.compat.v1.disable_eager_execution()


def _shape_proto(shape):
    if shape is None:
        return tensor_shape_pb2.TensorShapeProto(unknown_rank=True)
    return tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=-1 if d is None else d) for d in shape])


def _attr_value(value) -> attr_value_pb2.AttrValue:
    if isinstance(value, np.ndarray):
        return attr_value_pb2.AttrValue(tensor=tf.make_tensor_proto(value))
    if isinstance(value, np.dtype):
        return attr_value_pb2.AttrValue(type=tf.as_dtype(value).as_datatype_enum)
    if isinstance(value, bool):
        return attr_value_pb2.AttrValue(b=value)
    if isinstance(value, int):
        return attr_value_pb2.AttrValue(i=value)
    if isinstance(value, float):
        return attr_value_pb2.AttrValue(f=value)
    if isinstance(value, str):
        return attr_value_pb2.AttrValue(s=value.encode())
    if isinstance(value, tuple) and value and all(isinstance(v, np.dtype) for v in value):
        return attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(
            type=[tf.as_dtype(v).as_datatype_enum for v in value]))
    if isinstance(value, tuple) and all(isinstance(v, float) for v in value) and value:
        return attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(f=list(value)))
    raise TypeError(f"no TensorFlow attr for {value!r}")


_SHAPE_ATTRS = {"shape", "element_shape"}


def graph_def(graph: Graph) -> graph_pb2.GraphDef:
    result = graph_pb2.GraphDef()
    for node in graph.nodes:
        proto = result.node.add(name=node.name, op=node.op)
        proto.input.extend([t.name for t in node.inputs] + ["^" + c.name for c in node.control_inputs])
        op_def = op_def_registry.get(node.op)
        remaining = list(node.inputs)
        lists = [a for a in op_def.input_arg if a.number_attr]
        single = len(op_def.input_arg) - len(lists)
        for arg in op_def.input_arg:
            if arg.number_attr:
                count = (len(node.inputs) - single) // len(lists)
                taken, remaining = remaining[:count], remaining[count:]
                proto.attr[arg.number_attr].i = len(taken)
                if arg.type_attr:
                    proto.attr[arg.type_attr].type = tf.as_dtype(taken[0].dtype).as_datatype_enum
            elif arg.type_list_attr:
                taken, remaining = remaining, []
                proto.attr[arg.type_list_attr].list.type.extend(
                    tf.as_dtype(t.dtype).as_datatype_enum for t in taken)
            else:
                taken, remaining = remaining[:1], remaining[1:]
                if arg.type_attr and arg.type_attr not in node.attrs:
                    proto.attr[arg.type_attr].type = tf.as_dtype(taken[0].dtype).as_datatype_enum
        for name, value in node.attrs.items():
            if value is None and name == "dtype":
                continue
            if name in _SHAPE_ATTRS or (isinstance(value, tuple) and name in ("shape",)):
                proto.attr[name].shape.CopyFrom(_shape_proto(value))
            elif isinstance(value, tuple) and all(isinstance(v, int) for v in value):
                proto.attr[name].list.i.extend(value)
            else:
                proto.attr[name].CopyFrom(_attr_value(value))
        if node.op == "Const" and "dtype" not in proto.attr:
            proto.attr["dtype"].type = tf.as_dtype(node.output_dtypes[0]).as_datatype_enum
    return result


class TFGraph:
    """Our graph imported into a TensorFlow graph, addressed by the same tensor names."""

    def __init__(self, graph: Graph):
        self.tf_graph = tf.Graph()
        with self.tf_graph.as_default():
            tf.compat.v1.import_graph_def(graph_def(graph), name="")

    def tensor(self, ref: str):
        name = ref if ":" in ref else ref + ":0"
        return self.tf_graph.get_tensor_by_name(name)

    def gradients(self, ys, xs, **kwargs):
        """tf.gradients, with IndexedSlices (e.g. of a gather) made dense as we give them."""
        with self.tf_graph.as_default():
            grads = tf.compat.v1.gradients([self.tensor(y) for y in ys],
                                           [self.tensor(x) for x in xs], **kwargs)
            return [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                    for g in grads]

    def run(self, fetches, feeds=None):
        feed_dict = {self.tensor(k): v for k, v in (feeds or {}).items()}
        with tf.compat.v1.Session(graph=self.tf_graph) as session:
            return session.run(fetches, feed_dict)


@dataclass
class GradientPair:
    """Our gradient of one order with respect to one input and TensorFlow's, evaluated
    (None where that side gives no gradient)."""
    order: int
    x: str
    ours: np.ndarray | None
    theirs: np.ndarray | None

    def __str__(self):
        return f"d/d{self.x}" if self.order == 1 else f"second order d/d{self.x}"


def gradient_pairs(built, loss: Tensor, reference: TFGraph,
                   second_order: bool = True) -> Iterator[GradientPair]:
    """Our gradients of `loss` with respect to `built.xs` (a tests.core.opcheck.Built) next
    to tf.gradients': first order; then, with `second_order` and every first-order gradient
    given on both sides, the gradients of sum_i sum(v_i * dloss/dx_i) for fixed random v_i.
    A second order that TensorFlow refuses for its dtype (Lgamma's Polygamma in float16)
    is skipped when ours refuses it too."""
    graph, feeds = built.graph, built.feeds
    tf_feeds = {x.name: v for x, v in feeds.items()}
    xs = [x.name for x in built.xs]

    def pairs(order, ours, theirs):
        for x, a, b in zip(xs, ours, theirs):
            yield GradientPair(order, x,
                               None if a is None else core.evaluate(graph, [a], feeds)[0],
                               None if b is None else reference.run(b, tf_feeds))

    our_grads = core.gradients(graph, [loss], built.xs)
    tf_grads = reference.gradients([loss.name], xs)
    yield from pairs(1, our_grads, tf_grads)
    if not second_order or any(g is None for g in our_grads + tf_grads):
        return
    rng = np.random.default_rng(1)
    vs = [rng.uniform(0.5, 1.5, feeds[x].shape).astype(x.dtype) for x in built.xs]
    inner = None
    for g, v in zip(our_grads, vs):
        term = build.reduce_sum(g * graph.constant(v), list(range(v.ndim)))
        inner = term if inner is None else inner + term
    try:
        with reference.tf_graph.as_default():
            tf_inner = tf.add_n([tf.reduce_sum(g * v) for g, v in zip(tf_grads, vs)])
            theirs = tf.compat.v1.gradients(tf_inner, [reference.tensor(x) for x in xs])
    except TypeError:  # an op of TensorFlow's second order lacks the dtype
        with pytest.raises(core.GraphError):
            core.gradients(graph, [inner], built.xs)  # ours must refuse it as well
        return
    yield from pairs(2, core.gradients(graph, [inner], built.xs), theirs)
