"""program_key: the key a request's program is found by before it is decoded. The same
program part gives the same key whatever the feeds; any other, another key."""

import json

import numpy as np
import pytest

from schemas import GradientRequest, GraphRegistration, RunRequest, binary_data

REQUEST = {
    "graph": {"nodes": [
        {"name": "x", "op": "Placeholder", "attrs": {"dtype": "float32", "shape": [None, 3]}},
        {"name": "w", "op": "Const", "attrs": {"value": {"dtype": "float32", "shape": [3],
                                                         "data": [1, 2, 3]}}},
        {"name": "y", "op": "Mul", "inputs": ["x", "w"]}]},
    "ys": ["y"], "xs": ["x", "w"],
    "feeds": {"x": {"dtype": "float32", "shape": [1, 3], "data": [1, 2, 3]}},
}


def key(request: dict, model=GradientRequest) -> bytes | None:
    return model.model_validate_json(json.dumps(request)).program_key()


def with_const(data, **value) -> dict:
    request = json.loads(json.dumps(REQUEST))
    request["graph"]["nodes"][1]["attrs"]["value"] = {"dtype": "float32", "shape": [3],
                                                      "data": data, **value}
    return request


def test_the_feeds_and_the_response_options_do_not_change_the_key():
    other = {**REQUEST, "feeds": {"x": {"dtype": "float32", "shape": [2, 3], "b64": "A" * 32}},
             "encoding": "b64", "return_graph": True, "evaluate": False}
    assert key(REQUEST) == key(other) is not None
    registration = {k: v for k, v in REQUEST.items() if k != "feeds"}
    assert key(registration, GraphRegistration) == key(REQUEST)


@pytest.mark.parametrize("change", [
    {"xs": ["x"]}, {"ys": "y"}, {"name": "grads"}, {"indexed_slices": True},
    {"grad_ys": [{"dtype": "float32", "shape": [1, 3], "data": [1, 1, 1]}]},
    {"stop_gradients": ["w"]}, {"fetches": ["y"]}, {"aggregation_method": 0}])
def test_any_part_of_the_program_changes_the_key(change):
    assert key({**REQUEST, **change}) != key(REQUEST)


def test_values_json_writes_alike_have_different_keys():
    spellings = ["[1, 2, 3]", "[1.0, 2, 3]", "[true, 2, 3]", "[0.0, 2, 3]", "[-0.0, 2, 3]",
                 '["NaN", 2, 3]', "[NaN, 2, 3]", "[Infinity, 2, 3]", "[-Infinity, 2, 3]"]
    text = json.dumps(REQUEST)  # the parser takes NaN and Infinity, as JSON extensions
    keys = {GradientRequest.model_validate_json(
        text.replace('"data": [1, 2, 3]', f'"data": {data}', 1)).program_key()
        for data in spellings}
    assert len(keys) == len(spellings)


def binary_key(request: dict, received: bytes | None) -> bytes | None:
    with binary_data(None if received is None else memoryview(received)):
        return key(request)


def test_a_binary_value_is_keyed_by_its_bytes_not_their_place():
    weights = np.array([1, 2, 3], np.float32).tobytes()
    at_0 = with_const(None, binary_data_offset=0, binary_data_size=12)
    at_8 = with_const(None, binary_data_offset=8, binary_data_size=12)
    assert binary_key(at_0, weights) == binary_key(at_8, bytes(8) + weights)
    assert binary_key(at_0, weights) != binary_key(at_0, bytes(12))
    grad_ys = [{"dtype": "float32", "shape": [1, 3], "binary_data_offset": 0,
                "binary_data_size": 12}]
    with_grad_ys = {**REQUEST, "grad_ys": grad_ys}
    assert binary_key(with_grad_ys, weights) != binary_key(with_grad_ys, bytes(12))


def test_binary_bytes_missing_from_the_message_give_no_key():
    at_0 = with_const(None, binary_data_offset=0, binary_data_size=12)
    assert binary_key(at_0, None) is None and binary_key(at_0, bytes(11)) is None


def test_a_run_has_its_own_key():
    run = {"graph": REQUEST["graph"], "fetches": ["y"], "feeds": REQUEST["feeds"]}
    assert key(run, RunRequest) == key({**run, "feeds": {}}, RunRequest) != key(REQUEST)
