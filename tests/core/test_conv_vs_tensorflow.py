"""The convolution and pooling cases TensorFlow's CPU kernels cannot run, against
TensorFlow through equivalents they can: a channels-first case as its channels-last twin,
a dilated convolution as the undilated one of a zero-stuffed filter. Values and first
order gradients (for an incoming gradient `w`) are compared."""

from dataclasses import replace

import numpy as np
import pytest

import core
from core import registry
from tests.core.cases import conv
from tests.core.opcheck import build_case
from tests.tf_bridge import TFGraph

CHANNELS_FIRST = [c for c in conv.CASES if not c.tf and c.attrs.get("data_format", "N.")[1] == "C"]
DILATED = [c for c in conv.CASES if not c.tf and max(c.attrs.get("dilations", (1,))) > 1]
LAYOUT_INPUTS = {"input", "value", "orig_input", "orig_output", "grad", "out_backprop"}
SIZES_INPUTS = {"input_sizes", "orig_input_shape"}


def compare(case, twin, to_twin, from_twin):
    """`case` in core against `twin` in TensorFlow: `to_twin(i, value)` maps input i (or
    the output, i = None) of the case to the twin's, `from_twin` maps back."""
    built, twin_built = build_case(case), build_case(twin)
    y = built.outputs[0]
    ours = core.evaluate(built.graph, [y], built.feeds)[0]
    w = np.random.default_rng(5).uniform(0.5, 1.5, ours.shape).astype(ours.dtype)
    our_grads = core.evaluate(built.graph, core.gradients(built.graph, [y], built.xs, [w]),
                              built.feeds)
    reference = TFGraph(twin_built.graph)
    theirs = reference.run([reference.tensor("y")] + reference.gradients(
        ["y"], [x.name for x in twin_built.xs], grad_ys=[to_twin(None, w)]),
        {x.name: v for x, v in twin_built.feeds.items()})
    np.testing.assert_allclose(ours, from_twin(None, theirs[0]), rtol=1e-6, atol=1e-6)
    for i, ours_g, theirs_g in zip(case.differentiated, our_grads, theirs[1:]):
        np.testing.assert_allclose(ours_g, from_twin(i, theirs_g), rtol=1e-6, atol=1e-6,
                                   err_msg=f"{case} d/dx{i}")


@pytest.mark.parametrize("case", CHANNELS_FIRST, ids=str)
def test_channels_first_as_tensorflows_channels_last(case):
    names = registry.lookup(case.op).inputs
    data_format = case.attrs["data_format"]
    rank = len(data_format)
    to_last, to_first = [0, *range(2, rank), 1], [0, rank - 1, *range(1, rank - 1)]
    attrs = {**case.attrs, "data_format": data_format.replace("C", "") + "C"}
    for name in ("strides", "ksize", "dilations"):
        if name in attrs:
            attrs[name] = tuple(np.asarray(attrs[name])[to_last].tolist())
    if "explicit_paddings" in attrs:
        pairs = np.reshape(attrs["explicit_paddings"], (-1, 2))
        attrs["explicit_paddings"] = tuple(pairs[to_last].ravel().tolist())

    def permuted(perm):
        def apply(i, value):
            name = "output" if i is None else names[i]
            if name in SIZES_INPUTS:
                return value[perm]
            transposed = name in LAYOUT_INPUTS or name == "output" and "Filter" not in case.op
            return value.transpose(perm) if transposed else value
        return apply

    inputs = [permuted(to_last)(i, v) for i, v in enumerate(case.inputs)]
    compare(case, replace(case, inputs=inputs, attrs=attrs, tf=True), permuted(to_last),
            permuted(to_first))


@pytest.mark.parametrize("case", DILATED, ids=str)
def test_dilated_as_tensorflows_zero_stuffed_filter(case):
    names = registry.lookup(case.op).inputs
    n = len(case.attrs["dilations"]) - 2
    rates = case.attrs["dilations"][1:-1]
    index = tuple(slice(None, None, r) for r in rates)

    def stuff(w):
        shape = [(k - 1) * r + 1 for k, r in zip(w.shape[:n], rates)] + list(w.shape[n:])
        result = np.zeros(shape, w.dtype)
        result[index] = w
        return result

    def filter_like(i):
        return names[i] == "filter" if i is not None else "Filter" in case.op

    def to_twin(i, value):
        if i is not None and names[i] == "filter_sizes":
            return np.asarray([(k - 1) * r + 1 for k, r in zip(value[:n], rates)] +
                              list(value[n:]), value.dtype)
        return stuff(value) if filter_like(i) else value

    def from_twin(i, value):
        return value[index] if filter_like(i) else value

    inputs = [to_twin(i, v) for i, v in enumerate(case.inputs)]
    attrs = {**case.attrs, "dilations": (1,) * (n + 2)}
    compare(case, replace(case, inputs=inputs, attrs=attrs, tf=True), to_twin, from_twin)
