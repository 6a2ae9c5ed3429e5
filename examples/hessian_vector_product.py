"""A Hessian-vector product, H(x) v, as the gradient of a gradient.

`gradients(g, x, grad_ys=v)` is v^T dg/dx = H v (H is symmetric): no Hessian is formed.
The first gradient is differentiated again, so the service builds it first (one request),
then one more request computes H v.

    python examples/hessian_vector_product.py [BASE_URL]
"""

import sys

import gradserve as gs
import numpy as np


def hessian_vector_product(client: gs.Client, x_value: np.ndarray,
                           v_value: np.ndarray) -> np.ndarray:
    """H v for f(x) = sum(sin(x) * x^2) + (sum x)^2."""
    graph = gs.Graph()
    with graph.as_default():
        x = gs.placeholder(gs.float64, [None], name="x")
        v = gs.placeholder(gs.float64, [None], name="v")
        f = gs.reduce_sum(gs.sin(x) * x ** 2) + gs.reduce_sum(x) ** 2
        [g] = client.gradients(f, x)
        [hv] = client.gradients(g, x, grad_ys=v)
    return client.run(hv, {x: x_value, v: v_value})


def expected(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The same product from the Hessian written out."""
    diagonal = -np.sin(x) * x ** 2 + 4 * x * np.cos(x) + 2 * np.sin(x)
    return diagonal * v + 2 * v.sum()


if __name__ == "__main__":
    x_value, v_value = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0, -1.0])
    with gs.Client(sys.argv[1] if len(sys.argv) > 1 else None) as client:
        product = hessian_vector_product(client, x_value, v_value)
    print("H v =", product, "expected", expected(x_value, v_value))
