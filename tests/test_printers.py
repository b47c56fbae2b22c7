"""Printers: the lecture's notation, minimal and correct parentheses."""

from __future__ import annotations

import numpy as np
import pytest

import matcalc as mc
from matcalc.notation import latex_text

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


# -- powers: a matrix's elementwise power never looks like its matrix power or inverse ----
k = mc.scalar("k")
x = mc.vector("x", n)
POWER_SHAPES = {"A": ("n", "n"), "x": ("n",), "k": ()}

POWERS = [
    # expression, text, LaTeX: A∘ᵏ is the Hadamard power, 1 ⊘ A the entries' reciprocals
    (A**2, "A∘²", r"A^{\circ 2}"),
    (A**3, "A∘³", r"A^{\circ 3}"),
    (A**-1, "1 ⊘ A", r"A^{\circ -1}"),
    (A**-2, "A∘⁻²", r"A^{\circ -2}"),
    (A**k, "A∘^k", r"A^{\circ k}"),
    (A ** (-k), "A∘^(−k)", r"A^{\circ -k}"),
    (A ** (k + 1), "A∘^(k + 1)", r"A^{\circ \left(k + 1\right)}"),
    (A**0.5, "A∘^(1/2)", r"A^{\circ \frac{1}{2}}"),
    (mc.inv(A), "A⁻¹", r"A^{-1}"),
    (mc.inv(A) ** 2, "(A⁻¹)∘²", r"\left(A^{-1}\right)^{\circ 2}"),
    (mc.inv(A) ** -1, "1 ⊘ A⁻¹", r"\left(A^{-1}\right)^{\circ -1}"),
    ((A**2).T, "(A∘²)ᵀ", r"\left(A^{\circ 2}\right)^\top"),
    (A**-1 @ x, "(1 ⊘ A) x", r"A^{\circ -1} \mathbf{x}"),
    ((A @ A) ** -1, "1 ⊘ (A A)", r"\left(A A\right)^{\circ -1}"),
    # vectors and scalars keep the lecture's x²; only x^{∘−1} is marked (x^{-1} reads as inv)
    (x**2, "x²", r"\mathbf{x}^{2}"),
    (x**-1, "x⁻¹", r"\mathbf{x}^{\circ -1}"),
    (x**k, "x^k", r"\mathbf{x}^{k}"),
    (2**x, "2^x", r"2^{\mathbf{x}}"),
    (k**2, "k²", r"k^{2}"),
    (k**-1, "k⁻¹", r"k^{-1}"),
]


@pytest.mark.parametrize("expr,text,latex", POWERS, ids=[c[1] for c in POWERS])
def test_powers_of_a_matrix_are_marked_elementwise(expr, text, latex) -> None:
    assert mc.text(expr) == text
    assert mc.latex(expr) == latex
    assert mc.markdown(expr) == f"${latex}$"


@pytest.mark.parametrize("expr,text,latex", POWERS, ids=[c[1] for c in POWERS])
def test_printed_powers_read_back(expr, text, latex) -> None:
    back = mc.parse(mc.latex(expr), POWER_SHAPES)
    assert back.shape == expr.shape
    assert mc.equivalent(back, expr), (latex, str(back))


@pytest.mark.parametrize(
    "parsed,text,latex",
    [
        ("A**2", "A∘²", r"A^{\circ 2}"),
        ("A**-1", "1 ⊘ A", r"A^{\circ -1}"),
        ("A**-2", "A∘⁻²", r"A^{\circ -2}"),
        ("x**-1", "x⁻¹", r"\mathbf{x}^{\circ -1}"),
        ("k**-1", "k⁻¹", r"k^{-1}"),
    ],
)
def test_a_parsed_negative_exponent_prints_as_the_constant_does(parsed, text, latex) -> None:
    """A**-1 parses as A ** −(1), not A ** (−1): it must print, and read back, alike."""
    expr = mc.parse(parsed, POWER_SHAPES, syntax="numpy")
    assert (mc.text(expr), mc.latex(expr)) == (text, latex)
    assert mc.equivalent(mc.parse(latex, POWER_SHAPES), expr)


def test_derivation_steps_mark_a_matrix_power() -> None:
    X = mc.matrix("X", n, n)
    derivation = mc.derive(mc.sum(X**3), X)
    assert "sum(X∘³)" in derivation.text() and "3 X∘²" in derivation.text()
    assert r"X^{\circ 3}" in derivation.latex() and r"3 X^{\circ 2}" in derivation.latex()
    assert "X²" not in derivation.text() and r"\odot 2" not in derivation.latex()


def test_messages_show_powers_in_the_proof_display() -> None:
    """A message quoting A∘², 1 ⊘ A or X⁻ᵀ keeps its symbols in LaTeX text mode."""
    assert latex_text("A∘² and 1 ⊘ A") == r"A$\circ$$^{2}$ and 1 $\oslash$ A"
    assert latex_text("X⁻ᵀ, A∘⁻²") == r"X$^{-\top }$, A$\circ$$^{-2}$"


def test_decimals_print_as_typed_and_read_back() -> None:
    """3.14159 is read exactly as 314159/100000 and printed as 3.14159 again (in text and
    LaTeX); ½ stays a fraction."""
    f = mc.parse("3.14159*x.T@x - 0.01*sum(x) + 0.5*x.T@x", {"x": (3,)})
    text, latex = mc.text(f), mc.latex(f)
    assert "3.14159" in text and "0.01" in text and "314159" not in text.replace("3.14159", "")
    assert "3.14159" in latex and "0.01" in latex and r"\frac{1}{2}" in latex
    again = mc.parse(latex, {"x": (3,)}, syntax="latex")
    v = {"x": np.array([0.3, -1.2, 2.0])}
    assert mc.evaluate(again, v) == pytest.approx(mc.evaluate(f, v), rel=1e-15)
