"""The conformance report: every registered op against TensorFlow, values and gradients
(first and second order), on the random inputs of the op case tables in several shapes,
in float64, float32 and (where the op takes it) float16.

    python -m scripts.conformance            # writes docs/conformance.md

Each case runs in TensorFlow graph mode on the same GraphDef (tests/tf_bridge.py) and
here; a row passes when every compared value agrees within the dtype's tolerance."""

import argparse
import collections
import sys
import time
from dataclasses import replace

import numpy as np

import core
from core import build
from core import dtypes as dt
from tests.core.cases import all_cases
from tests.core.opcheck import build_case, weighted_loss
from tests.tf_bridge import TFGraph, tf

TOLERANCE = {np.dtype("float64"): 1e-5, np.dtype("float32"): 2e-3, np.dtype("float16"): 3e-2}
COMMAND = "python -m scripts.conformance"


def _as_dtype(case, dtype):
    """The case with its floating inputs in `dtype` (None when the op does not take it)."""
    if dtype == np.float64:
        return case
    opdef = core.registry.lookup(case.op)
    if np.dtype(dtype) not in opdef.dtypes:
        return None
    if not any(v.dtype == np.float64 for v in case.inputs):
        return None
    inputs = [v.astype(dtype) if v.dtype == np.float64 else v for v in case.inputs]
    return replace(case, inputs=inputs)


def _close(ours, theirs, dtype) -> float | None:
    """The worst relative error over the compared arrays, None when within tolerance."""
    if ours is None or theirs is None:
        if (ours is not None and np.any(ours)) or (theirs is not None and np.any(theirs)):
            return float("inf")
        return None
    kind = np.complex128 if np.iscomplexobj(ours) or np.iscomplexobj(theirs) else np.float64
    ours, theirs = np.asarray(ours, kind), np.asarray(theirs, kind)
    if ours.shape != theirs.shape:
        return float("inf")
    tol = TOLERANCE[np.dtype(dtype)]
    scale = np.maximum(np.abs(theirs), 1.0)
    both_nan = np.isnan(ours) & np.isnan(theirs)
    with np.errstate(invalid="ignore"):
        error = np.where(both_nan | (ours == theirs), 0.0, np.abs(ours - theirs) / scale)
    worst = float(np.nanmax(error)) if error.size else 0.0
    return None if worst <= tol else worst


def compare(case, dtype) -> tuple[str, str]:
    """('pass' | 'fail' | 'error' | 'tf-unsupported', what went wrong)."""
    try:
        built = build_case(case)
        trainable = case.grad and not case.no_gradient and case.differentiated
        loss = weighted_loss(built) if trainable else None
        reference = TFGraph(built.graph)
        feeds = {x.name: v for x, v in built.feeds.items()}
        try:
            theirs = reference.run([reference.tensor(t.name) for t in built.outputs], feeds)
        except tf.errors.OpError as error:
            return "tf-unsupported", f"TensorFlow refuses it: {error.message.splitlines()[0][:100]}"
        ours = core.evaluate(built.graph, built.outputs, built.feeds)
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if i in getattr(case, "tf_unspecified", ()):
                continue
            if a.dtype in dt.FLOATS | dt.COMPLEX and (err := _close(a, b, dtype)) is not None:
                return "fail", f"output {i}: relative error {err:.2g}"
            if a.dtype not in dt.FLOATS | dt.COMPLEX and not np.array_equal(a, b):
                return "fail", f"output {i} differs"
        if not trainable:
            return "pass", "values"
        xs = [x.name for x in built.xs]
        our_grads = core.gradients(built.graph, [loss], built.xs)
        tf_grads = reference.gradients([loss.name], xs)
        for name, a_t, b_t in zip(xs, our_grads, tf_grads):
            a = None if a_t is None else core.evaluate(built.graph, [a_t], built.feeds)[0]
            b = None if b_t is None else reference.run(b_t, feeds)
            if (err := _close(a, b, dtype)) is not None:
                return "fail", f"d/d{name}: relative error {err:.2g}"
        if not case.second_order or None in our_grads or None in tf_grads:
            return "pass", "values, 1st order"
        rng = np.random.default_rng(1)
        vs = [rng.uniform(0.5, 1.5, built.feeds[x].shape).astype(x.dtype) for x in built.xs]
        inner = None
        for g, v in zip(our_grads, vs):
            term = build.reduce_sum(g * built.graph.constant(v), list(range(v.ndim)))
            inner = term if inner is None else inner + term
        ours2 = core.gradients(built.graph, [inner], built.xs)
        with reference.tf_graph.as_default():
            tf_inner = tf.add_n([tf.reduce_sum(g * v) for g, v in zip(tf_grads, vs)])
            theirs2 = tf.compat.v1.gradients(tf_inner, [reference.tensor(x) for x in xs])
        for name, a_t, b_t in zip(xs, ours2, theirs2):
            a = None if a_t is None else core.evaluate(built.graph, [a_t], built.feeds)[0]
            b = None if b_t is None else reference.run(b_t, feeds)
            if (err := _close(a, b, dtype)) is not None:
                return "fail", f"2nd order d/d{name}: relative error {err:.2g}"
        return "pass", "values, 1st and 2nd order"
    except Exception as error:  # a row says why it did not pass
        return "error", f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"


