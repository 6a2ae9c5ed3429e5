"""What the sync and async clients share: the requests each call makes, how responses are
read, and the retry policy. The clients only move bytes.

Each call is a *flow*: a generator that yields the requests it needs, one at a time, and
gets back each response's JSON body; `Client` drives it with blocking I/O, `AsyncClient`
with `await`, so no logic is written twice.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import random
import time
from collections import OrderedDict
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from gradserve import __version__
from gradserve.errors import APIError, APIStatusError, from_problem
from gradserve.framework import Graph, Operation, Tensor, get_default_graph
from gradserve.gradients import (
    OpCatalog,
    PendingGradients,
    UnconnectedGradients,
    check_arguments,
    connected,
)
from gradserve.wire import Encoding, decode_value

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT: httpx.Timeout = httpx.Timeout(60.0, connect=5.0)  # seconds; per client and per call
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5  # seconds, doubled at each retry, with jitter
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0     # a longer Retry-After is not waited for
RETRY_STATUSES = frozenset({429, 503})
# Programs run (graph and fetches) whose prepared graph id the client remembers.
MAX_PREPARED_GRAPHS = 128
# Failures to reach the service, which are retried (a read or write timeout is not).
CONNECTION_ERRORS = (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ConnectTimeout)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict[str, Any] | None = None
    timeout: float | httpx.Timeout | None = None


Flow = Generator[Request, Any, Any]
Fetches = Any  # a Tensor, a tensor name, or lists, tuples and dicts of them


class BaseClient:
    """Builds the requests of `gradients`, `run` and `resolve` and reads their responses."""

    def __init__(self, base_url: str | None, timeout: float | httpx.Timeout,
                 max_retries: int, encoding: Encoding = "binary") -> None:
        self.base_url = base_url or os.environ.get("GRADSERVE_BASE_URL", DEFAULT_BASE_URL)
        self.timeout = timeout
        self.max_retries = max_retries
        self.encoding = encoding
        self.headers = {"User-Agent": f"gradserve-python/{__version__}"}
        self._ops: dict[str, Any] | None = None
        self._catalog: OpCatalog | None = None
        # A program's fingerprint -> its prepared graph id (None: run once, not registered).
        self._prepared: OrderedDict[str, str | None] = OrderedDict()
        self._prepared_graphs_supported = True

    # -- flows ------------------------------------------------------------------------

    def _ops_flow(self) -> Flow:
        """GET /v1/ops, once per client."""
        if self._ops is None:
            self._ops = yield Request("GET", "/v1/ops")
            self._catalog = OpCatalog.from_listing(self._ops)
        return self._ops

    def _catalog_flow(self) -> Flow:
        yield from self._ops_flow()
        return self._catalog

    def _gradients_flow(self, ys: Any, xs: Any, grad_ys: Any, name: str | None,
                        gate_gradients: bool, aggregation_method: Any, stop_gradients: Any,
                        unconnected_gradients: Any, timeout: Any) -> Flow:
        ys, xs, stop = _as_list(ys), _as_list(xs), _as_list(stop_gradients)
        grad_ys = [None] * len(ys) if grad_ys is None else _as_list(grad_ys)
        check_arguments(ys, xs, grad_ys, stop, unconnected_gradients, aggregation_method)
        yield from self._build_flow(pending_calls([*ys, *xs, *stop, *grad_ys]), timeout)
        catalog = yield from self._catalog_flow()
        graph = _graph_of([*ys, *xs, *stop])
        unconnected = UnconnectedGradients(getattr(unconnected_gradients, "value",
                                                   unconnected_gradients)).value
        flows = connected(graph, ys, xs, stop, catalog)
        with graph.name_scope(name or "gradients") as scope:
            pass  # reserves the scope the service will build under, as TensorFlow does
        options = {"name": scope[:-1], "gate_gradients": gate_gradients,
                   "aggregation_method": aggregation_method,
                   "unconnected_gradients": unconnected}
        call = PendingGradients(graph, ys, xs, grad_ys, stop, options,
                                [f or unconnected == "zero" for f in flows], self._resolver)
        return call.outputs

    def _build_flow(self, calls: Sequence[PendingGradients], timeout: Any) -> Flow:
        """Has the service build pending calls without computing anything."""
        for call in calls:
            body = {**self._graph_payload(call.graph, call.tensors, {}), **call.request_fields(),
                    "return_graph": "added", "evaluate": False, "encoding": self.encoding}
            response = yield Request("POST", "/v1/gradients", body, timeout)
            call.merge(response, (yield from self._catalog_flow()))

    def _run_flow(self, fetches: Fetches, feed_dict: Mapping[Any, Any] | None,
                  timeout: Any) -> Flow:
        leaves = [_as_tensor(f) for f in flatten(fetches)]
        if not leaves:
            return _rebuild(fetches, iter(()))
        feeds = {_as_tensor(k): v for k, v in (feed_dict or {}).items()}
        calls = pending_calls([*leaves, *feeds])
        yield from self._build_flow(calls[:-1], timeout)
        feeds = {t: np.asarray(v, dtype=t.dtype) for t, v in feeds.items()}
        call = calls[-1] if calls else None
        fetched = list(dict.fromkeys(t for t in leaves if call is None or t._pending is not call))
        seeds = fetched + (call.tensors if call else [])
        body = {**self._graph_payload(_graph_of(seeds), seeds, feeds),
                "fetches": [t._ref for t in fetched], "encoding": self.encoding}
        if call is None:
            values = (yield from self._run_program_flow(body, timeout))["fetched"]
            results = dict(zip(fetched, values))
        else:
            body.update(call.request_fields(), return_graph="added")
            response = yield Request("POST", "/v1/gradients", body, timeout)
            results = dict(zip(fetched, response.get("fetched") or []))
            results.update((t, v) for t, v in zip(call.outputs, response["gradients"])
                           if t is not None)
            call.merge(response, (yield from self._catalog_flow()))
        return _rebuild(fetches, iter([_value(results[t], t) for t in leaves]))

    def _run_program_flow(self, body: dict[str, Any], timeout: Any) -> Flow:
        """POST /v1/run; from the second run of the same program (the body but its feeds),
        its prepared graph: registered once (POST /v1/graphs), then evaluated by id with
        only the feeds sent; registered again, once, when the service answers 404 (a replica
        that never saw the id, or evicted it)."""
        program = {"graph": body["graph"], "ys": [], "xs": [], "fetches": body["fetches"]}
        key = hashlib.sha256(json.dumps(program, sort_keys=True).encode()).hexdigest()
        if not self._prepared_graphs_supported or key not in self._prepared:
            self._remember_prepared(key, None)
            return (yield Request("POST", "/v1/run", body, timeout))
        evaluation = {"feeds": body["feeds"], "encoding": body["encoding"]}
        for attempt in range(2):
            graph_id = self._prepared[key]
            if graph_id is None:
                try:
                    graph_id = (yield Request("POST", "/v1/graphs", program, timeout))["id"]
                except APIStatusError as error:
                    if error.status not in (404, 405):
                        raise
                    self._prepared_graphs_supported = False  # a service without the extension
                    return (yield Request("POST", "/v1/run", body, timeout))
                self._remember_prepared(key, graph_id)
            try:
                return (yield Request("POST", f"/v1/graphs/{graph_id}/gradients", evaluation,
                                      timeout))
            except APIStatusError as error:
                if error.status != 404 or attempt:
                    raise
                self._prepared[key] = None

    def _remember_prepared(self, key: str, graph_id: str | None) -> None:
        self._prepared[key] = graph_id
        self._prepared.move_to_end(key)
        if len(self._prepared) > MAX_PREPARED_GRAPHS:
            self._prepared.popitem(last=False)

    def _graph_payload(self, graph: Graph, seeds: Sequence[Tensor],
                       feeds: Mapping[Tensor, np.ndarray]) -> dict[str, Any]:
        """The graph part of a request: the ops `seeds` need, and the feeds among them (as
        arrays, which `wire.encode_message` encodes when the request is sent)."""
        needed = _ancestors([t.op for t in seeds])
        return {"graph": {"nodes": [op.node_def for op in graph.get_operations() if op in needed]},
                "feeds": {t._ref: v for t, v in feeds.items() if t.op in needed}}

    def _resolver(self, call: PendingGradients) -> None:
        raise NotImplementedError

    # -- responses and retries --------------------------------------------------------

    def _retry_delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before retrying, or None not to retry: connection errors
        (`response` None), 429 and 503 only, at most `max_retries` times."""
        if attempt >= self.max_retries:
            return None
        if response is not None:
            if response.status_code not in RETRY_STATUSES:
                return None
            after = _retry_after(response.headers.get("Retry-After"))
            if after is not None:
                return after
        return min(INITIAL_RETRY_DELAY * 2 ** attempt, MAX_RETRY_DELAY) * (1 - 0.25 * random.random())

    @staticmethod
    def _error(response: httpx.Response) -> APIError:
        try:
            problem = response.json()
        except ValueError:
            problem = {"detail": response.text[:500]}
        if not isinstance(problem, dict):
            problem = {"detail": str(problem)[:500]}
        return from_problem(response.status_code, problem, response.headers.get("X-Request-ID"))


