"""mc.compile: generated numpy code equals the reference evaluator."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from operation_specs import SPECS
from random_trees import VARIABLES, trees, values_for

import matcalc as mc

VARS = [var for (var,) in VARIABLES.values()]


@settings(max_examples=30)
@given(trees(), st.integers(0, 2**31), st.tuples(st.integers(1, 3), st.integers(1, 3)))
def test_compiled_equals_evaluate_on_random_trees(f, seed, sizes) -> None:
    values = values_for(seed, sizes)
    wrt = sorted(mc.variables(f).values(), key=lambda v: v.name)
    fn = mc.compile(f, wrt=wrt)
    value, grads = fn(**{k: v for k, v in values.items() if k in fn.arguments})
    expected = mc.evaluate(f, values)
    if not np.isfinite(expected):
        return
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-9)
    for var, g in zip(wrt, grads, strict=True):
        assert g.shape == values[var.name].shape
        expected_g = np.atleast_2d(mc.evaluate(mc.grad(f, var), {var: values[var.name], **values}))
        assert_close(g, expected_g, rtol=1e-8)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_every_operation_compiles(spec) -> None:
    from helpers import sample_values

    f = spec.scalar
    rng = np.random.default_rng(5)
    values = sample_values(f, rng, {**spec.samplers, "R": lambda g, s: g.normal(size=s)})
    wrt = spec.wrt
    fn = mc.compile(f, wrt=wrt)
    value, grads = fn(**values)
    assert value == pytest.approx(mc.evaluate(f, values), rel=1e-9)
    for var, g in zip(wrt, grads, strict=True):
        expected_g = np.atleast_2d(mc.evaluate(mc.grad(f, var), {var: values[var.name], **values}))
        assert_close(g, expected_g, rtol=1e-8)
    # a vector value (no gradients) compiles too
    if not spec.expr.is_scalar:
        out = mc.compile(spec.expr)(**{k: v for k, v in values.items() if k != "R"})
        assert out.shape == np.shape(mc.evaluate(spec.expr, values))


def test_source_shares_the_forward_pass_and_has_no_dense_structure() -> None:
    n, m = mc.dims("n m")
    x, W, b, y = mc.vector("x", n), mc.matrix("W", m, n), mc.vector("b", m), mc.vector("y", m)
    C = mc.sum((mc.sigmoid(W @ x + b) - y) ** 2) / 2
    fn = mc.compile(C, wrt=[W, b, x])
    names = fn.internal_names  # the source spells W as _v0 and so on: names are data
    assert fn.source.count(f"{names['W']} @ {names['x']}") == 1  # z once, reused backward
    assert fn.source.count("sigmoid") == 1  # σ(z) computed once
    for dense in ("diagflat", "eye", "ones(", "kron"):
        assert dense not in fn.source
    lines = [line for line in fn.source.splitlines() if " = " in line]
    assert len(lines) >= 4  # one line per intermediate
    J = mc.jacobian(mc.sigmoid(W @ x), x)
    Jfn = mc.compile(mc.sum(J @ x))
    assert "diagflat" not in Jfn.source  # diag(v) M is v * M


def test_arguments_are_checked_by_name() -> None:
    n, m = mc.dims("n m")
    x, W = mc.vector("x", n), mc.matrix("W", m, n)
    fn = mc.compile(mc.sum(W @ x), wrt=[W])
    good = {"W": np.ones((2, 3)), "x": np.ones(3)}
    value, (gW,) = fn(**good)
    assert value == 6.0 and gW.shape == (2, 3)
    with pytest.raises(mc.EvaluationError, match="missing argument x"):
        fn(W=np.ones((2, 3)))
    with pytest.raises(mc.EvaluationError, match="unknown argument z"):
        fn(**good, z=np.ones(3))
    with pytest.raises(mc.ShapeError, match="dimension n is 3 from W but 4 from x"):
        fn(W=np.ones((2, 3)), x=np.ones(4))
    with pytest.raises(mc.ShapeError, match="W is"):
        fn(W=np.ones(6), x=np.ones(3))
    with pytest.raises(mc.ShapeError, match="gradients need a scalar f"):
        mc.compile(W @ x, wrt=[W])


def test_compiled_gradient_of_a_million_vector_never_allocates_n_squared() -> None:
    n = mc.dims("n")
    x, y = mc.vector("x", n), mc.vector("y", n)
    f = mc.sum(mc.sigmoid(x) * y) + mc.norm(x) + mc.logsumexp(x)
    fn = mc.compile(f, wrt=[x])
    size = 1_000_000
    rng = np.random.default_rng(0)
    xv, yv = rng.normal(size=size), rng.normal(size=size)
    tracemalloc.start()
    try:
        _, (g,) = fn(x=xv, y=yv)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 8 * size  # n² would be 8 TB
    s = 1 / (1 + np.exp(-xv))
    soft = np.exp(xv - xv.max())
    expected = s * (1 - s) * yv + xv / np.linalg.norm(xv) + soft / soft.sum()
    assert_close(g.ravel(), expected, rtol=1e-10)


def test_constant_pieces_are_arrays_of_their_shape() -> None:
    """softmax of a constant, a constant value, a zero gradient (found by hypothesis)."""
    n = mc.dims("n")
    x, c = mc.vector("x", n), mc.scalar("c")
    fn = mc.compile(mc.sum(mc.softmax(mc.zeros(n, 1))) + 2 * c, wrt=[c, x])
    value, (dc, dx) = fn(x=np.ones(3), c=1.0)
    assert value == 3.0 and dc.shape == (1, 1) and dc[0, 0] == 2.0
    assert dx.shape == (3, 1) and not dx.any()
    value = mc.compile(mc.logsumexp(mc.ones(3, 1)) + 0 * c)(c=1.0)
    assert value == pytest.approx(1 + np.log(3))


def test_results_that_simplify_to_constants_are_arrays_of_their_shape() -> None:
    """tr(X⁻¹ X) = n and A − Aᵀ = 0 at 1×1: numpy returns scalars, the caller gets arrays."""
    n = mc.dims("n")
    X, A, c = mc.matrix("X", n, n), mc.matrix("A", 1, 1), mc.scalar("c")
    value, (gradient,) = mc.compile(mc.trace(mc.inv(X) @ X), wrt=[X])(X=2 * np.eye(3))
    assert value == 3.0 and gradient.shape == (3, 3) and not gradient.any()
    value, (gradient,) = mc.compile(mc.tanh(-mc.trace(X @ mc.inv(X))), wrt=[X])(X=np.eye(2))
    assert value == pytest.approx(np.tanh(-2.0)) and gradient.shape == (2, 2)
    value, (gradient,) = mc.compile(mc.log(mc.sigmoid(mc.sum(A - A.T))), wrt=[A])(A=[[1.0]])
    assert value == pytest.approx(-np.log(2.0)) and gradient.shape == (1, 1)
    value, (gradient,) = mc.compile(c * c, wrt=[c])(c=3.0)
    assert isinstance(gradient, np.ndarray) and gradient.shape == (1, 1) and gradient[0, 0] == 6.0


def test_a_view_of_a_read_only_view_is_never_written() -> None:
    """diagpart(M) is a read-only view of M and its transpose a view of that: the planner
    once wrote a later line into that transpose ('output array is read-only'), found by
    the backends' random trees."""
    x, A, c = mc.vector("x", "n"), mc.matrix("A", "n", "n"), mc.scalar("c")
    f = (mc.sigmoid(x * c) + mc.exp(mc.tanh(x.T)).T).T @ mc.diag(1 / (1 + (A * x.T + x) ** 2))
    rng = np.random.default_rng(0)
    values = {"x": rng.normal(size=(3, 1)), "A": rng.normal(size=(3, 3)), "c": np.array([[0.7]])}
    value, grads = mc.compile(f, wrt=[A, c, x])(**values)
    assert value == pytest.approx(mc.evaluate(f, values), rel=1e-12)
    for var, g in zip([A, c, x], grads, strict=True):
        expected = np.atleast_2d(mc.evaluate(mc.grad(f, var), values))
        assert_close(g, expected, rtol=1e-9)
