"""gradserve: tf.gradients as a service, with a TensorFlow 1.x-style graph API.

    import gradserve as gs

    x = gs.placeholder(gs.float32, [None, 3], name="x")
    y = gs.reduce_sum(gs.square(x))
    with gs.Client("http://127.0.0.1:8000") as client:
        [dx] = client.gradients(y, x)
        print(client.run(dx, {x: [[1, 2, 3]]}))   # [[2. 4. 6.]], in one POST
"""

__version__ = "0.1.0"

from gradserve import errors, nn
from gradserve import math_ops as math
from gradserve.array_ops import (
    broadcast_to,
    concat,
    expand_dims,
    fill,
    gather,
    newaxis,
    ones,
    ones_like,
    pad,
    placeholder_with_default,
    rank,
    reshape,
    reverse,
    shape,
    size,
    slice,
    split,
    squeeze,
    stack,
    stop_gradient,
    strided_slice,
    tile,
    transpose,
    unstack,
    where,
    zeros,
    zeros_like,
)
from gradserve.client import AsyncClient, Client
from gradserve.dtypes import (
    DType,
    as_dtype,
    bool_,
    complex64,
    complex128,
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
)
from gradserve.framework import (
    Graph,
    Operation,
    Tensor,
    constant,
    convert_to_tensor,
    get_default_graph,
    name_scope,
    placeholder,
    reset_default_graph,
)
from gradserve.gradients import AggregationMethod, UnconnectedGradients
from gradserve.math_ops import (
    abs,
    add,
    add_n,
    argmax,
    argmin,
    cast,
    clip_by_value,
    cos,
    cumprod,
    cumsum,
    divide,
    divide_no_nan,
    equal,
    exp,
    floor,
    floordiv,
    floormod,
    greater,
    greater_equal,
    identity,
    less,
    less_equal,
    log,
    log1p,
    matmul,
    maximum,
    minimum,
    mod,
    multiply,
    negative,
    not_equal,
    pow,
    range,
    reciprocal,
    reduce_all,
    reduce_any,
    reduce_euclidean_norm,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    squared_difference,
    subtract,
    tanh,
    truediv,
)

bool = bool_

__all__ = [
    "AggregationMethod", "AsyncClient", "Client", "DType", "Graph", "Operation", "Tensor",
    "UnconnectedGradients", "abs", "add", "add_n", "argmax", "argmin", "as_dtype", "bool",
    "bool_", "broadcast_to", "cast", "clip_by_value", "complex64", "complex128", "concat",
    "constant", "convert_to_tensor", "cos", "cumprod", "cumsum", "divide", "divide_no_nan",
    "double", "equal", "errors", "exp", "expand_dims", "fill", "float16", "float32", "float64",
    "floor", "floordiv", "floormod", "gather", "get_default_graph", "greater", "greater_equal",
    "half", "identity", "int8", "int16", "int32", "int64", "less", "less_equal", "log", "log1p",
    "math", "matmul", "maximum", "minimum", "mod", "multiply", "name_scope", "negative", "newaxis",
    "nn", "not_equal", "ones", "ones_like", "pad", "placeholder", "placeholder_with_default",
    "pow", "range", "rank", "reciprocal", "reduce_all", "reduce_any", "reduce_euclidean_norm",
    "reduce_max", "reduce_mean", "reduce_min", "reduce_prod", "reduce_sum", "reset_default_graph",
    "reshape", "reverse", "rsqrt", "shape", "sigmoid", "sign", "sin", "size", "slice", "split",
    "sqrt", "square", "squared_difference", "squeeze", "stack", "stop_gradient",
    "strided_slice", "subtract", "tanh", "tile", "transpose", "truediv", "uint8", "uint16",
    "uint32", "uint64", "unstack", "where", "zeros", "zeros_like"]
