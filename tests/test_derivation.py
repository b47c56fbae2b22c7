"""Derivations: golden texts of the lecture's derivations, every step checked
numerically, layouts, and every display form."""

from __future__ import annotations

import os
from pathlib import Path

import lectures
import numpy as np
import pytest
from helpers import assert_close, keyed, numeric_jacobian
from operation_specs import SPECS

import matcalc as mc
from matcalc import expr as E
from matcalc.derivation import VOCABULARY, Formula, Partial, Product, Total

GOLDEN = Path(__file__).parent / "golden"
CASES = {}
for build in (lectures.neuron, lectures.one_layer, lectures.network):
    derivations, values = build()
    for key, derivation in derivations.items():
        CASES[key] = (derivation, values)
LECTURE_CASES = {}  # detail="lecture": every step checked numerically the same way
for build in (lectures.neuron, lectures.one_layer, lectures.network):
    derivations, values = build(detail="lecture")
    for key, derivation in derivations.items():
        LECTURE_CASES[f"{key}, lecture"] = (derivation, values)


def piece_expr(piece):
    """The expression a formula piece stands for, or None for a symbol."""
    if isinstance(piece, Formula):
        return piece.expr
    if isinstance(piece, Product | Total):
        parts = [
            piece_expr(p) for p in (piece.factors if isinstance(piece, Product) else piece.terms)
        ]
        if any(p is None for p in parts):
            return None
        combine = E.matmul if isinstance(piece, Product) else (lambda u, v: u + v)
        out = parts[0]
        for p in parts[1:]:
            out = combine(out, p)
        return out
    return None


@pytest.mark.parametrize("key", list(CASES))
def test_golden_text(key) -> None:
    derivation, _ = CASES[key]
    path = GOLDEN / (key.replace(" ", "_") + ".txt")
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(derivation.text() + "\n", encoding="utf-8")
    assert derivation.text() + "\n" == path.read_text(encoding="utf-8")


def numeric_partial(num, den, values):
    """∂num/∂den by central differences, den held as a free input: the numbers
    a step ∂num/∂den claims, computed without the engine."""
    probe = mc.matrix("probe_for_step", *den.shape)
    inner = E.substitute(num, den, probe)
    point = np.atleast_2d(np.asarray(mc.evaluate(den, values), dtype=float))
    if den.is_column:
        point = point.reshape(-1, 1)
    # one row per entry of num, one column per entry of den
    return numeric_jacobian(inner, probe.name, {**values, probe.name: point})


@pytest.mark.parametrize("key", [*CASES, *LECTURE_CASES])
def test_every_step_holds_numerically(key) -> None:
    """Each formula of a step ∂u/∂v = ... equals central differences of u in v,
    with v held as an input; the result is exactly what mc.grad gives."""
    derivation, values = {**CASES, **LECTURE_CASES}[key]
    f = derivation.function
    by_variable = keyed(f, values)
    checked = 0
    for step in derivation.steps:
        assert step.rule in VOCABULARY
        lhs = step.pieces[0]
        if not isinstance(lhs, Partial):
            continue
        num, den = derivation.nodes[lhs.num.text], derivation.nodes[lhs.den.text]
        expected = numeric_partial(num, den, by_variable)
        for piece in step.pieces[1:]:
            expr = piece_expr(piece)
            if expr is None:
                continue
            got = np.atleast_2d(np.asarray(mc.evaluate(expr, by_variable), dtype=float))
            if num.is_scalar:  # a gradient or a row: compare entry by entry in den's order
                got = (
                    got.T.reshape(-1)
                    if got.shape[0] == 1 and not den.is_scalar and den.cols == 1
                    else got.reshape(-1)
                )
                assert_close(got, expected.reshape(-1), rtol=1e-5, what=step.text())
            else:
                assert_close(got.reshape(expected.shape), expected, rtol=1e-5, what=step.text())
            checked += 1
    assert checked >= 3
    variables = mc.variables(f)
    results = derivation.result if isinstance(derivation.result, tuple) else (derivation.result,)
    names = [s.pieces[0].den.text for s in derivation.steps if "result" in s.rule + s.note]
    assert len(names) == len(results)
    for name, result in zip(names, results, strict=True):
        assert result is mc.grad(f, variables[name])


