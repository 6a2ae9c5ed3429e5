"""One workload on one framework, in a process of its own (so that its peak RSS is its
own): `python -m benchmarks.runner --workload W --framework F --result FILE [...]`.

Order: the inputs made and the framework imported (the peak RSS so far is the row's
baseline; on Linux the peak then restarts from the resident size, and the row's Δ RSS is
how far above that it went), the cold path to the first gradients timed, those gradients written to
--grads-out (the parent checks them against the reference, so that the check's memory is
not this process's), then warm-up, timed evaluations and timed backward constructions.
The Δ RSS is taken before the timed constructions, which a workload that evaluates would
otherwise pay for in memory too (each leaves a graph for the collector), and which
PyTorch's rows do not have.
The result is JSON in --result; the parent reads the process's peak RSS when it ends.
"""

import argparse
import gc
import json
import resource
import sys
import time
import traceback

import numpy as np

from benchmarks import frameworks, workloads


def rss_mb() -> float:
    """This process's peak RSS so far, in MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def status_mb(field: str) -> float | None:
    """A memory figure of /proc/self/status (VmRSS: resident now, VmHWM: its peak), in
    MB; None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Restarts the peak RSS (VmHWM, and so ru_maxrss) from the resident size now: Linux's
    clear_refs 5. Without it, a workload whose inputs were made through temporaries larger
    than its gradient computation's would show that computation taking no memory."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def compare(got: list, want: list, rtol: float, names) -> tuple[float, str | None]:
    """(the largest error, relative to the largest magnitude of each reference gradient;
    a message when it is over rtol or a shape differs)."""
    worst = 0.0
    if len(got) != len(want):
        return np.inf, f"{len(got)} gradients, the reference has {len(want)}"
    for name, g, w in zip(names, got, want):
        g, w = np.asarray(g), np.asarray(w)
        if g.shape != w.shape:
            return np.inf, f"gradient for {name}: shape {g.shape}, reference {w.shape}"
        scale = float(np.max(np.abs(w))) if w.size else 0.0
        error = float(np.max(np.abs(g.astype(np.float64) - w))) / (scale or 1.0) if w.size else 0.0
        if not np.isfinite(error) or error > rtol:
            return error, (f"gradient for {name} differs from the reference: max |diff| / "
                           f"max |ref| = {error:.3g} > {rtol:g}")
        worst = max(worst, error)
    return worst, None


def timed(fn, repeat: int, budget: float, returns_seconds=False) -> list[float]:
    """Up to `repeat` timings of fn (seconds), at least one, fewer once `budget` seconds
    are spent. With returns_seconds, fn measures itself and returns its time."""
    times: list[float] = []
    deadline = time.perf_counter() + budget
    while len(times) < repeat and (not times or time.perf_counter() < deadline):
        start = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - start
        if returns_seconds:
            if value is None:
                return []
            elapsed = value
        times.append(elapsed)
        # dropped before the next call: held through it, one call's results would count
        # in the next one's memory (Δ RSS)
        value = None
    return times


def run(args) -> dict:
    result: dict = {"workload": args.workload, "framework": args.framework}
    if args.framework != "gradserve-http":  # the HTTP client shares the CPUs with its server
        frameworks.pin_to_thread_budget()
    module = workloads.module(args.workload)
    start = time.perf_counter()
    if args.framework.startswith("gradserve"):
        from benchmarks.frameworks.gradserve import missing_ops  # imports gradserve's core
        missing = missing_ops(module.OPS)
        if missing:
            result["error"] = f"ops missing: {', '.join(missing)}"
            return result
    importing = time.perf_counter() - start
    options = {"url": args.url, "encoding": args.encoding} if args.url else {}
    workload = workloads.make(args.workload, small=args.small)
    start = time.perf_counter()
    adapter = frameworks.adapter(args.framework, workload, **options)  # imports the framework
    result["import_ms"] = (importing + time.perf_counter() - start) * 1e3
    result["baseline_rss_mb"] = rss_mb()
    gc.collect()
    resident = status_mb("VmRSS")
    measured = resident is not None and reset_peak_rss()

    evaluates = workload.evaluates or args.framework == "gradserve-http"
    if evaluates:
        first, gradients = adapter.first()
        result["first_ms"] = first * 1e3
        if gradients is not None and args.grads_out:
            np.savez(args.grads_out, *(np.asarray(g) for g in gradients))
        del gradients
        if args.repeat > 0:
            warmup = args.warmup if first < args.budget / 4 else 0
            for _ in range(warmup):
                adapter.step()
            gc.collect()
            times = timed(adapter.step, args.repeat, args.budget)
            result["eval_ms"] = [t * 1e3 for t in times]
        if measured:  # the computation's own: not the timed builds' graphs after it
            result["delta_rss_mb"] = status_mb("VmHWM") - resident
    if args.repeat > 0:
        count = args.repeat if not workload.evaluates else min(args.repeat, args.builds)
        builds = timed(adapter.build, count, args.budget, returns_seconds=True)
        if builds:
            result["build_ms"] = [t * 1e3 for t in builds]
    result["details"] = adapter.details()
    if measured and not evaluates:  # build_large: the builds are the computation
        result["delta_rss_mb"] = status_mb("VmHWM") - resident
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.runner", description=__doc__)
    parser.add_argument("--workload", required=True, choices=workloads.NAMES)
    parser.add_argument("--framework", required=True, choices=frameworks.FRAMEWORKS)
    parser.add_argument("--result", required=True, help="where the JSON result goes")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--builds", type=int, default=5,
                        help="backward constructions timed for workloads that evaluate")
    parser.add_argument("--budget", type=float, default=30.0,
                        help="seconds after which a timing loop stops (after one run)")
    parser.add_argument("--small", action="store_true", help="reduced sizes (smoke runs)")
    parser.add_argument("--grads-out", help="npz to write this framework's gradients to")
    parser.add_argument("--url", help="the server (gradserve-http)")
    parser.add_argument("--encoding", choices=("data", "b64", "binary", "prepared"),
                        default="b64")
    args = parser.parse_args(argv)
    try:
        result = run(args)
    except Exception as error:  # noqa: BLE001  (reported in the table; traceback in the log)
        traceback.print_exc()
        result = {"workload": args.workload, "framework": args.framework,
                  "error": f"failed: {type(error).__name__}: {str(error)[:300]}"}
    with open(args.result, "w") as out:
        json.dump(result, out)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
