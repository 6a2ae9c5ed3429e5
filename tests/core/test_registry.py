"""The registry is complete: every op is exercised by a case and has a gradient status."""

from core import registry
from tests.core.cases import all_cases


def test_every_registered_op_has_a_case():
    covered = {case.op for case in all_cases()}
    missing = sorted(op.name for op in registry.all_ops()
                     if op.name not in covered and op.name not in ("Placeholder", "Const", "NoOp"))
    assert not missing, f"ops without a case in tests/core/cases: {missing}"


def test_differentiable_ops_have_a_gradient_case():
    checked = {case.op for case in all_cases() if case.grad and case.differentiated}
    missing = sorted(op.name for op in registry.all_ops()
                     if op.gradient_status == "differentiable" and op.name not in checked
                     and op.name not in ("PreventGradient", "Conj"))
    assert not missing, f"differentiable ops whose gradient no case checks: {missing}"


def test_gradient_states_are_distinct():
    statuses = {op.name: op.gradient_status for op in registry.all_ops()}
    assert statuses["Tanh"] == "differentiable"
    assert statuses["StopGradient"] == "not_differentiable"
    assert statuses["PreventGradient"] == "no_gradient"
