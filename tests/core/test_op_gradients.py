"""Every case of every op: shapes and dtypes as inferred, gradients as central differences."""

import pytest

from tests.core.cases import all_cases
from tests.core.opcheck import check_forward, check_gradients

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward_matches_shape_rule(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad and c.differentiated], ids=str)
def test_gradient_matches_central_differences(case):
    check_gradients(case)
