"""The indexed_slices extension: the gradient of a row gather as TensorFlow's IndexedSlices."""

import numpy as np
import pytest

from schemas import GradientResponse
from tests.service.wire import array, const, data, node, placeholder, request

pytestmark = pytest.mark.anyio
PARAMS = np.arange(12, dtype=np.float32).reshape(6, 2)
IDS = np.array([4, 1, 4], np.int32)


def gather_graph():
    return [placeholder("params", [6, 2]), const("ids", IDS, "int32"),
            const("axis", 0, "int32"), node("rows", "GatherV2", "params", "ids", "axis"),
            node("sq", "Square", "rows"), const("axes", [0, 1], "int32"),
            node("loss", "Sum", "sq", "axes")]


async def test_sparse_gradient_comes_back_as_indices_values_and_dense_shape(client):
    body = request(gather_graph(), "loss", "params", indexed_slices=True, return_graph=True,
                   feeds={"params": data(PARAMS)})
    response = await client.post("/v1/gradients", json=body)
    assert response.status_code == 200, response.text
    GradientResponse.model_validate(response.json())
    [grad] = response.json()["gradients"]
    assert array(grad["indices"]).tolist() == IDS.tolist()
    np.testing.assert_array_equal(array(grad["values"]), 2 * PARAMS[IDS])
    assert grad["dense_shape"] == [6, 2]
    [refs] = response.json()["gradient_refs"]
    assert set(refs) == {"indices", "values", "dense_shape"}


async def test_without_the_option_the_gradient_is_dense(client):
    body = request(gather_graph(), "loss", "params", feeds={"params": data(PARAMS)})
    response = await client.post("/v1/gradients", json=body)
    [grad] = response.json()["gradients"]
    expected = np.zeros_like(PARAMS)
    np.add.at(expected, IDS, 2 * PARAMS[IDS])
    np.testing.assert_array_equal(array(grad), expected)
