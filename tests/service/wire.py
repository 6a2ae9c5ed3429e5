"""Builders for wire-format graphs and tensor values, so tests read like the graphs."""

from typing import Any

import numpy as np


def node(name: str, op: str, *inputs: str, **attrs: Any) -> dict[str, Any]:
    return {"name": name, "op": op, "inputs": list(inputs), "attrs": attrs}


def placeholder(name: str, shape: list[int | None] | None, dtype: str = "float32") -> dict:
    return node(name, "Placeholder", dtype=dtype, shape=shape)


def const(name: str, value, dtype: str = "float32") -> dict:
    return node(name, "Const", value=data(np.asarray(value, dtype)))


def data(array: np.ndarray) -> dict[str, Any]:
    array = np.asarray(array)
    return {"dtype": array.dtype.name, "shape": list(array.shape),
            "data": array.reshape(-1).tolist()}


def request(nodes: list[dict], ys, xs, **fields: Any) -> dict[str, Any]:
    return {"graph": {"nodes": nodes}, "ys": ys, "xs": xs, **fields}


def array(value: dict[str, Any]) -> np.ndarray:
    """The array of a response tensor value in data encoding."""
    return np.array(value["data"], dtype=value["dtype"]).reshape(value["shape"])