def test_one_layer_reads_like_the_lecture() -> None:
    text = CASES["one layer"][0].text()
    for line in [
        "z = W x + b",
        "a = σ(z)",
        "r = a − y",
        "∂a/∂z = diag(σ′(z))",
        "∂C/∂z = ∂C/∂a ∂a/∂z = rᵀ diag(σ′(z))",
        "∂C/∂z = (r ⊙ σ′(z))ᵀ =: δᵀ",
        "∂C/∂W = δ xᵀ",
        "∂C/∂b = δ",
    ]:
        assert line in text, line


def test_network_gives_nielsens_four_equations_reusing_delta() -> None:
    text = CASES["3-layer network"][0].text()
    assert "∂C/∂z3 = (r ⊙ σ′(z3))ᵀ =: δ3ᵀ" in text  # BP1, with ∇ₐC = r = a3 − y
    assert "∂C/∂z2 = ((W3ᵀ δ3) ⊙ σ′(z2))ᵀ =: δ2ᵀ" in text  # BP2
    assert "∂C/∂z1 = ((W2ᵀ δ2) ⊙ σ′(z1))ᵀ =: δ1ᵀ" in text
    for layer, previous in ((1, "x"), (2, "a1"), (3, "a2")):
        assert f"∂C/∂b{layer} = δ{layer}" in text  # BP3
        assert f"∂C/∂W{layer} = δ{layer} {previous}ᵀ" in text  # BP4
    # δ is derived once per layer: C is not differentiated again for each layer.
    assert text.count("=: δ") == 3
    assert text.count("∂C/∂r ∂r/∂a3") == 1


def test_denominator_layout_says_so_and_transposes() -> None:
    n, m = mc.dims("n m")
    x, W = mc.vector("x", n), mc.matrix("W", m, n)
    numerator = mc.derive(mc.sigmoid(W @ x), x, name="F")
    denominator = mc.derive(mc.sigmoid(W @ x), x, name="F", layout="denominator")
    assert "numerator layout" in numerator.text() and "denominator layout" in denominator.text()
    assert str(numerator.result) == "diag(σ′(W x)) W"
    assert str(denominator.result) == "Wᵀ diag(σ′(W x))"
    assert numerator.result is mc.jacobian(mc.sigmoid(W @ x), x)
    gradient = mc.derive(mc.sum(mc.sigmoid(W @ x)), x, layout="denominator")
    assert gradient.result is mc.grad(mc.sum(mc.sigmoid(W @ x)), x)
    with pytest.raises(mc.DerivativeError, match="layout must be"):
        mc.derive(mc.sum(x), x, layout="sideways")


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_derivation_for_every_operation(spec) -> None:
    f = spec.scalar
    variables = sorted(mc.variables(spec.expr))
    derivation = mc.derive(f, [mc.variables(f)[v] for v in variables])
    results = derivation.result if isinstance(derivation.result, tuple) else (derivation.result,)
    for name, result in zip(variables, results, strict=True):
        assert result is mc.grad(f, mc.variables(f)[name])
    assert all(step.rule in VOCABULARY for step in derivation.steps)
    assert derivation.latex().count("&") >= len(derivation.steps)


def test_display_forms() -> None:
    derivation, _ = CASES["one layer"]
    latex = derivation._repr_latex_()
    assert latex.startswith("\\begin{align*}") and "\\odot" in latex
    assert "\\frac{\\partial C}{\\partial W}" in latex
    assert "\\sigma'" in latex and "\\operatorname{diag}" in latex
    markdown = derivation.markdown()
    assert markdown.startswith("**∂C/∂W, ∂C/∂b**") and "$$\n\\begin{aligned}" in markdown
    assert str(derivation) == derivation.text()
    assert derivation.steps[0].rule == "layout"
    x = mc.vector("x", 3)
    assert x._repr_latex_() == "$\\displaystyle \\mathbf{x}$"


