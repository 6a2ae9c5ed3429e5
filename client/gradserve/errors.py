"""The exceptions the SDK raises, mirroring the service's problem+json error model.

A problem's `exception` member names what `tf.gradients` raises for the same mistake, so
each class subclasses that builtin: `except ValueError` catches an invalid argument from
the service exactly as it would from TensorFlow."""

from typing import Any


class GradserveError(Exception):
    """The base of every exception the SDK raises (besides TensorFlow-style local errors)."""


class APIError(GradserveError):
    """An error response (an RFC 9457 problem) from the service, or a mistake the SDK found
    before sending (then `status` is None)."""

    def __init__(self, detail: str, *, status: int | None = None, title: str | None = None,
                 node: str | None = None, request_id: str | None = None,
                 problem: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.title = title
        self.node = node
        self.request_id = request_id
        self.problem = problem or {}

    def __str__(self) -> str:
        where = f" (status {self.status}, request id {self.request_id})" if self.status else ""
        return f"{self.detail}{where}"


class InvalidArgumentError(APIError, ValueError):
    """Invalid arguments or graph: unknown op or reference, bad option, shape or dtype
    mismatch, unfed placeholder, over the limits (`exception: ValueError`)."""


class NoGradientError(APIError, LookupError):
    """An op between xs and ys has no gradient (`exception: LookupError`)."""


class GradientTypeError(APIError, TypeError):
    """A dtype tf.gradients refuses, e.g. a complex y without grad_ys (`exception: TypeError`)."""


class APIStatusError(APIError):
    """Any other error status: not found, rate limited (429), server errors (5xx)."""


class APIConnectionError(GradserveError, ConnectionError):
    """The service could not be reached (after the retries)."""


class APITimeoutError(GradserveError, TimeoutError):
    """The request took longer than its timeout."""


_BY_EXCEPTION: dict[str, type[APIError]] = {
    "ValueError": InvalidArgumentError,
    "LookupError": NoGradientError,
    "TypeError": GradientTypeError,
}


def from_problem(status: int, problem: dict[str, Any], request_id: str | None) -> APIError:
    """The exception for an error response with (or without) a problem body."""
    cls = _BY_EXCEPTION.get(str(problem.get("exception")), APIStatusError)
    detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
    return cls(detail, status=status, title=problem.get("title"), node=problem.get("node"),
               request_id=problem.get("request_id") or request_id, problem=problem)
