"""The numpy reference evaluator: sizes from arrays, vector layouts, stability."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import matcalc as mc

n, m = mc.dims("n m")
x = mc.vector("x", n)
W = mc.matrix("W", m, n)
t = mc.vector("t", n)
EXTREME = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])


def test_sizes_are_inferred_and_vectors_take_either_layout() -> None:
    rng = np.random.default_rng(0)
    Wv, xv = rng.normal(size=(2, 3)), rng.normal(size=3)
    flat = mc.evaluate(W @ x, {"W": Wv, "x": xv})
    column = mc.evaluate(W @ x, {W: Wv, x: xv.reshape(3, 1)})
    assert flat.shape == (2, 1)
    np.testing.assert_allclose(flat, column)
    np.testing.assert_allclose(flat.ravel(), Wv @ xv)


def test_scalar_results_are_floats() -> None:
    value = mc.evaluate(x.T @ x, {"x": [1.0, 2.0, 2.0]})
    assert isinstance(value, float) and value == 9.0
    assert mc.evaluate(mc.sum(x) / n, {"x": [1.0, 2.0, 6.0]}) == 3.0  # a size as a constant


def test_dimension_given_by_name_or_symbol() -> None:
    assert mc.evaluate(mc.sum(mc.ones(n, 1)), {"n": 4}) == 4.0
    assert mc.evaluate(mc.trace(mc.eye(n)), {n: 5}) == 5.0


@pytest.mark.parametrize(
    "expr",
    [mc.sigmoid(t), mc.softmax(t), mc.logsumexp(t), mc.log(1 + mc.exp(t)), mc.log(mc.exp(t) + 1)],
    ids=["sigmoid", "softmax", "logsumexp", "log(1+exp)", "log(exp+1)"],
)
def test_stable_functions_at_plus_minus_1000(expr) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = np.asarray(mc.evaluate(expr, {"t": EXTREME}))
        # keyed by variable: ∇ sum(softmax(t)) is a zero that no longer mentions t
        gradient = mc.evaluate(mc.grad(mc.sum(expr), t), {t: EXTREME})
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(gradient))


def test_stable_values_are_right() -> None:
    sig = mc.evaluate(mc.sigmoid(t), {"t": EXTREME}).ravel()
    np.testing.assert_allclose(
        sig, [0, 1 / (1 + np.exp(30)), 0.5, 1 / (1 + np.exp(-30)), 1], rtol=1e-12
    )
    softplus = mc.evaluate(mc.log(1 + mc.exp(t)), {"t": EXTREME}).ravel()
    np.testing.assert_allclose(
        softplus, [0, np.log1p(np.exp(-30)), np.log(2), 30 + np.log1p(np.exp(-30)), 1000]
    )
    assert mc.evaluate(mc.logsumexp(t), {"t": EXTREME}) == pytest.approx(1000.0)
    soft = mc.evaluate(mc.softmax(t), {"t": EXTREME}).ravel()
    np.testing.assert_allclose(soft, [0, 0, 0, 0, 1], atol=1e-300)
    assert str(mc.log(1 + mc.exp(t))) == "softplus(t)"  # read as the stable mc.softplus


def test_columnwise_softmax_and_logsumexp() -> None:
    X = mc.matrix("X", n, m)
    values = np.arange(6.0).reshape(3, 2)
    soft = mc.evaluate(mc.softmax(X), {"X": values})
    np.testing.assert_allclose(soft.sum(axis=0), [1, 1])
    lse = mc.evaluate(mc.logsumexp(X), {"X": values})
    assert lse.shape == (1, 2)
    np.testing.assert_allclose(lse.ravel(), np.log(np.exp(values).sum(axis=0)))


def test_broadcasting_follows_numpy() -> None:
    X = mc.matrix("X", n, m)
    row = mc.matrix("r", 1, m)
    rng = np.random.default_rng(3)
    Xv, xv, rv = rng.normal(size=(3, 2)), rng.normal(size=(3, 1)), rng.normal(size=(1, 2))
    got = mc.evaluate(X + x - row * 2, {"X": Xv, "x": xv, "r": rv})
    np.testing.assert_allclose(got, Xv + xv - rv * 2)
    assert (X + x).shape == (n, m) and (row * X).shape == (n, m)


def test_diag_times_matrix_is_not_formed_densely() -> None:
    # diag(v) M evaluates as v ⊙ M: 20000 × 20000 dense would be 3.2 GB.
    v, M = mc.vector("v", n), mc.matrix("M", n, 2)
    product = mc.diag(v) @ M
    got = mc.evaluate(product, {"v": np.arange(20000.0), "M": np.ones((20000, 2))})
    assert got[5, 1] == 5.0
