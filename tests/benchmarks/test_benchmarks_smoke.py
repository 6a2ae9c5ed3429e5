"""The benchmarks still run and still compute the right gradients, at reduced sizes.

No timing is asserted: each workload's gradserve path runs once and its gradients are
checked against central differences (in float64) and against every anchor framework
that is installed; the HTTP path and the command line run once end to end."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import core
from benchmarks import frameworks, workloads
from benchmarks.frameworks.gradserve import forward, missing_ops
from benchmarks.runner import compare

ROOT = Path(__file__).resolve().parents[2]


def small(name: str) -> workloads.Workload:
    missing = missing_ops(workloads.module(name).OPS)
    if missing:
        pytest.skip(f"ops missing: {', '.join(missing)}")
    return workloads.make(name, small=True)


def in_float64(workload: workloads.Workload) -> workloads.Workload:
    inputs = {name: value.astype(np.float64) if value.dtype.kind == "f" else value
              for name, value in workload.inputs.items()}
    return dataclasses.replace(workload, inputs=inputs)


def loss_value(workload: workloads.Workload, inputs: dict) -> float:
    graph, loss, placeholders = forward(workload)
    feeds = {placeholders[name]: value for name, value in inputs.items()}
    return float(core.evaluate(graph, [loss], feeds)[0])


def gradserve_gradients(workload: workloads.Workload) -> list[np.ndarray]:
    adapter = frameworks.adapter("gradserve", workload)
    _, gradients = adapter.first()
    adapter.step()
    assert adapter.build() > 0
    return gradients


@pytest.mark.parametrize("name", workloads.NAMES)
def test_gradserve_gradients_match_central_differences(name):
    workload = small(name)
    gradients = gradserve_gradients(workload)
    for x, gradient in zip(workload.xs, gradients):
        assert gradient.shape == workload.inputs[x].shape and gradient.dtype == workload.inputs[x].dtype

    exact = in_float64(workload)
    exact_gradients = gradserve_gradients(exact)
    _, message = compare(gradients, exact_gradients, workload.rtol, workload.xs)
    assert message is None, message

    # d/dt loss(inputs + t d) at t = 0 is the sum over xs of <gradient, d>
    rng = np.random.default_rng(1)
    directions = {x: rng.standard_normal(exact.inputs[x].shape) for x in exact.xs}
    eps = 1e-6

    def shifted(t):
        return {name: value + t * directions[name] if name in directions else value
                for name, value in exact.inputs.items()}

    numeric = (loss_value(exact, shifted(eps)) - loss_value(exact, shifted(-eps))) / (2 * eps)
    analytic = sum(float(np.sum(g * directions[x])) for x, g in zip(exact.xs, exact_gradients))
    assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("framework", frameworks.ANCHORS)
@pytest.mark.parametrize("name", workloads.NAMES)
def test_anchors_agree_with_gradserve(name, framework):
    package = frameworks.missing(framework)
    if package:
        pytest.skip(f"{package} is not installed")
    workload = small(name)
    want = gradserve_gradients(workload)
    adapter = frameworks.adapter(framework, workload)
    _, got = adapter.first()
    adapter.step()
    _, message = compare([np.asarray(g) for g in got], want, workload.rtol, workload.xs)
    assert message is None, message


@pytest.mark.parametrize("encoding", ["data", "b64", "binary", "prepared"])
def test_http_path_against_a_started_server(tmp_path, encoding):
    from benchmarks.server import Server
    workload = small("mlp")
    want = gradserve_gradients(workload)
    with Server(tmp_path / "server.log") as server:
        adapter = frameworks.adapter("gradserve-http", workload, url=server.url, encoding=encoding)
        _, got = adapter.first()
        adapter.step()
        details = adapter.details()
    assert server.peak_rss_mb > 0
    assert set(details["server_ms"]) == {"parse", "build", "eval", "encode"}
    # a prepared graph's requests post only the feeds, to the id registered in first()
    assert adapter.path.startswith("/v1/graphs/") == (encoding == "prepared")
    _, message = compare(got, want, workload.rtol, workload.xs)
    assert message is None, message


def test_command_line_end_to_end(tmp_path):
    markdown, raw = tmp_path / "bench.md", tmp_path / "bench.json"
    subprocess.run([sys.executable, "-m", "benchmarks", "--workloads", "elementwise,build_large",
                    "--frameworks", "gradserve", "--small", "--quick", "--threads", "1",
                    "--markdown", str(markdown), "--json", str(raw)],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    rows = json.loads(raw.read_text())["rows"]
    assert [(row["workload"], row["framework"]) for row in rows] == [
        ("elementwise", "gradserve"), ("build_large", "gradserve")]
    assert all(not row.get("error") and row["peak_rss_mb"] > 0 for row in rows)
    assert rows[0]["eval_ms"] and rows[1]["build_ms"]
    assert "| elementwise | gradserve |" in markdown.read_text()
    rendered = subprocess.run([sys.executable, "-m", "benchmarks", "--from-json", str(raw)],
                              cwd=ROOT, check=True, capture_output=True, text=True).stdout
    assert rendered == markdown.read_text() + "\n"


def test_a_framework_not_installed_is_skipped_with_a_note(monkeypatch):
    from benchmarks import cli
    monkeypatch.setattr(frameworks, "find_spec", lambda name: None if name == "torch" else "found")
    rows, notes = cli.run(cli.parse_args(["--workloads", "elementwise", "--frameworks", "pytorch",
                                          "--small", "--quick"]))
    assert rows == []
    assert notes == ["pytorch skipped: `torch` is not installed"]
