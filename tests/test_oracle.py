"""Small concrete sizes: the engine's gradients equal sympy's derivatives of the
expression expanded entry by entry (an oracle independent of the engine)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, concrete_shape, keyed, normal
from operation_specs import SPECS, Spec
from oracle import oracle_gradient

import matcalc as mc


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_gradient_matches_sympy_elementwise_expansion(spec: Spec) -> None:
    rng = np.random.default_rng(11)
    f = spec.expr
    if not f.is_scalar:
        R = mc.matrix("R_projection", *f.shape)
        f = mc.sum(R * f)
    variables = mc.variables(f)
    sizes = {d: 2 for v in variables.values() for d in v.shape if not isinstance(d, int)}
    sizes.update({d: 3 for d in sizes if str(d) == "m"})  # non-square where it matters
    values = {
        name: spec.samplers.get(name, normal)(rng, concrete_shape(var, sizes)).tolist()
        for name, var in variables.items()
    }
    for name in sorted(mc.variables(spec.expr)):
        derived = np.asarray(
            mc.evaluate(mc.grad(f, variables[name]), keyed(f, values)), dtype=float
        )
        expected = np.array(oracle_gradient(f, name, sizes, values))
        assert_close(
            derived.reshape(expected.shape), expected, rtol=1e-8, what=f"{spec.name} {name}"
        )