def test_derive_of_the_variable_itself_is_the_identity() -> None:
    x = mc.vector("x", 3)
    derivation = mc.derive(x, x)
    assert derivation.result is mc.eye(3)
    assert "f = x" in derivation.text() and "x = x" not in derivation.text()


def _differential_cases():
    n = 3
    X, A, B, C, Y = (mc.matrix(name, n, n) for name in "XABCY")
    x = mc.vector("x", n)
    return {
        "tr(A X B Xᵀ C X)": (mc.trace(A @ X @ B @ X.T @ C @ X), X),
        "log det(Y Yᵀ + I/2)": (mc.logdet(Y @ Y.T + mc.eye(n) / 2), Y),
        "xᵀ A⁻¹ x": (x.T @ mc.inv(A) @ x, x),
        "det X": (mc.det(X), X),
        "tr(X⁻¹ A)": (mc.trace(mc.inv(X) @ A), X),
        "‖A X − B‖": (mc.norm(A @ X - B), X),
        "sum(X⁻¹)": (mc.sum(mc.inv(X)), X),
        "(xᵀ A x)²": ((x.T @ A @ x) ** 2, x),
        "xᵀ A x / xᵀ x": ((x.T @ A @ x) / (x.T @ x), x),
        "log det X + tr(A X)": (mc.log(mc.det(X)) + mc.trace(A @ X), X),
    }


@pytest.mark.parametrize("key", list(_differential_cases()))
def test_differential_steps_hold_numerically(key) -> None:
    """Every line of a derivation by differentials, checked by numbers it did not make:
    df lines against the directional derivative (f(X + h dX) − f(X − h dX)) / 2h, the
    ∂f/∂X lines against central differences of f entry by entry."""
    f, x = _differential_cases()[key]
    derivation = mc.derive(f, x)
    rules = [step.rule for step in derivation.steps]
    assert "differential" in rules and "identification" in rules, derivation.text()
    rng = np.random.default_rng(7)
    values = {}
    for name, var in mc.variables(f).items():
        values[name] = rng.normal(size=var.shape) + (3 * np.eye(3) if var.kind == "matrix" else 0)
    direction = rng.normal(size=x.shape)
    dx = derivation.nodes["d" + x.name]

    def f_at(point):
        return float(np.squeeze(mc.evaluate(f, {**values, x.name: point})))

    h = 1e-6
    directional = (f_at(values[x.name] + h * direction) - f_at(values[x.name] - h * direction)) / (
        2 * h
    )
    numeric_gradient = np.zeros(x.shape)
    for index in np.ndindex(*x.shape):
        step = np.zeros(x.shape)
        step[index] = h
        numeric_gradient[index] = (f_at(values[x.name] + step) - f_at(values[x.name] - step)) / (
            2 * h
        )
    checked = 0
    for step in derivation.steps:
        if step.rule in ("definition", "stable form"):
            continue
        for piece in step.pieces[1:]:
            if not isinstance(piece, Formula):
                continue
            got = np.asarray(mc.evaluate(piece.expr, {**values, dx.name: direction}), dtype=float)
            if step.rule in ("differential", "cyclic trace"):
                assert np.isclose(float(np.squeeze(got)), directional, rtol=1e-5), step.text()
            elif step.rule == "identification" and x.kind != "matrix":  # the row ∂f/∂x
                assert_close(got.reshape(-1), numeric_gradient.reshape(-1), rtol=1e-5)
            else:
                assert_close(got.reshape(x.shape), numeric_gradient, rtol=1e-5, what=step.text())
            checked += 1
    assert checked >= 3
    assert derivation.result is mc.grad(f, x) or mc.equivalent(derivation.result, mc.grad(f, x))


