"""Every operation's derivative against central finite differences, on random
sizes (each dimension 1..4) and valid random values."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from helpers import assert_close, check_gradients, keyed, numeric_jacobian, sample_values
from operation_specs import SPECS, Spec

import matcalc as mc


def scalarize(expr: mc.Expr, rng: np.random.Generator) -> tuple[mc.Expr, dict]:
    """f = sum(R ⊙ F): a random projection tests every entry of the Jacobian."""
    if expr.is_scalar:
        return expr, {}
    R = mc.matrix("R_projection", *expr.shape)
    return mc.sum(R * expr), {"R_projection": lambda g, s: g.normal(size=s)}


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_gradient_matches_finite_differences(spec: Spec) -> None:
    rng = np.random.default_rng(zlib.crc32(spec.name.encode()))  # the same seed in every run
    f, extra = scalarize(spec.expr, rng)
    wrt = sorted(mc.variables(spec.expr))
    for _ in range(3):
        values = sample_values(f, rng, {**spec.samplers, **extra})
        check_gradients(f, values, wrt=wrt)


VECTOR_SPECS = [s for s in SPECS if s.vector_jacobian]


@pytest.mark.parametrize("spec", VECTOR_SPECS, ids=[s.name for s in VECTOR_SPECS])
def test_jacobian_matches_finite_differences(spec: Spec) -> None:
    rng = np.random.default_rng(7)
    variables = mc.variables(spec.expr)
    for _ in range(3):
        values = sample_values(spec.expr, rng, spec.samplers)
        for name in spec.vector_jacobian:
            J = mc.jacobian(spec.expr, variables[name])
            length = lambda e: e.shape[0] if e.shape[1] == 1 else e.shape[1]  # noqa: E731
            assert J.shape == (length(spec.expr), length(variables[name]))
            derived = np.asarray(mc.evaluate(J, keyed(spec.expr, values)), dtype=float)
            expected = numeric_jacobian(spec.expr, name, values)
            assert_close(derived.reshape(expected.shape), expected, what=f"J {name} {spec.name}")


def test_every_node_type_is_exercised_by_the_table() -> None:
    from matcalc.expr import NODE_TYPES, postorder

    seen = {type(item) for spec in SPECS for item in postorder(spec.expr)}
    missing = {t.__name__ for t in NODE_TYPES} - {t.__name__ for t in seen}
    assert not missing, f"no spec uses {missing}"


def test_maximum_at_a_tie_keeps_the_whole_derivative() -> None:
    """max(x, x) = x: the tie must not drop the derivative (found by hypothesis)."""
    x = mc.vector("x", 3)
    g = mc.grad(mc.sum(mc.maximum(x, x)), x)
    assert mc.evaluate(g, {"x": [0.5, -1.0, 0.0]}).ravel().tolist() == [1.0, 1.0, 1.0]
    relu_like = mc.grad(mc.sum(mc.maximum(0, x)), x)
    assert mc.evaluate(relu_like, {"x": [0.5, -1.0, 0.0]}).ravel().tolist() == [1.0, 0.0, 0.0]
