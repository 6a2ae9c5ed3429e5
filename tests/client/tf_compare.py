"""Builds the same thing with TensorFlow's graph API and with gradserve's, and lists what
each graph holds, so the tests compare the raw ops, names, inputs and attributes."""

import types

import gradserve as gs
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tensorflow.python.framework import op_def_registry

tf.compat.v1.disable_eager_execution()

# TensorFlow's namespace under gradserve's names: one builder serves both.
TF = types.SimpleNamespace(**{name: getattr(tf, name) for name in dir(tf) if not name.startswith("_")})
for name in ("placeholder", "placeholder_with_default"):
    setattr(TF, name, getattr(tf.compat.v1, name))
TF.bool_ = tf.bool
TF.reduce_euclidean_norm = tf.math.reduce_euclidean_norm
TF.select = tf.compat.v1.where
TF.name_scope = tf.compat.v1.name_scope


def tf_nodes(build):
    graph = tf.Graph()
    with graph.as_default():
        build(TF)
    return [_tf_node(node) for node in graph.as_graph_def().node]


def gs_nodes(build):
    graph = gs.Graph()
    with graph.as_default():
        build(gs)
    return [(op.name, op.type, [t.name.removesuffix(":0") for t in op.inputs],
             {k: _ours(v) for k, v in op.attrs.items()}) for op in graph.get_operations()]


def _tf_node(node):
    """(name, op, inputs, attrs), leaving out the type attributes that follow from the
    inputs and the attributes at their default (so an attribute left out matches)."""
    op_def = op_def_registry.get(node.op)
    inferred = {a.name for a in op_def.attr if a.type in ("type", "list(type)")}
    inferred |= {arg.number_attr for arg in op_def.input_arg if arg.number_attr}
    inferred -= {"dtype", "DstT", "out_type", "output_type"}
    defaults = {a.name: _theirs(a.default_value) for a in op_def.attr
                if a.HasField("default_value")}
    attrs = {name: _theirs(value) for name, value in node.attr.items()
             if name not in inferred and not name.startswith("_")}
    return node.name, node.op, list(node.input), (attrs, defaults)


def same_attrs(ours: dict, theirs: tuple[dict, dict]) -> bool:
    attrs, defaults = theirs
    return all(ours.get(k, defaults.get(k)) == attrs.get(k, defaults.get(k))
               for k in {*ours, *attrs})


def _theirs(value):
    kind = value.WhichOneof("value")
    if kind == "type":
        return tf.as_dtype(value.type).name
    if kind == "shape":
        return None if value.shape.unknown_rank else [None if d.size == -1 else d.size
                                                      for d in value.shape.dim]
    if kind == "tensor":
        array = tf.make_ndarray(value.tensor)
        return (array.dtype.name, array.shape, array.tolist())
    if kind == "list":
        return list(value.list.i) or list(value.list.f) or [
            tf.as_dtype(t).name for t in value.list.type]
    if kind == "s":
        return value.s.decode()
    return getattr(value, kind)


def _ours(value):
    if isinstance(value, np.ndarray):
        return (value.dtype.name, value.shape, value.tolist())
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, tuple):
        return list(value)
    return value
