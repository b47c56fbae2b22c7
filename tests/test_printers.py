"""Printers: the lecture's notation, minimal and correct parentheses."""

from __future__ import annotations

import pytest

import matcalc as mc

n, m = mc.dims("n m")
a, b, c = mc.vector("a", n), mc.vector("b", n), mc.vector("c", n)
A, B = mc.matrix("A", n, n), mc.matrix("B", n, n)
W = mc.matrix("W", m, n)
s = mc.scalar("s")

CASES = [
    # expression, text, LaTeX
    (a - (b - c), "a − (b − c)", r"\mathbf{a} - \left(\mathbf{b} - \mathbf{c}\right)"),
    ((a - b) - c, "a − b − c", r"\mathbf{a} - \mathbf{b} - \mathbf{c}"),
    (a - (-b), "a − (−b)", r"\mathbf{a} - \left(-\mathbf{b}\right)"),
    ((a + b) * c, "(a + b) ⊙ c", r"\left(\mathbf{a} + \mathbf{b}\right) \odot \mathbf{c}"),
    (a * b * c, "a ⊙ b ⊙ c", r"\mathbf{a} \odot \mathbf{b} \odot \mathbf{c}"),
    (-(a + b), "−(a + b)", r"-\left(\mathbf{a} + \mathbf{b}\right)"),
    ((-a) ** 2, "(−a)²", r"\left(-\mathbf{a}\right)^{2}"),
    (-(a**2), "−a²", r"-\mathbf{a}^{2}"),
    ((A @ B).T, "(A B)ᵀ", r"\left(A B\right)^\top"),
    ((a * b).T, "(a ⊙ b)ᵀ", r"\left(\mathbf{a} \odot \mathbf{b}\right)^\top"),
    (A @ (a * b), "A (a ⊙ b)", r"A \left(\mathbf{a} \odot \mathbf{b}\right)"),
    (A @ B @ a, "A B a", r"A B \mathbf{a}"),
    (a / (b * c), "a / (b ⊙ c)", r"\mathbf{a} \oslash \left(\mathbf{b} \odot \mathbf{c}\right)"),
    ((a / b) / c, "a / b / c", r"\mathbf{a} \oslash \mathbf{b} \oslash \mathbf{c}"),
    (a / s, "a / s", r"\frac{\mathbf{a}}{s}"),
    (s * (a + b), "s (a + b)", r"s \left(\mathbf{a} + \mathbf{b}\right)"),
    (mc.sigmoid(W @ a) * (1 - mc.sigmoid(W @ a)), "σ′(W a)", r"\sigma'\left(W \mathbf{a}\right)"),
    (1 - mc.tanh(a) ** 2, "tanh′(a)", r"\tanh'\left(\mathbf{a}\right)"),
    (mc.inv(A).T, "A⁻ᵀ", r"A^{-\top}"),
    (mc.inv(A @ B), "(A B)⁻¹", r"\left(A B\right)^{-1}"),
    (mc.trace(A @ B), "tr(A B)", r"\operatorname{tr}\left(A B\right)"),
    (mc.det(A), "det(A)", r"\det\left(A\right)"),
    (mc.logdet(A), "log det(A)", r"\log\det\left(A\right)"),
    (mc.diag(a), "diag(a)", r"\operatorname{diag}\left(\mathbf{a}\right)"),
    (mc.norm(a), "‖a‖", r"\left\lVert \mathbf{a} \right\rVert"),
    (mc.ones(n, 1).T @ a, "𝟏ᵀ a", r"\mathbf{1}_{n}^\top \mathbf{a}"),
    (mc.sum(W, axis=0), "sum(W, axis=0)", r"\mathbf{1}^\top W"),
    (mc.abs(a), "|a|", r"\left|\mathbf{a}\right|"),
    (2 * a - 0.5 * b, "2 a − (1/2) b", r"2 \mathbf{a} - \frac{1}{2} \mathbf{b}"),
]


@pytest.mark.parametrize("expr,text,latex", CASES, ids=[c[1] for c in CASES])
def test_notation_and_parentheses(expr, text, latex) -> None:
    assert mc.text(expr) == text
    assert mc.latex(expr) == latex
    assert mc.markdown(expr) == f"${latex}$"


def test_names_follow_the_convention() -> None:
    x1, W_out, theta = mc.vector("x1", 3), mc.matrix("W_out", 2, 3), mc.vector("theta", 3)
    assert mc.latex(x1) == r"\mathbf{x}_{1}"
    assert mc.latex(W_out) == r"W_{\mathrm{out}}"
    assert mc.latex(theta) == r"\boldsymbol{\theta}"
    assert mc.latex(mc.scalar("eta")) == r"\eta"