def report() -> tuple[str, int]:
    rows = collections.defaultdict(list)
    for case in all_cases():
        if not case.tf:
            rows[case.op].append(("skip", "float64", str(case), "not comparable with TensorFlow "
                                  "(see the case table)"))
            continue
        for dtype in (np.float64, np.float32, np.float16):
            variant = _as_dtype(case, dtype)
            if variant is None:
                continue
            status, detail = compare(variant, dtype)
            if status == "error" and dtype != np.float64 and "GraphError" in detail:
                continue  # the case's attributes pin its dtype: no such variant
            rows[case.op].append((status, np.dtype(dtype).name, str(case), detail))
    failures = 0
    lines = ["# Conformance with TensorFlow", "",
             f"Generated by `{COMMAND}` with TensorFlow {tf.__version__} on "
             f"{time.strftime('%Y-%m-%d')}: every op of the registry on the inputs of its cases "
             f"in `tests/core/cases/` (several shapes; float64, float32 and float16 where the "
             f"op takes it), forward values, first-order and second-order gradients of a "
             f"weighted sum of the outputs, compared with tf.gradients on the same GraphDef.",
             f"Relative tolerance: float64 {TOLERANCE[np.dtype('float64')]}, float32 "
             f"{TOLERANCE[np.dtype('float32')]}, float16 {TOLERANCE[np.dtype('float16')]}.", "",
             "| op | gradient | runs | result | notes |", "|---|---|---|---|---|"]
    for opdef in core.registry.all_ops():
        runs = rows.get(opdef.name, [])
        bad = [r for r in runs if r[0] in ("fail", "error")]
        failures += len(bad)
        if not runs:
            result, notes = "no case", "kernel-only op (graph plumbing)"
        elif bad:
            result = "FAIL"
            notes = "; ".join(f"{r[2]} {r[1]}: {r[3]}" for r in bad[:3])
        else:
            compared = [r for r in runs if r[0] == "pass"]
            result = "pass" if compared else "n/a"
            depth = max((r[3] for r in compared), key=len, default="")
            dtypes = sorted({r[1] for r in compared})
            refused = sorted({r[1] for r in runs if r[0] == "tf-unsupported"} - set(dtypes))
            notes = (f"{depth} ({', '.join(dtypes)})" if compared else runs[0][3])
            if refused:
                notes += f"; TensorFlow has no kernel for {', '.join(refused)}"
        lines.append(f"| {opdef.name} | {opdef.gradient_status} | {len(runs)} | {result} | {notes} |")
    lines += ["", f"{len(core.registry.all_ops())} ops, "
              f"{sum(len(r) for r in rows.values())} runs, {failures} failing."]
    return "\n".join(lines) + "\n", failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="docs/conformance.md")
    args = parser.parse_args(argv)
    text, failures = report()
    with open(args.output, "w") as f:
        f.write(text)
    print(text.splitlines()[-1])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
