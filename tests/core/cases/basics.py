import numpy as np

from tests.core.opcheck import Case

rng = np.random.default_rng(7)
x23 = rng.uniform(-1, 1, (2, 3))

CASES = [
    Case("Identity", [x23]),
    Case("IdentityN", [x23, x23[0]]),
    Case("StopGradient", [x23], no_gradient=True),
    Case("PreventGradient", [x23], attrs={"message": "no"}, grad=False),
    Case("PlaceholderWithDefault", [x23], attrs={"dtype": "float64", "shape": [2, 3]}),
    Case("CheckNumerics", [x23], attrs={"message": "checked"}),
    Case("EnsureShape", [x23], attrs={"shape": [None, 3]}),
    Case("Shape", [x23], no_gradient=True),
    Case("Size", [x23], no_gradient=True),
    Case("Rank", [x23], no_gradient=True),
    Case("Fill", [np.array([2, 3], np.int32), np.array(1.5)]),
    Case("ZerosLike", [x23]),
    Case("OnesLike", [x23]),
    Case("Range", [np.array(1, np.int32), np.array(7, np.int32), np.array(2, np.int32)]),
    Case("Reshape", [x23, np.array([3, -1], np.int32)]),
    Case("BroadcastTo", [rng.uniform(-1, 1, (3, 1)), np.array([2, 3, 4], np.int32)]),
    Case("BroadcastGradientArgs", [np.array([2, 1, 3], np.int32), np.array([3], np.int32)]),
    Case("DynamicStitch", [np.array([0, 2], np.int32), np.array([1], np.int32),
                           np.array([5, 6], np.int32), np.array([7], np.int32)]),
    Case("Sum", [x23, np.array([1], np.int32)]),
    Case("Sum", [x23, np.array([0, -1], np.int32)], attrs={"keep_dims": True}, id="keep_dims"),
]
