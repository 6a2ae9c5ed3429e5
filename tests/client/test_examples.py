"""The examples run against the service: training lowers the loss, the Hessian-vector
product is right, and the curl and JavaScript clients get their gradients."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import gradserve as gs
import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import hessian_vector_product
import mlp


def test_mlp_training_lowers_the_loss(client, transport):
    losses = mlp.train(client, steps=40)
    assert losses[-1] < 0.85 * losses[0]
    assert all(np.isfinite(losses))
    # Step 1 builds the gradients, step 2 runs the program, step 3 registers it: from then
    # on each step sends only its feeds.
    paths = [path for _, path in transport.requests]
    assert paths[:5] == ["/v1/ops", "/v1/gradients", "/v1/run", "/v1/graphs", paths[4]]
    assert paths[4].startswith("/v1/graphs/") and paths[4:] == [paths[4]] * 38


def test_hessian_vector_product(client):
    x, v = np.array([0.5, -1.0, 2.0, 0.1]), np.array([1.0, 0.0, -1.0, 3.0])
    np.testing.assert_allclose(hessian_vector_product.hessian_vector_product(client, x, v),
                               hessian_vector_product.expected(x, v), rtol=1e-10)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl(server_url):
    result = subprocess.run(["sh", str(EXAMPLES / "gradients.sh"), server_url],
                            capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(result.stdout) == {"gradients": [{"dtype": "float32", "shape": [3],
                                                        "data": [2.0, 4.0, 6.0]}]}


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_javascript_with_fetch(server_url):
    result = subprocess.run(["node", str(EXAMPLES / "gradients.mjs"), server_url],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "dy/dw" in result.stdout and "d(sum dy/dw)/dx" in result.stdout


def test_examples_use_only_the_sdk():
    for path in EXAMPLES.glob("*.py"):
        imports = {line.split()[1].split(".")[0] for line in path.read_text().splitlines()
                   if line.startswith(("import ", "from "))}
        assert imports <= {"sys", "numpy", "gradserve"}, (path.name, imports)
    assert gs.__version__
