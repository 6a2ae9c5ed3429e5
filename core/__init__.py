"""gradserve's core: the graph IR, the tf.gradients algorithm, gradient rules and kernels.

Stands alone: pure Python, NumPy and Numba, with nothing of the web layer."""

from core import build, ops  # noqa: F401  (ops registers every op)
from core.errors import (DeadlineExceeded, GradientTypeError, GraphError, NoGradientError,
                         ResourceLimitError)
from core.executor import evaluate
from core.gradients import AggregationMethod, gradients
from core.graph import Graph, NodeDef, Tensor

__all__ = ["Graph", "NodeDef", "Tensor", "gradients", "evaluate", "AggregationMethod",
           "GraphError", "NoGradientError", "GradientTypeError", "ResourceLimitError",
           "DeadlineExceeded"]
