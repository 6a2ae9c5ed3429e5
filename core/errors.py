"""The exceptions the core raises, as `tf.gradients` raises them.

Each subclasses the builtin that TensorFlow raises in the same situation, so callers
can catch `ValueError`, `LookupError` or `TypeError` exactly as they would with
TensorFlow, and carries the name of the node it is about (or None).
"""


class _NamesNode:
    def __init__(self, message: str, node: str | None = None):
        super().__init__(message)
        self.node = node


class GraphError(_NamesNode, ValueError):
    """Invalid graph or arguments: unknown op or reference, cycle, shape or dtype mismatch."""


class NoGradientError(_NamesNode, LookupError):
    """An op between xs and ys has no registered gradient."""


class GradientTypeError(_NamesNode, TypeError):
    """A dtype for which TensorFlow raises TypeError (e.g. complex y without grad_ys)."""


class ResourceLimitError(_NamesNode, ValueError):
    """Work that would exceed a configured limit (memory, elements); refused before it runs."""


class DeadlineExceeded(_NamesNode, TimeoutError):
    """An evaluation ran past its deadline and was stopped between two nodes."""
