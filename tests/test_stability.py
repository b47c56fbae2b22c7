"""Values and gradients stay finite and right at extreme inputs: logits of ±800,
softmax inputs spread by 10⁴, in float64 and float32, through mc.evaluate and
mc.compile, against formulas written with np.logaddexp (the stable normal
forms log σ(t) = −softplus(−t), log(1 − σ(t)) = −softplus(t), log softmax(z)
= z − logsumexp(z))."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc as mc

N, n, m = mc.dims("N n m")
X, w, y = mc.matrix("X", N, n), mc.vector("w", n), mc.vector("y", N)
p = mc.sigmoid(X @ w)
BCE = -mc.sum(y * mc.log(p) + (1 - y) * mc.log(1 - p))
z, target = mc.vector("z", m), mc.vector("t", m)
SOFTMAX_CE = -mc.sum(target * mc.log(mc.softmax(z)))
t = mc.vector("t", n)

LOGITS = np.array([-800.0, -40.0, -37.0, -1.0, 0.0, 1.0, 37.0, 40.0, 800.0])


def _sigmoid(v):
    return np.exp(-np.logaddexp(0.0, -v))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_cross_entropy_at_extreme_logits(dtype) -> None:
    Xv = np.stack([LOGITS, np.ones_like(LOGITS)], axis=1).astype(dtype)
    wv = np.array([1.0, 0.0], dtype=dtype)
    yv = (np.arange(len(LOGITS)) % 2).astype(dtype)
    logits = Xv.astype(float) @ wv.astype(float)
    value = np.sum(yv * np.logaddexp(0, -logits) + (1 - yv) * np.logaddexp(0, logits))
    gradient = Xv.astype(float).T @ (_sigmoid(logits) - yv)
    values = {"X": Xv, "w": wv, "y": yv}
    assert mc.evaluate(BCE, values) == pytest.approx(value, rel=1e-12)
    derived = mc.evaluate(mc.grad(BCE, w), values).ravel()
    np.testing.assert_allclose(derived, gradient, rtol=1e-12)
    # compiled code computes float32 in float32 (evaluate in float64): float32's precision
    rtol, atol = (1e-12, 0.0) if dtype == np.float64 else (2e-5, 2e-5)
    compiled_value, (compiled_gradient,) = mc.compile(BCE, wrt=[w])(**values)
    assert compiled_value == pytest.approx(value, rel=rtol)
    np.testing.assert_allclose(compiled_gradient.ravel(), gradient, rtol=rtol, atol=atol)


@pytest.mark.parametrize("spread", [1.0, 1e3, 1e4])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_cross_entropy_typed_through_log_softmax(spread, dtype) -> None:
    zv = (np.linspace(-1.0, 1.0, 5) * spread).astype(dtype)
    tv = np.array([0.1, 0.2, 0.3, 0.3, 0.1], dtype=dtype)
    zf, tf = zv.astype(float), tv.astype(float)
    top = zf.max()
    lse = top + np.log(np.sum(np.exp(zf - top)))
    value = -np.sum(tf * (zf - lse))
    gradient = np.exp(zf - lse) * tf.sum() - tf
    values = {"z": zv, "t": tv}
    assert mc.evaluate(SOFTMAX_CE, values) == pytest.approx(value, rel=1e-12)
    derived = mc.evaluate(mc.grad(SOFTMAX_CE, z), values).ravel()
    np.testing.assert_allclose(derived, gradient, rtol=1e-12, atol=1e-300)
    rtol, atol = (1e-12, 1e-300) if dtype == np.float64 else (2e-5, 2e-5)
    compiled_value, (compiled_gradient,) = mc.compile(SOFTMAX_CE, wrt=[z])(**values)
    assert compiled_value == pytest.approx(value, rel=rtol)
    np.testing.assert_allclose(compiled_gradient.ravel(), gradient, rtol=rtol, atol=atol)


CASES = [
    ("log σ", mc.sum(mc.log(mc.sigmoid(t))), lambda v: -np.logaddexp(0, -v),
     lambda v: _sigmoid(-v)),
    ("log(1 − σ)", mc.sum(mc.log(1 - mc.sigmoid(t))), lambda v: -np.logaddexp(0, v),
     lambda v: -_sigmoid(v)),
    ("softplus", mc.sum(mc.softplus(t)), lambda v: np.logaddexp(0, v), _sigmoid),
    ("log(1 + exp)", mc.sum(mc.log(1 + mc.exp(t))), lambda v: np.logaddexp(0, v), _sigmoid),
]  # fmt: skip


@pytest.mark.parametrize(("name", "f", "value", "gradient"), CASES, ids=[c[0] for c in CASES])
def test_stable_functions_at_plus_minus_800(name, f, value, gradient) -> None:
    values = {"t": LOGITS}
    expected_value = float(np.sum(value(LOGITS)))
    assert mc.evaluate(f, values) == pytest.approx(expected_value, rel=1e-13)
    derived = mc.evaluate(mc.grad(f, t), values).ravel()
    np.testing.assert_allclose(derived, gradient(LOGITS), rtol=1e-13, atol=1e-300)
    compiled_value, (compiled_gradient,) = mc.compile(f, wrt=[t])(**values)
    assert compiled_value == pytest.approx(expected_value, rel=1e-13)
    np.testing.assert_allclose(compiled_gradient.ravel(), gradient(LOGITS), rtol=1e-13, atol=1e-300)


def test_log_sum_exp_typed_out_is_the_stable_logsumexp() -> None:
    f = mc.log(mc.sum(mc.exp(t)))
    value, (gradient,) = mc.compile(f, wrt=[t])(t=LOGITS)
    assert value == pytest.approx(800.0, rel=1e-15) == mc.evaluate(f, {"t": LOGITS})
    assert np.isfinite(gradient).all() and gradient.ravel()[-1] == pytest.approx(1.0)


def test_logsumexp_at_extreme_inputs() -> None:
    values = {"t": LOGITS}
    assert mc.evaluate(mc.logsumexp(t), values) == pytest.approx(800.0, rel=1e-15)
    value, (gradient,) = mc.compile(mc.logsumexp(t), wrt=[t])(**values)
    assert value == pytest.approx(800.0, rel=1e-15)
    assert np.isfinite(gradient).all() and gradient.ravel()[-1] == pytest.approx(1.0)
