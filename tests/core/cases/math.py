import numpy as np

from tests.core.opcheck import Case

rng = np.random.default_rng(42)


def r(*shape, low=-2.0, high=2.0, dtype=np.float64):
    return rng.uniform(low, high, shape).astype(dtype)


def positive(*shape, dtype=np.float64):
    return r(*shape, low=0.5, high=2.0, dtype=dtype)


CASES = [
    Case("AddV2", [r(2, 3), r(3)], id="broadcast"),
    Case("AddV2", [r(2, 3), r(2, 3)], id="float32"),
    Case("Add", [r(2, 1), r(1, 3)]),
    Case("Sub", [r(4, 1, 3), r(2, 1)]),
    Case("Mul", [r(2, 3), r(2, 1)]),
    Case("Mul", [r(3).astype(np.float32), r(3).astype(np.float32)], id="float32"),
    Case("RealDiv", [r(2, 3), positive(3)]),
    Case("Div", [r(2, 3), positive(2, 1)]),
    Case("Div", [np.array([7, -7, 6], np.int32), np.array([2, 2, -4], np.int32)], id="int"),
    Case("FloorDiv", [np.array([7.5, -7.0]), np.array([2.0, 2.0])], no_gradient=True),
    Case("FloorDiv", [np.array([7, -7], np.int32), np.array([2, 2], np.int32)], id="int"),
    Case("FloorMod", [np.array([7.5, -7.0, 3.0]), np.array([2.0, 2.0, -2.5])]),
    Case("FloorMod", [np.array([7, -7], np.int32), np.array([3, 3], np.int32)], id="int"),
    Case("Pow", [positive(2, 3), r(3)]),
    Case("Pow", [np.array([0.0, -1.5, 2.0]), np.array([2.0, 2.0, 3.0])], id="x_le_0",
         wrt=(0,), second_order=False),
    Case("Maximum", [np.array([1.0, 2.0, 3.0]), np.array([1.5, 1.0, 3.5])]),
    Case("Minimum", [np.array([[1.0, 2.0, 3.0]]), np.array([[1.5], [0.5]])]),
    Case("SquaredDifference", [r(2, 3), r(3)]),
    Case("DivNoNan", [r(2, 3), positive(3)]),
    Case("DivNoNan", [r(2, 3), np.array([[1.5], [0.0]])], id="zero", wrt=(0,)),
    Case("AddN", [r(2, 2), r(2, 2), r(2, 2)]),
    Case("Neg", [r(3)]),
    Case("Square", [r(2, 2)]),
    Case("Sqrt", [positive(3)]),
    Case("Rsqrt", [positive(3)]),
    Case("Reciprocal", [positive(3)]),
    Case("Inv", [positive(3)]),
    Case("Exp", [r(3)]),
    Case("Log", [positive(3)]),
    Case("Log1p", [positive(3)]),
    Case("Abs", [np.array([-1.5, 0.7, 2.0])]),
    Case("Sign", [np.array([-1.5, 0.7, 2.0])]),
    Case("Floor", [np.array([-1.5, 0.7, 2.2])], no_gradient=True),
    Case("Sin", [r(3)]),
    Case("Cos", [r(3)]),
    Case("Tanh", [r(2, 3)]),
    Case("Sigmoid", [r(2, 3)]),
    Case("Conj", [r(3) + 1j * r(3)], grad=False),  # complex: tested in test_complex
    Case("SqrtGrad", [positive(3), r(3)]),
    Case("RsqrtGrad", [positive(3), r(3)]),
    Case("ReciprocalGrad", [positive(3), r(3)]),
    Case("TanhGrad", [r(3, low=-0.9, high=0.9), r(3)]),
    Case("SigmoidGrad", [r(3, low=0.1, high=0.9), r(3)]),
    Case("Equal", [np.array([1.0, 2.0]), np.array([1.0, 3.0])], grad=False),
    Case("NotEqual", [np.array([1.0, 2.0]), np.array([1.0, 3.0])], grad=False),
    Case("Less", [np.array([1.0, 2.0]), np.array([1.5, 1.0])], grad=False),
    Case("LessEqual", [np.array([1.0, 2.0]), np.array([1.0, 1.0])], grad=False),
    Case("Greater", [np.array([1.0, 2.0]), np.array([1.5, 1.0])], grad=False),
    Case("GreaterEqual", [np.array([1.0, 2.0]), np.array([1.0, 3.0])], grad=False),
    Case("Select", [np.array([True, False]), r(2, 3), r(2, 3)], id="vector_condition"),
    Case("Select", [np.array([[True, False, True]]), r(1, 3), r(1, 3)]),
    Case("SelectV2", [np.array([True, False, True]), r(2, 3), r(1)]),
    Case("Cast", [r(2, 3, dtype=np.float32)], attrs={"DstT": "float64"}),
    Case("Cast", [r(3)], attrs={"DstT": "int32"}, id="to_int", no_gradient=True),
]
