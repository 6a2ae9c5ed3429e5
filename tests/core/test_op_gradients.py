"""Every case of every op: shapes and dtypes as inferred, gradients as central differences,
both with fully known shapes and with placeholders that know only their rank."""

import pytest

from tests.core.cases import all_cases
from tests.core.opcheck import check_forward, check_gradients

CASES = all_cases()
SHAPES = pytest.mark.parametrize("unknown_dims", [False, True], ids=["static", "dynamic"])


@SHAPES
@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward_matches_shape_rule(case, unknown_dims):
    check_forward(case, unknown_dims)


@SHAPES
@pytest.mark.parametrize("case", [c for c in CASES if c.grad and c.differentiated], ids=str)
def test_gradient_matches_central_differences(case, unknown_dims):
    check_gradients(case, unknown_dims)
