"""`python -m scripts.coldstart [--workers 1] [--runs 3]`: the seconds from starting
`python -m service` to /v1/health/ready answering 200 (and every worker process up), once
with a cold Numba cache (a fresh NUMBA_CACHE_DIR: each worker compiles the kernels in its
warm-up) and then `--runs` times warm (the same directory: the kernels load from it).
Prints JSON. Stops by itself."""

import argparse
import json
import statistics
import tempfile
import time

from scripts.serve import Server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gradserve-numba-") as cache:
        cold = seconds_to_ready(args.workers, cache)
        warm = [seconds_to_ready(args.workers, cache) for _ in range(args.runs)]
    print(json.dumps({"workers": args.workers, "cold_cache_s": round(cold, 2),
                      "warm_cache_s": [round(s, 2) for s in warm],
                      "warm_cache_median_s": round(statistics.median(warm), 2)}, indent=2))


def seconds_to_ready(workers: int, numba_cache_dir: str) -> float:
    start = time.perf_counter()
    with Server(workers=workers, env={"NUMBA_CACHE_DIR": numba_cache_dir}):
        return time.perf_counter() - start


if __name__ == "__main__":
    main()
