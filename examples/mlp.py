"""Trains a small multilayer perceptron through a gradserve service.

The model is built once, as in TensorFlow 1.x; each training step is one request that
returns the loss and the gradients, and the parameters are updated here with NumPy.

    python -m service &                  # a service on 127.0.0.1:8000
    python examples/mlp.py [BASE_URL]
"""

import sys

import gradserve as gs
import numpy as np


def spirals(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals: points (n, 2) and their class (0 or 1)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    t = rng.uniform(0.25, 1.0, n) * 3 * np.pi
    angle = t + np.pi * labels
    points = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1) / (3 * np.pi)
    return (points + rng.normal(0, 0.02, points.shape)).astype(np.float32), labels.astype(np.int32)


def train(client: gs.Client, steps: int = 100, learning_rate: float = 0.5,
          hidden: int = 32) -> list[float]:
    """Full-batch gradient descent; returns the loss at each step."""
    points, labels = spirals()
    graph = gs.Graph()
    with graph.as_default():
        x = gs.placeholder(gs.float32, [None, 2], name="x")
        y = gs.placeholder(gs.int32, [None], name="labels")
        w1 = gs.placeholder(gs.float32, [2, hidden], name="w1")
        b1 = gs.placeholder(gs.float32, [hidden], name="b1")
        w2 = gs.placeholder(gs.float32, [hidden, 2], name="w2")
        b2 = gs.placeholder(gs.float32, [2], name="b2")
        with gs.name_scope("mlp"):
            logits = gs.nn.relu(x @ w1 + b1) @ w2 + b2
            loss = gs.reduce_mean(gs.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=logits))
        params = [w1, b1, w2, b2]
        grads = client.gradients(loss, params)

    rng = np.random.default_rng(1)
    values = [rng.normal(0, 1, (2, hidden)), np.zeros(hidden),
              rng.normal(0, 1 / np.sqrt(hidden), (hidden, 2)), np.zeros(2)]
    losses = []
    for _ in range(steps):
        loss_value, grad_values = client.run(
            [loss, grads], {x: points, y: labels, **dict(zip(params, values))})
        values = [v - learning_rate * g for v, g in zip(values, grad_values)]
        losses.append(float(loss_value))
    return losses


if __name__ == "__main__":
    with gs.Client(sys.argv[1] if len(sys.argv) > 1 else None) as client:
        losses = train(client)
    print(f"loss: {losses[0]:.4f} at the first step, {losses[-1]:.4f} after {len(losses)}")
