"""`Client` and `AsyncClient`: the same methods over one shared base (gradserve._base),
one with blocking I/O, the other with `await`."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Self

import httpx

from gradserve._base import (
    CONNECTION_ERRORS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    BaseClient,
    Fetches,
    Flow,
    Request,
    flatten,
    pending_calls,
)
from gradserve.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    GradserveError,
)
from gradserve.framework import Tensor
from gradserve.gradients import PendingGradients
from gradserve.wire import Encoding, decode_message, encode_message

Timeout = float | httpx.Timeout | None


class Client(BaseClient):
    """A connection to a gradserve service: `gradients` as tf.gradients, `run` as Session.run.

    `gradients` returns at once (None exactly where TensorFlow returns None); the service
    builds the gradient nodes at the first request that needs them, so gradients-then-run
    is one request. Not safe to share between threads.
    """

    def __init__(self, base_url: str | None = None, *, timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
                 max_retries: int = DEFAULT_MAX_RETRIES,
                 transport: httpx.BaseTransport | None = None,
                 headers: Mapping[str, str] | None = None, encoding: Encoding = "binary") -> None:
        """`base_url` defaults to $GRADSERVE_BASE_URL, else http://127.0.0.1:8000.
        `timeout` (seconds, or an httpx.Timeout) applies to each request unless a call
        gives its own; `max_retries` retries connection errors, 429 and 503 only, with
        jittered exponential backoff honouring Retry-After. `transport` replaces the HTTP
        transport (e.g. a mock, in tests). `encoding` "binary" sends feeds over 1024 elements
        and gets results as raw bytes (the binary tensor extension); "b64" as base64 in JSON,
        for services without the extension."""
        super().__init__(base_url, timeout, max_retries, encoding)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                  headers={**self.headers, **(headers or {})})

    def gradients(self, ys: Any, xs: Any, grad_ys: Any = None, name: str | None = "gradients",
                  gate_gradients: bool = False, aggregation_method: int | None = None,
                  stop_gradients: Any = None,
                  unconnected_gradients: str = "none", *, timeout: Timeout = None
                  ) -> list[Tensor | None]:
        """The symbolic partial derivatives of sum(ys) with respect to each x, as
        tf.gradients: a tensor per x (pending until a request builds it), None where no
        gradient reaches x. Raises what tf.gradients raises (ValueError, LookupError,
        TypeError; RuntimeError for values that are not graph tensors)."""
        return self._drive(self._gradients_flow(ys, xs, grad_ys, name, gate_gradients,
                                                aggregation_method, stop_gradients,
                                                unconnected_gradients, timeout))

    def run(self, fetches: Fetches, feed_dict: Mapping[Any, Any] | None = None, *,
            timeout: Timeout = None) -> Any:
        """The values of `fetches` (a tensor, or nested lists, tuples and dicts of them) given
        `feed_dict` (tensor -> value), as Session.run: NumPy arrays in the same structure.
        One request, which also builds the pending gradients fetched."""
        return self._drive(self._run_flow(fetches, feed_dict, timeout))

    def resolve(self, tensors: Fetches, *, timeout: Timeout = None) -> None:
        """Has the service build the pending gradients among `tensors` now (one request per
        gradients() call), without computing any value."""
        self._drive(self._build_flow(pending_calls(flatten(tensors)), timeout))

    def list_ops(self) -> dict[str, Any]:
        """GET /v1/ops (once per client): the ops the service supports, with their
        inputs, attributes, dtypes and gradient status."""
        return self._drive(self._ops_flow())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _resolver(self, call: PendingGradients) -> None:
        self._drive(self._build_flow([call], None))

    def _drive(self, flow: Flow) -> Any:
        try:
            request = next(flow)
            while True:
                try:
                    response = self._send(request)
                except APIError as error:  # the flow may handle it, else it raises it again
                    request = flow.throw(error)
                else:
                    request = flow.send(response)
        except StopIteration as done:
            return done.value

    def _send(self, request: Request) -> Any:
        for attempt in itertools.count():
            try:
                response = self._http.request(request.method, request.path,
                                              **_options(request, self.encoding))
            except CONNECTION_ERRORS as error:
                delay = self._retry_delay(attempt, None)
                if delay is None:
                    raise _connection_error(error, self.base_url) from error
                time.sleep(delay)
                continue
            except httpx.TimeoutException as error:
                raise _connection_error(error, self.base_url) from error
            if response.is_success:
                return decode_message(response.content, response.headers)
            delay = self._retry_delay(attempt, response)
            if delay is None:
                raise self._error(response)
            time.sleep(delay)


class AsyncClient(BaseClient):
    """`Client` with `await`: the same methods, as coroutines.

    A pending gradient can't make its request on attribute access here: before building
    ops on a gradient, `await client.resolve(grads)` (running or differentiating it again
    needs nothing)."""

    def __init__(self, base_url: str | None = None, *, timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
                 max_retries: int = DEFAULT_MAX_RETRIES,
                 transport: httpx.AsyncBaseTransport | None = None,
                 headers: Mapping[str, str] | None = None, encoding: Encoding = "binary") -> None:
        super().__init__(base_url, timeout, max_retries, encoding)
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout,
                                       transport=transport,
                                       headers={**self.headers, **(headers or {})})

    async def gradients(self, ys: Any, xs: Any, grad_ys: Any = None,
                        name: str | None = "gradients", gate_gradients: bool = False,
                        aggregation_method: int | None = None, stop_gradients: Any = None,
                        unconnected_gradients: str = "none", *, timeout: Timeout = None
                        ) -> list[Tensor | None]:
        """As `Client.gradients`."""
        return await self._drive(self._gradients_flow(ys, xs, grad_ys, name, gate_gradients,
                                                      aggregation_method, stop_gradients,
                                                      unconnected_gradients, timeout))

    async def run(self, fetches: Fetches, feed_dict: Mapping[Any, Any] | None = None, *,
                  timeout: Timeout = None) -> Any:
        """As `Client.run`."""
        return await self._drive(self._run_flow(fetches, feed_dict, timeout))

    async def resolve(self, tensors: Fetches, *, timeout: Timeout = None) -> None:
        """As `Client.resolve`."""
        await self._drive(self._build_flow(pending_calls(flatten(tensors)), timeout))

    async def list_ops(self) -> dict[str, Any]:
        """As `Client.list_ops`."""
        return await self._drive(self._ops_flow())

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object
                        ) -> None:
        await self.aclose()

    def _resolver(self, call: PendingGradients) -> None:
        raise RuntimeError("This gradient is pending: with AsyncClient, `await "
                           "client.resolve(gradients)` before building ops on it.")

    async def _drive(self, flow: Flow) -> Any:
        try:
            request = next(flow)
            while True:
                try:
                    response = await self._send(request)
                except APIError as error:  # the flow may handle it, else it raises it again
                    request = flow.throw(error)
                else:
                    request = flow.send(response)
        except StopIteration as done:
            return done.value

    async def _send(self, request: Request) -> Any:
        for attempt in itertools.count():
            try:
                options = _options(request, self.encoding)
                if isinstance(options.get("content"), list):  # httpx's async path wants these
                    options["content"] = _async_chunks(options["content"])
                response = await self._http.request(request.method, request.path, **options)
            except CONNECTION_ERRORS as error:
                delay = self._retry_delay(attempt, None)
                if delay is None:
                    raise _connection_error(error, self.base_url) from error
                await asyncio.sleep(delay)
                continue
            except httpx.TimeoutException as error:
                raise _connection_error(error, self.base_url) from error
            if response.is_success:
                return decode_message(response.content, response.headers)
            delay = self._retry_delay(attempt, response)
            if delay is None:
                raise self._error(response)
            await asyncio.sleep(delay)


def _options(request: Request, encoding: Encoding) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if request.body is not None:
        options["content"], options["headers"] = encode_message(request.body, encoding)
    if request.timeout is not None:
        options["timeout"] = request.timeout
    return options


async def _async_chunks(chunks: list[bytes | memoryview]) -> AsyncIterator[bytes | memoryview]:
    for chunk in chunks:
        yield chunk


def _connection_error(error: httpx.HTTPError, base_url: str) -> GradserveError:
    if isinstance(error, httpx.TimeoutException):
        return APITimeoutError(f"The request to {base_url} timed out ({error!r})")
    return APIConnectionError(f"Could not reach the gradserve service at {base_url} ({error!r})")