def _retry_after(header: str | None) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), when usable."""
    if not header:
        return None
    try:
        seconds = float(header)
    except ValueError:
        date = email.utils.parsedate_to_datetime(header) if header else None
        seconds = date.timestamp() - time.time() if date else -1
    return seconds if 0 <= seconds <= MAX_RETRY_AFTER else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _as_tensor(fetch: Any) -> Tensor:
    if isinstance(fetch, Tensor):
        return fetch
    if isinstance(fetch, str):
        return get_default_graph().get_tensor_by_name(fetch)
    raise TypeError(f"Fetch argument {fetch!r} has invalid type {type(fetch)}, must be a "
                    f"string or Tensor.")


def pending_calls(values: Sequence[Any]) -> list[PendingGradients]:
    """The calls whose pending tensors are among `values`, in the order they were made."""
    calls = {v._pending: None for v in values
             if isinstance(v, Tensor) and isinstance(v._pending, PendingGradients)}
    return list(calls)


def _graph_of(tensors: Sequence[Tensor]) -> Graph:
    graphs = {id(t.graph): t.graph for t in tensors}
    if len(graphs) > 1:
        raise ValueError("The tensors of one call must all be from the same graph.")
    return next(iter(graphs.values()), get_default_graph())


def _ancestors(ops: Sequence[Operation]) -> set[Operation]:
    found: set[Operation] = set()
    stack = list(ops)
    while stack:
        op = stack.pop()
        if op not in found:
            found.add(op)
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
    return found


def flatten(fetches: Fetches) -> list[Any]:
    if isinstance(fetches, (list, tuple)):
        return [leaf for item in fetches for leaf in flatten(item)]
    if isinstance(fetches, dict):
        return [leaf for item in fetches.values() for leaf in flatten(item)]
    return [fetches]


def _rebuild(fetches: Fetches, values: Any) -> Any:
    """`fetches` with each leaf replaced by the next of `values` (lists, tuples, namedtuples
    and dicts keep their type)."""
    if isinstance(fetches, list):
        return [_rebuild(item, values) for item in fetches]
    if isinstance(fetches, tuple):
        items = [_rebuild(item, values) for item in fetches]
        return type(fetches)(*items) if hasattr(fetches, "_fields") else type(fetches)(items)
    if isinstance(fetches, dict):
        return type(fetches)((key, _rebuild(item, values)) for key, item in fetches.items())
    return next(values)


def _value(wire: dict[str, Any] | None, tensor: Tensor) -> np.ndarray | np.generic:
    """A fetched value as Session.run returns it: an array, a NumPy scalar for shape ()."""
    if wire is None:
        raise TypeError(f"{tensor!r} is None: the service found no gradient flowing to its x "
                        f"(an op's gradient rule gives none for that input)")
    array = decode_value(wire)
    return array[()] if array.ndim == 0 else array
