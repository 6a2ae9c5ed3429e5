"""The report's pooling of rounds (--rounds): timings pooled, once-per-process figures
taken as medians, a failed round failing the row."""

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
