"""The report's pooling of rounds (--rounds): timings pooled, once-per-process figures
taken as medians, a failed round failing the row; the runner's Δ RSS (what it counts, and
what not); a reference that fails in a later round."""

import json
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest

from benchmarks import cli, report, runner
from benchmarks.report import headline, merge_rounds

ROOT = Path(__file__).resolve().parents[2]


def row(evals, first, error=None):
    result = {"workload": "mlp", "framework": "jax", "label": "jax", "eval_ms": evals,
              "first_ms": first, "import_ms": 2 * first, "peak_rss_mb": 100 + first}
    return {**result, "error": error} if error else result


def test_rounds_pool_their_samples_and_take_medians_of_the_rest():
    merged = merge_rounds((row([1, 2], 10), row([3], 30), row([50, 60], 20)))
    assert merged["eval_ms"] == [1, 2, 3, 50, 60] and headline(merged) == 3
    assert (merged["first_ms"], merged["import_ms"], merged["peak_rss_mb"]) == (20, 40, 120)
    assert merged["rounds"] == 3


def test_a_failed_round_fails_the_row():
    merged = merge_rounds((row([1], 10), row([], 10, error="disagrees")))
    assert merged["error"] == "disagrees"


DELTA_RSS_PROBE = """
import numpy as np
from benchmarks import runner
if runner.status_mb("VmRSS") is None or not runner.reset_peak_rss():
    print("unsupported")
else:
    temporary = np.ones(16 << 20)        # 128 MB, then freed
    temporary.fill(2.0)
    del temporary
    resident = runner.status_mb("VmRSS")
    assert runner.reset_peak_rss()
    kept = np.ones(4 << 20)              # 32 MB
    print(runner.status_mb("VmHWM") - resident)
"""


def _printed(probe: str, lines: int) -> list[str]:
    """The last `lines` lines a probe prints, run in a fresh process."""
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=120)
    return done.stdout.strip().splitlines()[-lines:]


def test_delta_rss_is_the_computations_own_after_larger_temporaries():
    """The runner's Δ RSS counts from the resident size once the inputs are made, not from
    their peak: memory held by 128 MB of temporaries freed before does not hide a 32 MB
    computation, and is not counted in it either. In a fresh process: in this one, memory
    that earlier tests freed may be kept for reuse (core.executor keeps freed blocks), and
    the 32 MB would need no new pages."""
    [printed] = _printed(DELTA_RSS_PROBE, 1)
    if printed == "unsupported":
        pytest.skip("needs Linux's /proc/self/status and clear_refs")
    delta = float(printed)
    assert 30 <= delta <= 60, delta
    assert report._delta_rss({"delta_rss_mb": 32.4, "peak_rss_mb": 500,
                              "baseline_rss_mb": 400}) == "32"
    assert report._delta_rss({"peak_rss_mb": 500, "baseline_rss_mb": 400}) == "100"


BUILDS_PROBE = """
import argparse
import numpy as np
from benchmarks import frameworks, runner

class Adapter:  # its gradient computation takes 16 MB; each timed build leaves 64 MB
    def __init__(self, workload):
        self.kept = []
    def first(self):
        self.kept.append(np.ones(2 << 20))
        return 0.001, None
    def step(self):
        return None
    def build(self):
        self.kept.append(np.ones(8 << 20))
        return 0.001
    def details(self):
        return {}

frameworks.adapter = lambda name, workload, **options: Adapter(workload)
for workload in ("mlp", "build_large"):
    args = argparse.Namespace(workload=workload, framework="pytorch", url=None,
                              encoding="b64", small=True, repeat=2, warmup=1, builds=2,
                              budget=10.0, grads_out=None)
    print(runner.run(args).get("delta_rss_mb", "unsupported"))
"""


def test_delta_rss_leaves_out_the_timed_builds_of_a_workload_that_evaluates():
    """Δ RSS is the first gradient's and the evaluations' memory: the timed backward
    constructions after them (whose graphs wait for the collector) are not counted, as
    PyTorch's rows have none. build_large, which only builds, counts its builds."""
    evaluating, building = _printed(BUILDS_PROBE, 2)
    if evaluating == "unsupported":
        pytest.skip("needs Linux's /proc/self/status and clear_refs")
    assert 14 <= float(evaluating) <= 40, evaluating
    assert float(building) >= 120, building


def test_timed_calls_do_not_hold_the_last_result_through_the_next():
    """Each timed evaluation's result is dropped before the next call, so Δ RSS is one
    evaluation's memory, not two (payload's 64 MB gradient counted twice before)."""
    class Result:
        pass

    alive = []

    def step():
        alive.append(sum(ref() is not None for ref in refs))
        result = Result()
        refs.append(weakref.ref(result))
        return result

    refs: list = []
    runner.timed(step, 4, budget=10.0)
    assert alive == [0, 0, 0, 0]


def test_a_reference_that_fails_in_a_later_round_keeps_its_first_gradients(monkeypatch):
    """With --rounds, the reference row runs again each round: when it fails there, the
    rows after it are still checked against its first round's gradients (they used to
    find that file deleted, and the whole run crashed)."""
    calls = []

    def fake_child(argv, log, env):
        flag = {name: argv[i + 1] for i, name in enumerate(argv) if name.startswith("--")
                and i + 1 < len(argv) and not argv[i + 1].startswith("--")}
        calls.append(flag["--framework"])
        if flag["--framework"] == "gradserve" and len(calls) > 1:
            row = {"error": "failed: the second round broke"}
        else:
            np.savez(flag["--grads-out"], np.ones(3))
            row = {"eval_ms": [1.0], "first_ms": 5.0}
        Path(flag["--result"]).write_text(json.dumps(row))
        return 100.0, "exit code 0"

    monkeypatch.setattr(cli, "run_child", fake_child)
    monkeypatch.setattr(cli.frameworks, "missing", lambda framework: None)
    options = cli.parse_args(["--workloads", "mlp", "--frameworks", "gradserve,pytorch",
                              "--rounds", "2", "--quick", "--small"])
    rows, _ = cli.run(options)
    assert calls == ["gradserve", "pytorch", "gradserve", "pytorch"]
    by_framework = {row["framework"]: row for row in rows}
    assert by_framework["gradserve"]["error"].startswith("failed")
    assert "error" not in by_framework["pytorch"]
    assert by_framework["pytorch"]["max_rel_error"] == 0.0
