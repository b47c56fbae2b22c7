"""Concrete sizes, scalars everywhere, mc.variables, and the demo."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import check_gradients, keyed, numeric_jacobian

import matcalc as mc

A = mc.matrix("A", 2, 3)
v = mc.vector("v", 3)
u = mc.vector("u", 2)
c = mc.scalar("c")


def test_concrete_sizes_derive_and_check() -> None:
    f = mc.sum(mc.tanh(A @ v) * u) + c * (v.T @ v) + mc.sum(2**v) + mc.logsumexp(A @ v)
    rng = np.random.default_rng(3)
    values = {
        "A": rng.normal(size=(2, 3)),
        "v": rng.normal(size=3),
        "u": rng.normal(size=2),
        "c": 0.4,
    }
    check_gradients(f, values)
    for var in (A, v, u, c):
        assert mc.grad(f, var).shape == var.shape
    J = mc.jacobian(A @ v * c, v)
    assert str(J) == "c A"
    got = mc.evaluate(J, keyed(A @ v * c, values))
    np.testing.assert_allclose(got, numeric_jacobian(A @ v * c, "v", values), atol=1e-7)


def test_concrete_shape_errors() -> None:
    with pytest.raises(mc.ShapeError, match=r"matmul: A is \(2, 3\) but u is \(2, 1\)"):
        A @ u
    n = mc.dims("n")
    with pytest.raises(mc.ShapeError, match=r"add: v is \(3, 1\) but x is \(n, 1\)"):
        v + mc.vector("x", n)


def test_one_by_one_results_are_scalars_everywhere() -> None:
    s = v.T @ v
    assert s.shape == (1, 1)
    assert (s @ A).shape == (2, 3) and (A @ s).shape == (2, 3)  # a scalar factor
    assert (s * A).shape == (2, 3) and (s + v).shape == (3, 1)
    assert str(mc.hessian(c * s, v)) == "2 c I"
    value = mc.evaluate(s @ A, {"v": [1, 2, 2], "A": np.ones((2, 3))})
    np.testing.assert_allclose(value, 9 * np.ones((2, 3)))


def test_python_numbers_are_constants() -> None:
    assert str(2 * v - 1) == "2 v − 1"
    assert str(mc.simplify(v / 4 * 2)) == "(1/2) v"
    with pytest.raises(ValueError, match="not finite"):
        v * float("nan")


def test_variables_by_name() -> None:
    f = mc.sum(A @ v) * c
    found = mc.variables(f)
    assert set(found) == {"A", "v", "c"} and found["A"] is A
    clash = mc.matrix("v", 3, 3)
    with pytest.raises(mc.ShapeError, match="v is used as"):
        mc.variables(mc.sum(clash) + mc.sum(v))


def test_interned_expressions_are_shared() -> None:
    assert (A @ v) is (A @ v)
    assert mc.vector("v", 3) is v


def test_demo_main_job(capsys, tmp_path) -> None:
    """The README's main job: derive, write up, compile, check, train to ≥ 95%."""
    import re
    import shutil

    from matcalc import demo

    assert demo.main(tmp_path) == 0
    out = capsys.readouterr().out
    assert "∂C/∂w = " in out and "finite differences agree" in out
    for line in [
        "z1 = W1 X + b1",
        "BP1  δ2 = (1/B) (softmax(z2) − Y)",
        "BP2  δ1 = (W2ᵀ δ2) ⊙ step(z1)",
        "BP3  ∂C/∂b1 = sum(δ1, axis=1)",
        "BP4  ∂C/∂W2 = δ2 a1ᵀ",
        "compiled gradients agree with finite differences",
        "def _lambdifygenerated(",
    ]:
        assert line in out, line
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)%", out).group(1))
    assert accuracy >= 95.0
    assert (tmp_path / "network_derivation.tex").exists()
    assert (tmp_path / "network_derivation.pdf").exists() == bool(shutil.which("pdflatex"))
    assert (tmp_path / "training.png").read_bytes()[:4] == b"\x89PNG"
