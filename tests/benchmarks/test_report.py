"""The report's pooling of rounds (--rounds): timings pooled, once-per-process figures
taken as medians, a failed round failing the row; the runner's Δ RSS."""

import numpy as np
import pytest

from benchmarks import report, runner
from benchmarks.report import headline, merge_rounds


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


def test_delta_rss_is_the_computations_own_after_larger_temporaries():
    """The runner's Δ RSS counts from the resident size once the inputs are made, not from
    their peak: memory held by 128 MB of temporaries freed before does not hide a 32 MB
    computation, and is not counted in it either."""
    if runner.status_mb("VmRSS") is None or not runner.reset_peak_rss():
        pytest.skip("needs Linux's /proc/self/status and clear_refs")
    temporary = np.ones(16 << 20)        # 128 MB, then freed
    temporary.fill(2.0)
    del temporary
    resident = runner.status_mb("VmRSS")
    assert runner.reset_peak_rss()
    kept = np.ones(4 << 20)              # 32 MB
    delta = runner.status_mb("VmHWM") - resident
    assert 30 <= delta <= 60, delta
    del kept
    assert report._delta_rss({"delta_rss_mb": 32.4, "peak_rss_mb": 500,
                              "baseline_rss_mb": 400}) == "32"
    assert report._delta_rss({"peak_rss_mb": 500, "baseline_rss_mb": 400}) == "100"