def test_an_unused_variable_gets_a_zero_gradient_said_so() -> None:
    x, y, s = mc.vector("x", 3), mc.vector("y", 3), mc.scalar("s")
    derivation = mc.derive(mc.sum(y), x)
    assert derivation.result is mc.zeros(3) or str(derivation.result) == "0"
    assert "f does not depend on x" in derivation.text()
    zero = mc.derive(s - s, s)
    assert zero.steps[-1].formula() == "∂f/∂s = 0"  # not "∂f/∂s = f" (f = 0 is that node)
    W, b = mc.matrix("W", 2, 3), mc.vector("b", 2)
    both = mc.derive(mc.sum(W @ x), [W, b])
    assert "f does not depend on b" in both.text()


def test_the_layout_switch_is_a_step_of_its_own() -> None:
    derivation = CASES["one layer"][0]
    lines = derivation.text().splitlines()
    row = next(i for i, line in enumerate(lines) if line.strip().endswith("∂C/∂b = δᵀ"))
    assert lines[row + 1].split()[0] == "layout" and "∂C/∂b = δ " in lines[row + 1] + " "
    assert "transposed" in lines[row + 1]


def test_lecture_detail_applies_one_rule_per_step() -> None:
    W, x, b, y = (
        mc.matrix("W", "m", "n"),
        mc.vector("x", "n"),
        mc.vector("b", "m"),
        mc.vector("y", "m"),
    )
    C = mc.sum((mc.sigmoid(W @ x + b) - y) ** 2) / 2
    compact = mc.derive(C, [W, b], name="C")
    lecture = mc.derive(C, [W, b], name="C", detail="lecture")
    assert len(lecture.steps) > len(compact.steps)
    assert not any(step.note.startswith("with ") for step in lecture.steps)  # one rule each
    text = lecture.text()
    for line in ["u1 = W x", "z = u1 + b", "∂C/∂u3 = 1/2", "∂u3/∂u2 = 𝟏ᵀ", "=: δᵀ"]:
        assert line in text, line
    assert lecture.result == compact.result
    with pytest.raises(mc.DerivativeError, match="detail must be"):
        mc.derive(C, W, detail="verbose")


def test_a_networks_lecture_derivation_labels_nielsens_equations() -> None:
    net = mc.nn.Network([784, 30, 10])
    derivation = net.derivation(detail="lecture")
    labelled = {step.label: step.formula() for step in derivation.steps if step.label}
    assert set(labelled) == {"BP1", "BP2", "BP3", "BP4"}
    assert labelled["BP1"].endswith("=: δ2") and "σ′(z2)" in labelled["BP1"]
    assert labelled["BP2"] == "∂C/∂z1 = (W2ᵀ δ2) ⊙ σ′(z1) =: δ1"
    text = derivation.text()
    assert "u1 = W1 X" in text and "∂C/∂u1 = δ1" in text  # every operation, one rule each
    assert net.derivation() is not derivation and net.derivation().result == derivation.result


def test_differentials_in_denominator_layout_and_a_name_taken() -> None:
    x, A = mc.vector("x", 3), mc.matrix("A", 3, 3)
    derivation = mc.derive(x.T @ mc.inv(A) @ x, x, layout="denominator")
    identification = next(s for s in derivation.steps if s.rule == "identification")
    assert identification.pieces[-1].expr.shape == (3, 1)  # a column: one row per entry of x
    X, dX = mc.matrix("X", 3, 3), mc.matrix("dX", 3, 3)
    taken = mc.derive(mc.trace(X @ dX), X)
    assert "ddX" in taken.nodes and taken.result is mc.grad(mc.trace(X @ dX), X)
    assert "tr(X ddX)" not in taken.text() and "tr(ddX dX)" in taken.text()
