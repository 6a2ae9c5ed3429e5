"""The tables: one row per workload and framework, and the HTTP rows' breakdown."""

import statistics

COLUMNS = ("workload", "framework", "build ms", "eval median ms (n)", "first gradient ms",
           "import ms", "peak RSS MB", "Δ RSS MB", "× fastest anchor", "check / note")
HTTP_COLUMNS = ("workload", "encoding", "request median ms", "server parse", "build", "eval",
                "encode", "client decode", "transport", "request MB", "response MB",
                "tensor GB/s")


def ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def median(values) -> float | None:
    return statistics.median(values) if values else None


def headline(row: dict) -> float | None:
    """The figure rows are compared on: the evaluation median, or for workloads that only
    build (build_large) the build median."""
    return median(row.get("eval_ms")) if row.get("eval_ms") else median(row.get("build_ms"))


def merge_rounds(rows: tuple[dict, ...]) -> dict:
    """One row of several rounds of the same workload and framework: their timings
    pooled (the medians are over every sample), and the medians of the once-per-process
    figures (first gradient, import, memory). A round that failed makes the row fail."""
    merged = dict(rows[0])
    failed = [row for row in rows if row.get("error")]
    if failed:
        return {**merged, **failed[0]}
    for key in ("eval_ms", "build_ms"):
        if any(key in row for row in rows):
            merged[key] = [t for row in rows for t in row.get(key, [])]
    for key in ("first_ms", "import_ms", "peak_rss_mb", "baseline_rss_mb", "delta_rss_mb"):
        values = [row[key] for row in rows if row.get(key) is not None]
        if values:
            merged[key] = statistics.median(values)
    merged["rounds"] = len(rows)
    return merged


def _table(columns, rows) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _delta_rss(row: dict) -> str:
    """The memory the gradient computation took: measured by the runner from the resident
    size before it (Linux), else the peak over the peak of the import and inputs."""
    delta = row.get("delta_rss_mb")
    if delta is None and row.get("peak_rss_mb") is not None and row.get("baseline_rss_mb"):
        delta = row["peak_rss_mb"] - row["baseline_rss_mb"]
    return "—" if delta is None else f"{delta:,.0f}"


def _build_ms(row: dict) -> float | None:
    if row.get("build_ms"):
        return median(row["build_ms"])
    server = row.get("details", {}).get("server_ms") or {}
    return server.get("build")


def _note(row: dict) -> str:
    if row.get("error"):
        return row["error"].replace("|", "/")
    if row.get("reference"):
        return "reference"
    if "max_rel_error" in row:
        return f"agrees ({row['max_rel_error']:.1e})"
    if row["framework"] == "pytorch" and not row.get("eval_ms"):
        return "eager: no separate backward construction"
    return ""


def results_table(rows: list[dict], anchors) -> list[str]:
    fastest: dict[str, float] = {}
    for row in rows:
        value = headline(row)
        if row["framework"] in anchors and value and not row.get("error"):
            fastest[row["workload"]] = min(value, fastest.get(row["workload"], value))
    cells = []
    for row in rows:
        value = None if row.get("error") else headline(row)
        anchor = fastest.get(row["workload"])
        ratio = f"{value / anchor:.2f}" if value and anchor else "—"
        evals = row.get("eval_ms")
        rss = row.get("peak_rss_mb")
        http = row["framework"] == "gradserve-http"
        cells.append((
            row["workload"], row["label"], ms(_build_ms(row)),
            f"{ms(median(evals))} ({len(evals)})" if evals else "—",
            ms(row.get("first_ms")), ms(row.get("import_ms")),
            "—" if rss is None else f"{rss:,.0f}" + (" (server)" if http else ""),
            "—" if http else _delta_rss(row),
            ratio, _note(row)))
    return _table(COLUMNS, cells)


def http_table(rows: list[dict]) -> list[str]:
    cells = []
    for row in rows:
        details = row.get("details") or {}
        if row["framework"] != "gradserve-http" or row.get("error") or not row.get("eval_ms"):
            continue
        request = median(row["eval_ms"])
        server = details.get("server_ms", {})
        decode = details.get("client_decode_ms")
        rest = details.get("transport_ms")
        if rest is None and server:  # older results: from the medians, which need not add up
            rest = max(0.0, request - sum(server.values()) - (decode or 0))
        tensor = details.get("tensor_bytes") or 0
        cells.append((
            row["workload"], details.get("encoding", ""), ms(request),
            *(ms(server.get(stage)) for stage in ("parse", "build", "eval", "encode")),
            ms(decode), ms(rest), f"{details.get('request_bytes', 0) / 1e6:,.1f}",
            f"{details.get('response_bytes', 0) / 1e6:,.1f}",
            f"{tensor / 1e9 / (request / 1e3):.3f}" if tensor else "—"))
    return _table(HTTP_COLUMNS, cells) if cells else []
