"""`python -m benchmarks`: every workload of shared/bench/WORKLOADS.md on gradserve (in
process and over HTTP, with JSON arrays, base64 and binary tensors) and on TensorFlow, PyTorch and
JAX, in one run; prints the tables (markdown), optionally into --markdown FILE.

Each workload and framework runs in a subprocess of its own (benchmarks/runner.py), whose
peak RSS is read with os.wait4 when it ends; each HTTP row gets a fresh server, whose
peak RSS is the one reported. gradserve in-process runs first and its gradients are the
reference every other framework's are checked against, here, in this process (when it
cannot run, the first framework that can is the reference)."""

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import frameworks, report, workloads
from benchmarks.runner import compare
from benchmarks.server import ROOT, Server

CHILD_TIMEOUT = 3600.0
ORDER = ("gradserve", "tensorflow", "pytorch", "jax", "gradserve-http")
ENCODINGS = ("data", "b64", "binary", "prepared")


def run_child(argv: list[str], log: Path, env: dict[str, str]) -> tuple[float, str]:
    """(the runner's peak RSS in MB, an exit note)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env}
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "benchmarks.runner", *argv],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + CHILD_TIMEOUT
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.02)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, f"exit code {process.returncode}"


def measure(workload: str, framework: str, options: argparse.Namespace, tmp: Path,
            reference: Path | None, encoding: str | None = None, round_number: int = 0) -> dict:
    """One row: runs the runner (with a fresh server for gradserve-http). Each round writes
    files of its own, so that the reference's gradients outlive a later round of it."""
    label = f"{framework} ({encoding})" if encoding else framework
    stem = f"{workload}-{label}-{round_number}".replace(" ", "_")
    result_path = tmp / f"{stem}.json"
    grads_out = tmp / f"{stem}-grads.npz"
    argv = ["--workload", workload, "--framework", framework, "--result", str(result_path),
            "--repeat", str(options.repeat), "--warmup", str(options.warmup),
            "--builds", str(options.builds), "--budget", str(options.budget)]
    if options.small:
        argv.append("--small")
    argv += ["--grads-out", str(grads_out)]
    grads_out.unlink(missing_ok=True)
    log = tmp / "children.log"
    env = frameworks.thread_env(options.threads)
    print(f"  {workload:13s} {label:24s}", end=" ", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        if encoding:
            with Server(tmp / "server.log", env) as server:
                argv += ["--url", server.url, "--encoding", encoding]
                _, exit_note = run_child(argv, log, env)
            peak = server.peak_rss_mb
        else:
            peak, exit_note = run_child(argv, log, env)
        row = json.loads(result_path.read_text()) if result_path.exists() else {
            "error": f"the runner died ({exit_note}); see its log"}
    except RuntimeError as error:
        row, peak = {"error": f"failed: {error}"}, None
    if peak is not None and row.get("baseline_rss_mb"):  # the peak before the runner reset it
        peak = max(peak, row["baseline_rss_mb"])
    row.update(workload=workload, framework=framework, label=label, peak_rss_mb=peak)
    if not row.get("error") and grads_out.exists():
        if reference:
            check(row, grads_out, reference, workloads.make(workload, small=True))
        else:
            row["reference"] = str(grads_out)
    value = report.headline(row)
    print(f"{row.get('error') or report.ms(value) + ' ms'}  [{time.monotonic() - started:.0f} s]",
          file=sys.stderr, flush=True)
    return row


def check(row: dict, grads: Path, reference: Path, workload) -> None:
    """The row's first gradients against the reference's: max |diff| / max |reference| in
    `max_rel_error`, and an error when over the workload's tolerance (the row is then not
    compared on speed)."""
    with np.load(grads) as got, np.load(reference) as want:
        error, message = compare([got[f"arr_{i}"] for i in range(len(got.files))],
                                 [want[f"arr_{i}"] for i in range(len(want.files))],
                                 workload.rtol, workload.xs)
    row["max_rel_error"] = error
    if message:
        row["error"] = message


def run(options: argparse.Namespace) -> tuple[list[dict], list[str]]:
    rows, notes = [], []
    selected = options.frameworks
    available = []
    for framework in ORDER:
        if framework not in selected and framework != "gradserve":
            continue
        package = frameworks.missing(framework)
        if package:
            notes.append(f"{framework} skipped: `{package}` is not installed")
        else:
            available.append(framework)
    with tempfile.TemporaryDirectory(prefix="gradserve-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for workload in options.workloads:
            print(f"{workload}:", file=sys.stderr, flush=True)
            reference = None
            rounds: list[list[dict]] = []
            for round_number in range(options.rounds):
                rounds.append([])
                for framework in available:
                    for encoding in (options.encodings if framework == "gradserve-http"
                                     else (None,)):
                        row = measure(workload, framework, options, tmp, reference, encoding,
                                      round_number)
                        if row.get("reference"):
                            reference = Path(row["reference"])
                            row["reference"] = True
                        if framework in selected:
                            rounds[-1].append(row)
            rows += [report.merge_rounds(same) for same in zip(*rounds)]
            if reference is None and workloads.module(workload).EVALUATES:
                notes.append(f"{workload}: no framework produced gradients; nothing was checked")
        if (tmp / "server.log").exists():
            errors = [line for line in (tmp / "server.log").read_text().splitlines()
                      if "Traceback" in line or "ERROR" in line]
            if errors:
                notes.append(f"the server logged {len(errors)} error line(s)")
    return rows, notes


def environment(rows: list[dict], threads: int) -> str:
    versions = {}
    for row in rows:
        version = (row.get("details") or {}).get("version")
        if version:
            versions[row["framework"]] = version
    parts = [f"Python {platform.python_version()}", f"{os.cpu_count()} CPUs",
             platform.machine(), f"threads: {threads or 'framework defaults'}"] + [f"{name} {version}" for name, version in versions.items()]
    import numpy
    parts.append(f"NumPy {numpy.__version__}")
    return ", ".join(parts)


def render(rows: list[dict], notes: list[str], command: str, threads: int,
           finished: str | None) -> str:
    lines = [f"Command: `{command}`  ",
             f"Run: {finished or 'finished at an unrecorded time'}, {environment(rows, threads)}",
             "", *report.results_table(rows, frameworks.ANCHORS)]
    http = report.http_table(rows)
    if http:
        lines += ["", "HTTP breakdown (medians, ms; server stages from Server-Timing):", "",
                  *http]
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    return "\n".join(lines) + "\n"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="all",
                        help=f"comma-separated, of: {','.join(workloads.NAMES)} (default all)")
    parser.add_argument("--frameworks", default="all",
                        help=f"comma-separated, of: {','.join(frameworks.FRAMEWORKS)} (default all)")
    parser.add_argument("--encodings", default=",".join(ENCODINGS),
                        help="for gradserve-http: data (JSON arrays), b64, binary (the binary "
                             "tensor extension), prepared (registered once, then binary feeds "
                             "to /v1/graphs/{id}/gradients); default all four")
    parser.add_argument("--repeat", type=int, default=20, help="timed evaluations at most")
    parser.add_argument("--warmup", type=int, default=2, help="untimed evaluations first")
    parser.add_argument("--builds", type=int, default=5,
                        help="timed backward constructions (build_large: --repeat)")
    parser.add_argument("--budget", type=float, default=30.0,
                        help="seconds per timing loop, after which it stops early")
    parser.add_argument("--threads", type=int, default=0,
                        help="limit every framework, NumPy's BLAS and the server to N threads "
                             "(default 0: each framework's own default)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every workload's frameworks N times in turn (A B A B), and "
                             "merge each row's samples: on a shared machine, load that comes "
                             "and goes then falls on every framework alike")
    parser.add_argument("--quick", action="store_true",
                        help="few repetitions (repeat 3, warm-up 1, builds 2, budget 10 s)")
    parser.add_argument("--small", action="store_true", help="reduced sizes (a smoke run)")
    parser.add_argument("--markdown", help="also write the tables to this file")
    parser.add_argument("--json", help="write the raw results (every timing) to this file")
    parser.add_argument("--from-json", metavar="FILE",
                        help="run nothing: print the tables of an earlier run's --json file")
    options = parser.parse_args(argv)
    if options.quick:
        options.repeat, options.warmup, options.builds, options.budget = 3, 1, 2, 10.0
    options.workloads = _choices(options.workloads, workloads.NAMES, "workload", parser)
    options.frameworks = _choices(options.frameworks, frameworks.FRAMEWORKS, "framework", parser)
    options.encodings = _choices(options.encodings, ENCODINGS, "encoding", parser)
    return options


def _choices(text: str, known, what: str, parser) -> list[str]:
    if text == "all":
        return list(known)
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in known]
    if unknown:
        parser.error(f"unknown {what}(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return chosen


def main(argv=None) -> None:
    options = parse_args(argv)
    command = "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv)
    if options.from_json:
        earlier = json.loads(Path(options.from_json).read_text())
        rows, notes, command = earlier["rows"], earlier["notes"], earlier["command"]
        options.threads = earlier.get("threads", options.threads)
        finished = earlier.get("finished")
    else:
        rows, notes = run(options)
        finished = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    text = render(rows, notes, command.strip(), options.threads, finished)
    print(text)
    if options.markdown:
        Path(options.markdown).write_text(text)
    if options.json:
        Path(options.json).write_text(json.dumps(
            {"command": command, "finished": finished, "threads": options.threads,
             "rows": rows, "notes": notes}, indent=1))
