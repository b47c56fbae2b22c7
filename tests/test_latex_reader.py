"""The LaTeX reader: what students type, what mc.latex prints, and hostile text."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from random_trees import n, trees, values_for

import matcalc as mc
from matcalc.latex_reader import read_latex
from matcalc.parse import declarations

SHAPES = {
    "W": ("m", "n"), "A": ("n", "n"), "S": ("n", "n", "symmetric"), "x": ("n",),
    "v": ("n",), "b": ("m",), "y": ("m",), "c": (), "W1": ("m", "n"), "x_out": ("n",),
}  # fmt: skip

# (LaTeX as a student types it, the same in numpy-like text)
READINGS = [
    (r"W \mathbf{x} + \mathbf{b}", "W@x + b"),
    (r"W\mathbf{x}+\mathbf{b}", "W@x + b"),
    (r"\sigma(W\mathbf{x}+\mathbf{b})", "sigmoid(W@x + b)"),
    (r"\sigma'\left(W \mathbf{x}\right) \odot \mathbf{y}", "sigmoid(W@x)*(1 - sigmoid(W@x))*y"),
    (r"\sigma^\prime(\mathbf{x})", "sigmoid(x)*(1 - sigmoid(x))"),
    (r"\tanh'(\mathbf{x})", "1 - tanh(x)**2"),
    (r"\operatorname{relu}'(\mathbf{x})", "step(x)"),
    (r"\frac{1}{2}\|W \mathbf{x} - \mathbf{y}\|^2", "sum((W@x - y)**2)/2"),
    (r"\tfrac12 \left\lVert \mathbf{x} \right\rVert_2^2", "(x.T@x)/2"),
    (r"\mathbf{x}^\top A \mathbf{x}", "x.T@A@x"),
    (r"\mathbf{x}^T A^{\mathsf T} \mathbf{x}", "x.T@A.T@x"),
    (r"\mathbf{x}^{\mathsf{T}} S \mathbf{x}", "x.T@S@x"),
    (r"x^\intercal x", "x.T@x"),
    (r"\operatorname{tr}(A)", "trace(A)"),
    (r"\mathrm{tr}\left(A S\right)", "trace(A@S)"),
    (r"\text{tr}(A^\top)", "trace(A)"),
    (r"\log\det(S)", "logdet(S)"),
    (r"\log \det S", "logdet(S)"),
    (r"\det A", "det(A)"),
    (r"\log \mathbf{x}", "log(x)"),
    (r"\ln(\mathbf{x})", "log(x)"),
    (r"\exp(\mathbf{x}) \circ \mathbf{v}", "exp(x)*v"),
    (r"e^{-\mathbf{x}}", "exp(-x)"),
    (r"\tanh^2(\mathbf{x})", "tanh(x)**2"),
    (r"\mathbf{1}^\top \mathbf{x}", "sum(x)"),
    (r"\sum(\mathbf{x})", "sum(x)"),
    (r"\operatorname{sum}(W)", "sum(W)"),
    (r"I \mathbf{x}", "x"),
    (r"I_n \mathbf{x}", "x"),
    (r"A^{-1} \mathbf{x}", "inv(A)@x"),
    (r"A^{-\top}", "inv(A).T"),
    (r"\operatorname{diag}(\mathbf{x}) A", "diag(x)@A"),
    (r"\mathrm{softmax}(\mathbf{y})", "softmax(y)"),
    (r"2 S \mathbf{x}", "2*S@x"),
    (r"2 \cdot S \cdot \mathbf{x}", "2*S@x"),
    (r"c \times \mathbf{x}", "c*x"),
    (r"(A + A^\top) \mathbf{x}", "(A + A.T)@x"),
    (r"\left[ A + A^\top \right] \mathbf{x}", "(A + A.T)@x"),
    (r"\langle \mathbf{x}, \mathbf{v} \rangle", "x.T@v"),
    (r"|\mathbf{x}|", "abs(x)"),
    (r"\left| |\mathbf{x}| - |\mathbf{v}| \right|", "abs(abs(x) - abs(v))"),
    (r"\sqrt{\mathbf{x} \odot \mathbf{x} + 1}", "sqrt(x*x + 1)"),
    (r"\frac{\mathbf{x}}{\mathbf{1}^\top \mathbf{x}}", "x/sum(x)"),
    (r"\mathbf{x} \oslash (\mathbf{x} + 1)", "x/(x + 1)"),
    (r"W_1 \mathbf{x}", "W1@x"),
    (r"W_{1} \mathbf{x}", "W1@x"),
    (r"W^{(1)} \mathbf{x}", "W1@x"),
    (r"\mathbf{x}_{\mathrm{out}} + \mathbf{x}_{out}", "2*x_out"),
    (r"\max(0, \mathbf{x})", "relu(x)"),
    (r"A^{\odot 2}", "A.*A"),
    (r"\mathbf{x}^2", "x*x"),
    (r"x^\top W^\top \mathbf{y} \,\cdot\, c", "c*y.T@W@x"),
    (r"(\mathbf{v}^\top \mathbf{v}) A", "(v.T@v)*A"),
]


@pytest.mark.parametrize(("latex", "text"), READINGS)
def test_a_student_formula_reads_as_meant(latex: str, text: str) -> None:
    read = mc.parse(latex, SHAPES)  # a backslash or brace: LaTeX
    assert mc.parse(latex, SHAPES, syntax="latex") is read
    expected = mc.parse(text, SHAPES)
    assert read.shape == expected.shape
    assert mc.equivalent(read, expected), (str(read), text)


# (a Hadamard power as mc.latex prints it or a student types it, the same in numpy syntax)
HADAMARD_POWERS = [
    (r"A^{\circ 2}", "A*A"),
    (r"A^{\circ -1}", "1/A"),
    (r"A^{\odot -1}", "1/A"),
    (r"A^{\circ c}", "A**c"),
    (r"A^{\circ \left(c + 1\right)}", "A**(c + 1)"),
    (r"\left(A^{-1}\right)^{\circ 2}", "inv(A)*inv(A)"),
    (r"\mathbf{x}^{\circ -1}", "1/x"),
    (r"\mathbf{x}^{\odot -1}", "1/x"),
    (r"2^{\mathbf{x}}", "2**x"),
]


@pytest.mark.parametrize(("latex", "text"), HADAMARD_POWERS)
def test_a_hadamard_power_reads_as_meant(latex: str, text: str) -> None:
    read = mc.parse(latex, SHAPES)
    expected = mc.parse(text, SHAPES, syntax="numpy")
    assert read.shape == expected.shape
    assert mc.equivalent(read, expected), (str(read), text)


@pytest.mark.parametrize(
    ("exponent", "text"),
    [("2", "2"), ("-1", "-1"), ("-2", "-2"), ("c", "c"), (r"\frac{1}{2}", "1/2")],
)
def test_circ_and_odot_powers_read_alike(exponent: str, text: str) -> None:
    """A^{\\circ k} (as mc.latex prints it) is A^{\\odot k}, the Hadamard power; A^{-1}
    stays the inverse."""
    circ = mc.parse(rf"A^{{\circ {exponent}}}", SHAPES)
    assert circ is mc.parse(rf"A^{{\odot {exponent}}}", SHAPES)
    assert mc.equivalent(circ, mc.parse(f"A**({text})", SHAPES, syntax="numpy"))
    assert mc.parse(r"A^{-1}", SHAPES) is mc.inv(mc.matrix("A", "n", "n"))


def test_names_greek_bold_and_conventions() -> None:
    delta = mc.parse(r"\boldsymbol{\delta}_2 + \delta_2", syntax="latex")
    assert set(mc.variables(delta)) == {"δ2"} and delta.is_vector
    eta = mc.parse(r"\eta \mathbf{x}", syntax="latex")
    assert mc.variables(eta)["η"].is_scalar
    theta = mc.parse(r"\boldsymbol{\theta} + \mathbf{b}", syntax="latex")
    assert mc.variables(theta)["θ"].is_vector and mc.variables(theta)["b"].is_vector
    plain = mc.parse(r"b + c", syntax="latex")  # a–g plain are scalars
    assert plain.is_scalar
    assert set(mc.variables(mc.parse(r"W x", syntax="latex"))) == {"W", "x"}
    assert set(mc.variables(mc.parse(r"\mathit{loss} + c", syntax="latex"))) == {"loss", "c"}
    identity_named = mc.parse(r"I \mathbf{x}", {"I": ("n", "n"), "x": ("n",)}, syntax="latex")
    assert "I" in mc.variables(identity_named)  # a declared I is a variable


@pytest.mark.parametrize(
    ("latex", "words", "position"),
    [
        (r"\input{/etc/passwd}", r"command \\input is not one the reader knows", 0),
        (r"\operatorname{tr} A S", r"write \\operatorname\{tr\}\(…\) with parentheses", 20),
        (r"A^2", "a power of a matrix", 1),
        (r"\frac{1}{2", "never closed", 8),
        (r"\sum_i x_i", "index sums are not read", 4),
        (r"\partial C", "only as the first step", 0),
        (r"I", "nothing in the formula fixes the size", 0),
        (r"x'", "a prime marks a function's derivative", 1),
        (r"\sigma", "needs an argument", 0),
        (r"\|x\|_1", "only the 2-norm", 7),
        (r"\sqrt[3]{x}", "only square roots", 5),
        (r"x + ", "ends too early", 4),
        (r"\mathbf{b} + \mathbf{x}", "written bold, as a vector, but it is declared a scalar", 0),
        (r"x \\ y", r"a line break", 2),
        ("\u03c3(x)", "only ASCII", 0),
        (r"x % comment", "has no place", 2),
        (r"\mathbf{x}^23", r"write \^\{23\}", 11),
        (r"\operatorname{ReLU}(x)", "unknown function 'ReLU'", 0),
        (r"\tanh^{-1}(c)", "could mean the inverse function", 5),
        (r"\delta^L", "an exponent must be a scalar", 6),
        (r"\frac{dC}{dx}", "stands only in a proof", 0),
        (r"\|W\|_2", "spectral norm", 0),
        (r"\log|W|", "of a matrix", 4),
        (r"\sigma(z)(1-\sigma(z))", "would have to be a vector of size 1", 9),
        (r"(x]", r"expected '\)'", 2),
        (r"x^T^T", "double superscript", 3),
        (r"\sigma " * 250 + "c", "nested too deeply", 700),
        ("1" * 9000, "too long", 0),
        (r"\cdot x", "needs something on its left", 0),
    ],
)
def test_unreadable_latex_says_where(latex: str, words: str, position: int) -> None:
    with pytest.raises(mc.ParseError, match=words) as caught:
        mc.parse(latex, {"b": ()}, syntax="latex")
    assert caught.value.position == position


HOSTILE = [
    r"\input{/etc/hostname}",
    r"\include{x}",
    r"\immediate\write18{rm -rf /}",
    r"\write18{ls}",
    r"\def\a{\a}\a",
    r"\let\x\relax",
    r"\catcode`\^=7",
    r"\csname x\endcsname",
    r"\expandafter\x",
    r"\newcommand{\x}{y}",
    r"\usepackage{shellesc}",
    "^^5cinput",
    "{" * 100_000 + "x" + "}" * 100_000,
    r"\left(" * 100_000 + "x" + r"\right)" * 100_000,
    "(" * 100_000 + "x" + ")" * 100_000,
    "x^{" * 50_000 + "2" + "}" * 50_000,
    r"\frac{" * 30_000 + "x",
    "-" * 100_000 + "x",
    "x + " * 250_000 + "x",  # 1 MB
    "{" * 3 + "x",
    "x}}}",
    "\0",
    "$x$",
    "#1",
    "x & y",
]


@pytest.mark.parametrize("latex", HOSTILE, ids=lambda t: repr(t[:24]))
def test_hostile_latex_is_refused_quickly(latex: str) -> None:
    start = time.perf_counter()
    with pytest.raises(mc.ParseError):
        mc.parse(latex, syntax="latex")
    assert time.perf_counter() - start < 2.0


def test_deep_but_reasonable_nesting_reads() -> None:
    deep = r"\left(" * 40 + r"\mathbf{x}" + r"\right)" * 40
    assert str(mc.parse(deep, {"x": ("n",)})) == "x"


@settings(max_examples=200)
@given(st.one_of(trees(), trees(shape=(n, 1), depth=4)), st.integers(0, 2**31))
def test_latex_reads_back_to_the_same_expression(e: mc.Expr, seed: int) -> None:
    """Every mc.latex(e) reads back (with e's declarations, and its shape for a 𝟏 whose
    size nothing else in it fixes) to an expression with e's shape and values."""
    source = mc.latex(e)
    back = read_latex(source, declarations(e), e.shape)
    assert back.shape == e.shape, source
    values = values_for(seed, (2, 3))
    with np.errstate(all="ignore"):
        a, b = np.asarray(mc.evaluate(back, values)), np.asarray(mc.evaluate(e, values))
    finite = np.isfinite(b)
    assert np.array_equal(np.isfinite(a), finite), source
    assert np.allclose(a[finite], b[finite], rtol=1e-9, atol=0), source


def _explicit_round_trips() -> list[mc.Expr]:
    m = mc.dims("m")
    a, y, A = mc.scalar("a"), mc.vector("y", m), mc.matrix("A", n, n)
    W_1, delta = mc.matrix("W_1", m, n), mc.vector("delta", m)
    return [
        mc.det(mc.eye(n) * a),
        mc.trace((mc.eye(n) * mc.sum(y)).T),
        mc.sum(mc.ones(m, n) * a, axis=1),
        mc.ones(n) * a,
        mc.abs(A) @ mc.ones(n),
        W_1.T @ delta,
        mc.sum(mc.ones(n, 1).T @ mc.ones(n, 1)) * a,
    ]


@pytest.mark.parametrize("e", _explicit_round_trips(), ids=str)
def test_latex_reads_back_where_sizes_and_names_are_not_implied(e: mc.Expr) -> None:
    """𝟏 and I print their sizes (𝟏_n, I_n); W_1 and delta read back as themselves."""
    back = read_latex(mc.latex(e), declarations(e))
    assert back.shape == e.shape and mc.variables(back).keys() == mc.variables(e).keys()
    assert mc.equivalent(back, e), mc.latex(e)
