"""What ``mc.parse`` makes of text as people type it: a table of formulas with the
reading each one is meant to have.

Each row is either a ``Reading`` -- the formula the user meant, written here as a
numpy function of the variables' values -- or a ``Refused`` -- a text with two
readings that both fit, which must be refused naming both, with the caret at the
ambiguous operator.  A reading is checked with numbers matcalc did not produce:
the value of the parsed expression against the numpy function, and for a scalar
formula the gradient ``mc.grad`` derives from the parsed text against central
finite differences of the numpy function.  Comparing values as well means a row
can never pass with the other reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import matcalc as mc

Values = dict[str, object]
# a value spec: a shape, or (shape, kind) with kind "pos" (entries in [0.5, 2]),
# "spd" (symmetric positive definite) or "inv" (well-conditioned, invertible)
Spec = tuple | tuple[tuple, str]


@dataclass(frozen=True)
class Reading:
    text: str
    values: dict[str, Spec]  # every variable the reading has, with concrete sizes
    f: Callable[[Values], object]  # the intended reading, in numpy
    wrt: str | None  # differentiate by; None for a non-scalar (values compared)
    shapes: dict | None = None  # passed to mc.parse
    syntax: str = "auto"
    other: Callable[[Values], object] | None = None  # the reading that must not be taken
    id: str = ""

    def __str__(self) -> str:
        return self.id or self.text


@dataclass(frozen=True)
class Refused:
    text: str
    elementwise: str  # the numpy reading as printed in the message
    matrix: str  # the MATLAB reading as printed in the message
    position: int  # of the ambiguous operator
    shapes: dict | None = None
    id: str = ""

    def __str__(self) -> str:
        return self.id or self.text


def sigmoid(t):
    return 1 / (1 + np.exp(-t))


def softmax(t):
    e = np.exp(t - np.max(t))
    return e / e.sum()


def tr(m):
    return float(np.trace(m))


inv = np.linalg.inv
det = np.linalg.det

V3, V4 = (3,), (4,)
M33, M34, M43 = (3, 3), (3, 4), (4, 3)
POS3 = ((3,), "pos")
SPD3 = ((3, 3), "spd")
INV3 = ((3, 3), "inv")

READINGS: list[Reading] = [
    # -- MatrixCalculus.org, typed as its users type it -------------------------------------
    Reading("x'*A*x", {"x": V3, "A": M33}, lambda v: v["x"] @ v["A"] @ v["x"], "x"),
    Reading(
        "x'*A*x", {"x": V3, "A": M33}, lambda v: v["x"] @ v["A"] @ v["x"], "A", id="x'*A*x wrt A"
    ),
    Reading("log(det(X))", {"X": SPD3}, lambda v: np.log(det(v["X"])), "X"),
    Reading(
        "norm2(A*x - y)^2",
        {"A": M43, "x": V3, "y": V4},
        lambda v: np.sum((v["A"] @ v["x"] - v["y"]) ** 2),
        "x",
    ),
    Reading(
        "x'*A^2*x",
        {"x": V3, "A": M33},
        lambda v: v["x"] @ v["A"] @ v["A"] @ v["x"],
        "A",
        other=lambda v: v["x"] @ (v["A"] ** 2) @ v["x"],
    ),
    Reading(
        "x'*A^-1*x",
        {"x": V3, "A": INV3},
        lambda v: v["x"] @ inv(v["A"]) @ v["x"],
        "A",
        other=lambda v: v["x"] @ (1 / v["A"]) @ v["x"],
    ),
    Reading(
        "x'*inv(A)*y", {"x": V3, "A": INV3, "y": V3}, lambda v: v["x"] @ inv(v["A"]) @ v["y"], "A"
    ),
    Reading("x'*A^0*x", {"x": V3}, lambda v: v["x"] @ v["x"], "x"),  # A^0 = I: no A left
    Reading("sum(exp(X*w))", {"X": M43, "w": V3}, lambda v: np.sum(np.exp(v["X"] @ v["w"])), "w"),
    Reading(
        "y'*log(softmax(W*x))",
        {"y": V4, "W": M43, "x": V3},
        lambda v: v["y"] @ np.log(softmax(v["W"] @ v["x"])),
        "W",
    ),
    Reading(
        "exp(-y.*(X*w))",
        {"y": V4, "X": M43, "w": V3},
        lambda v: np.exp(-v["y"] * (v["X"] @ v["w"])),
        None,
    ),
    Reading(
        "sum(log(1 + exp(-y.*(X*w))))",
        {"y": V4, "X": M43, "w": V3},
        lambda v: np.sum(np.log1p(np.exp(-v["y"] * (v["X"] @ v["w"])))),
        "w",
    ),
    Reading(
        "A^-1*x",  # (1 ⊘ A) ⊙ x would need x broadcast: only the matrix reading fits
        {"A": INV3, "x": V3},
        lambda v: inv(v["A"]) @ v["x"],
        None,
    ),
    Reading("inv(A)*x", {"A": INV3, "x": V3}, lambda v: inv(v["A"]) @ v["x"], None),
    Reading("tr(X'*A*X)", {"X": M34, "A": M33}, lambda v: tr(v["X"].T @ v["A"] @ v["X"]), "X"),
    Reading("tr(X*X')", {"X": M34}, lambda v: tr(v["X"] @ v["X"].T), "X"),
    Reading(
        "(x-y)'*A*(x-y)",
        {"x": V3, "y": V3, "A": M33},
        lambda v: (v["x"] - v["y"]) @ v["A"] @ (v["x"] - v["y"]),
        "y",
    ),
    Reading(
        "w'*X'*X*w",
        {"w": V3, "X": M43},
        lambda v: v["w"] @ v["X"].T @ v["X"] @ v["w"],
        "w",
    ),
    Reading("log(sum(exp(x)))", {"x": V3}, lambda v: np.log(np.sum(np.exp(v["x"]))), "x"),
    Reading("sqrt(x'*x)", {"x": V3}, lambda v: np.sqrt(v["x"] @ v["x"]), "x"),
    Reading("a*x'*x", {"a": (), "x": V3}, lambda v: v["a"] * (v["x"] @ v["x"]), "x"),
    Reading("sum(x^2)", {"x": V3}, lambda v: np.sum(v["x"] ** 2), "x"),  # x^2: elementwise
    Reading("x^2", {"x": V3}, lambda v: v["x"] ** 2, None),
    Reading(
        "norm2(X*w-y)^2 + lambda*norm2(w)^2",
        {"X": M43, "w": V3, "y": V4, "lambda": ()},
        lambda v: np.sum((v["X"] @ v["w"] - v["y"]) ** 2) + v["lambda"] * np.sum(v["w"] ** 2),
        "w",
        shapes={"lambda": ()},
        id="ridge, lambda declared scalar",
    ),
    Reading(
        "sum(tanh(W*x + b))",
        {"W": M43, "x": V3, "b": ()},
        lambda v: np.sum(np.tanh(v["W"] @ v["x"] + v["b"])),
        "W",
    ),
    Reading("A*x", {"A": M43, "x": V3}, lambda v: v["A"] @ v["x"], None),
    Reading("A*x - y", {"A": M43, "x": V3, "y": V4}, lambda v: v["A"] @ v["x"] - v["y"], None),
    Reading(
        "A*B*x",  # (A ⊙ B) ⊙ x would need x broadcast, as A*x would
        {"A": M33, "B": M33, "x": V3},
        lambda v: v["A"] @ v["B"] @ v["x"],
        None,
        other=lambda v: (v["A"] * v["B"]) * v["x"][:, None],
    ),
    Reading("x*y", {"x": V3, "y": V3}, lambda v: v["x"] * v["y"], None),  # x ⊙ y
    Reading("sum(x*y)", {"x": V3, "y": V3}, lambda v: np.sum(v["x"] * v["y"]), "x"),
    Reading("x/y", {"x": V3, "y": POS3}, lambda v: v["x"] / v["y"], None),
    Reading("sum(x./y)", {"x": V3, "y": POS3}, lambda v: np.sum(v["x"] / v["y"]), "y"),
    # -- norm1, vector(c), matrix(c) --------------------------------------------------------
    Reading("norm1(x)", {"x": V3}, lambda v: np.sum(np.abs(v["x"])), "x"),
    Reading(
        "norm1(A*x - y)",
        {"A": M43, "x": V3, "y": V4},
        lambda v: np.sum(np.abs(v["A"] @ v["x"] - v["y"])),
        "x",
    ),
    Reading("x'*vector(1)", {"x": V3}, lambda v: np.sum(v["x"]), "x"),
    Reading("x + vector(3)", {"x": V3}, lambda v: v["x"] + 3, None),
    Reading("sum(log(x + vector(1)))", {"x": POS3}, lambda v: np.sum(np.log(v["x"] + 1)), "x"),
    Reading("sum(X.*matrix(1))", {"X": M34}, lambda v: np.sum(v["X"]), "X"),
    Reading(
        "x'*matrix(2)*y",
        {"x": V3, "y": V4},
        lambda v: 2 * np.sum(v["x"]) * np.sum(v["y"]),
        "x",
    ),
    # -- Python keywords as names -----------------------------------------------------------
    Reading("sum(lambda.*x)", {"lambda": V3, "x": V3}, lambda v: v["lambda"] @ v["x"], "lambda"),
    Reading("x'*lambda", {"x": V3, "lambda": V3}, lambda v: v["x"] @ v["lambda"], "x"),
    Reading(
        "yield'*A*x", {"yield": V3, "A": M33, "x": V3}, lambda v: v["yield"] @ v["A"] @ v["x"], "A"
    ),
    # -- several lines ----------------------------------------------------------------------
    Reading(
        "x'*A*x\n  + y'*x",
        {"x": V3, "A": M33, "y": V3},
        lambda v: v["x"] @ v["A"] @ v["x"] + v["y"] @ v["x"],
        "x",
        id="two lines, MATLAB-like",
    ),
    Reading(
        "sum((sigmoid(W@x + b)\n     - y)**2)/2",
        {"W": M43, "x": V3, "b": (), "y": V4},
        lambda v: np.sum((sigmoid(v["W"] @ v["x"] + v["b"]) - v["y"]) ** 2) / 2,
        "W",
        id="two lines, numpy-like",
    ),
    # -- numpy-like -------------------------------------------------------------------------
    Reading(
        "sum((sigmoid(W@x + b) - y)**2)/2",
        {"W": M43, "x": V3, "b": (), "y": V4},
        lambda v: np.sum((sigmoid(v["W"] @ v["x"] + v["b"]) - v["y"]) ** 2) / 2,
        "W",
    ),
    Reading(
        "sum((sigmoid(W@x + b) - y)**2)/2",
        {"W": M43, "x": V3, "b": (), "y": V4},
        lambda v: np.sum((sigmoid(v["W"] @ v["x"] + v["b"]) - v["y"]) ** 2) / 2,
        "b",
        id="quadratic cost wrt b",
    ),
    Reading("x.T@A@x", {"x": V3, "A": M33}, lambda v: v["x"] @ v["A"] @ v["x"], "x"),
    Reading("np.exp(x)", {"x": V3}, lambda v: np.exp(v["x"]), None),
    Reading("np.sum(x**2)", {"x": V3}, lambda v: np.sum(v["x"] ** 2), "x"),
    Reading(
        "np.linalg.norm(A@x - y)**2",
        {"A": M43, "x": V3, "y": V4},
        lambda v: np.sum((v["A"] @ v["x"] - v["y"]) ** 2),
        "x",
    ),
    Reading(
        "np.trace(X.T@A@X)", {"X": M34, "A": M33}, lambda v: tr(v["X"].T @ v["A"] @ v["X"]), "A"
    ),
    Reading("numpy.log(numpy.linalg.det(X))", {"X": SPD3}, lambda v: np.log(det(v["X"])), "X"),
    Reading(
        "np.sum(np.log(1 + np.exp(-y*(X@w))))",
        {"y": V4, "X": M43, "w": V3},
        lambda v: np.sum(np.log1p(np.exp(-v["y"] * (v["X"] @ v["w"])))),
        "w",
    ),
    Reading("np.linalg.inv(A)@x", {"A": INV3, "x": V3}, lambda v: inv(v["A"]) @ v["x"], None),
    Reading("np.dot(x, y)", {"x": V3, "y": V3}, lambda v: v["x"] @ v["y"], "y"),
    Reading("sum(A**2)", {"A": M34}, lambda v: np.sum(v["A"] ** 2), "A"),
    # -- settled by declared shapes ---------------------------------------------------------
    Reading(
        "A*B",
        {"A": M34, "B": (4, 2)},
        lambda v: v["A"] @ v["B"],
        None,
        shapes={"A": ("m", "n"), "B": ("n", "p")},
        id="A*B with A (m,n), B (n,p)",
    ),
    Reading(
        "A*B",
        {"A": M34, "B": M34},
        lambda v: v["A"] * v["B"],
        None,
        shapes={"A": ("m", "n"), "B": ("m", "n")},
        id="A*B with A, B (m,n)",
    ),
    Reading(
        "sum(A*B)",
        {"A": M34, "B": (4, 2)},
        lambda v: np.sum(v["A"] @ v["B"]),
        "A",
        shapes={"A": (3, 4), "B": (4, 2)},
        id="sum(A*B) with A (3,4), B (4,2)",
    ),
    Reading(
        "sum(A*B)",
        {"A": M34, "B": M34},
        lambda v: np.sum(v["A"] * v["B"]),
        "A",
        shapes={"A": (3, 4), "B": (3, 4)},
        id="sum(A*B) with A, B (3,4)",
    ),
    Reading(
        "tr(X*Y)",
        {"X": M34, "Y": M43},
        lambda v: tr(v["X"] @ v["Y"]),
        "X",
        shapes={"X": (3, 4), "Y": (4, 3)},
        id="tr(X*Y) with X (3,4), Y (4,3)",
    ),
    Reading(
        "A^2",
        {"A": M34},
        lambda v: v["A"] ** 2,
        None,
        shapes={"A": (3, 4)},
        id="A^2 of a non-square A: elementwise",
    ),
    Reading(
        "A/B",
        {"A": M34, "B": ((4, 4), "inv")},
        lambda v: v["A"] @ inv(v["B"]),
        None,
        shapes={"A": (3, 4), "B": (4, 4)},
        id="A/B with B (4,4): right division",
    ),
    Reading(
        "A/B",
        {"A": M34, "B": ((3, 4), "pos")},
        lambda v: v["A"] / v["B"],
        None,
        shapes={"A": (3, 4), "B": (3, 4)},
        id="A/B with A, B (3,4): elementwise",
    ),
    Reading(
        "sum(W*x)",
        {"W": M34, "x": V4},
        lambda v: np.sum(v["W"] @ v["x"]),
        "W",
        shapes={"W": (3, 4), "x": (4,)},
        id="sum(W*x) with W (3,4), x (4,)",
    ),
    Reading(
        "x'*A*x",
        {"x": V3, "A": SPD3},
        lambda v: v["x"] @ v["A"] @ v["x"],
        "x",
        shapes={"A": ("n", "n", "symmetric")},
        id="x'*A*x with A symmetric",
    ),
]

REFUSED: list[Refused] = [
    Refused("tr(inv(X)*A)", "tr(X⁻¹ ⊙ A)", "tr(X⁻¹ A)", 9),
    Refused("A*B", "A ⊙ B", "A B", 1),
    Refused("tr(X*X)", "tr(X ⊙ X)", "tr(X X)", 4),
    Refused("sum(A*B)", "sum(A ⊙ B)", "sum(A B)", 5),
    Refused("tr(A*X)", "tr(A ⊙ X)", "tr(A X)", 4),
    Refused("trace(A*B*C)", "tr(A ⊙ B ⊙ C)", "tr(A B C)", 7),
    Refused("A/B", "A / B", "A B⁻¹", 1),
    Refused("A^2", "A∘²", "A A", 1),
    Refused("tr(X^-1)", "tr(1 ⊘ X)", "tr(X⁻¹)", 4),
    Refused("det(X^2)", "det(X∘²)", "det(X X)", 5),
    Refused(
        "A*B",
        "A ⊙ B",
        "A B",
        1,
        shapes={"A": (3, 3), "B": (3, 3)},
        id="A*B with A, B (3,3)",
    ),
    Refused(
        "tr(inv(X)*A)",
        "tr(X⁻¹ ⊙ A)",
        "tr(X⁻¹ A)",
        9,
        shapes={"X": ("n", "n"), "A": ("n", "n")},
        id="tr(inv(X)*A) with X, A (n,n)",
    ),
    Refused("sum(X*Y)\n  + 1", "sum(X ⊙ Y)", "sum(X Y)", 5, id="ambiguous on two lines"),
]

# the ambiguous texts, read in the syntax given
EXPLICIT: list[Reading] = [
    Reading("tr(X*X)", {"X": M33}, lambda v: tr(v["X"] @ v["X"]), "X", syntax="matlab"),
    Reading("tr(X*X)", {"X": M33}, lambda v: np.sum(np.diag(v["X"]) ** 2), "X", syntax="numpy"),
    Reading("A*B", {"A": M33, "B": M33}, lambda v: v["A"] @ v["B"], None, syntax="matlab"),
    Reading("A*B", {"A": M33, "B": M33}, lambda v: v["A"] * v["B"], None, syntax="numpy"),
    Reading(
        "sum(A*B)", {"A": M33, "B": M33}, lambda v: np.sum(v["A"] @ v["B"]), "B", syntax="matlab"
    ),
    Reading(
        "sum(A*B)", {"A": M33, "B": M33}, lambda v: np.sum(v["A"] * v["B"]), "B", syntax="numpy"
    ),
    Reading(
        "tr(inv(X)*A)",
        {"X": INV3, "A": M33},
        lambda v: tr(inv(v["X"]) @ v["A"]),
        "X",
        syntax="matlab",
    ),
    Reading(
        "tr(inv(X)*A)",
        {"X": INV3, "A": M33},
        lambda v: tr(inv(v["X"]) * v["A"]),
        "X",
        syntax="numpy",
    ),
    Reading("A^2", {"A": M33}, lambda v: v["A"] @ v["A"], None, syntax="matlab"),
    Reading("A^-1", {"A": INV3}, lambda v: inv(v["A"]), None, syntax="matlab"),
    Reading("x'*A^0*x", {"x": V3}, lambda v: v["x"] @ v["x"], "x", syntax="matlab"),
    Reading("x^2", {"x": V3}, lambda v: v["x"] ** 2, None, syntax="matlab"),  # elementwise
    Reading(
        "A/B",
        {"A": M33, "B": INV3},
        lambda v: v["A"] @ inv(v["B"]),
        None,
        syntax="matlab",
    ),
    Reading(
        "A/B",
        {"A": M33, "B": ((3, 3), "pos")},
        lambda v: v["A"] / v["B"],
        None,
        syntax="numpy",
    ),
    Reading("x*y", {"x": V3, "y": V3}, lambda v: v["x"] * v["y"], None, syntax="numpy"),
    Reading("A*x", {"A": M33, "x": V3}, lambda v: v["A"] * v["x"][:, None], None, syntax="numpy"),
]


# -- numbers ---------------------------------------------------------------------------------
def sample(specs: dict[str, Spec], seed: int) -> Values:
    rng = np.random.default_rng(seed)
    out: Values = {}
    for name, spec in specs.items():
        shape, kind = spec if len(spec) == 2 and isinstance(spec[1], str) else (spec, "any")
        if kind == "pos":
            value = rng.uniform(0.5, 2.0, shape)
        elif kind == "spd":
            m = rng.normal(size=shape)
            value = m @ m.T + shape[0] * np.eye(shape[0])
        elif kind == "inv":
            value = rng.normal(size=shape) * 0.5 + 2 * np.eye(shape[0])
        else:
            value = rng.normal(size=shape)
        out[name] = float(value) if shape == () else value
    return out


def central_differences(f: Callable[[Values], object], values: Values, name: str) -> np.ndarray:
    base = np.asarray(values[name], dtype=float)
    grad = np.zeros(base.shape)
    for index in np.ndindex(base.shape):
        h = 1e-6 * max(1.0, abs(float(base[index])))
        moved = []
        for sign in (1, -1):
            point = base.copy()
            point[index] += sign * h
            moved.append(float(f({**values, name: point if base.shape else float(point)})))
        grad[index] = (moved[0] - moved[1]) / (2 * h)
    return grad


def same(got, expected, what: str, rtol: float = 1e-5) -> None:
    got, expected = np.asarray(got, dtype=float).squeeze(), np.asarray(expected).squeeze()
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, expected {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-7 * scale, err_msg=what)


def check_reading(row: Reading) -> None:
    e = mc.parse(row.text, row.shapes, syntax=row.syntax)
    variables = mc.variables(e)
    assert set(variables) == set(row.values), (
        f"{row.text!r} was read as {e} with variables {sorted(variables)}, "
        f"expected {sorted(row.values)}"
    )
    for seed in (0, 1):
        values = sample(row.values, seed)
        meant = row.f(values)
        # keyed by variable: a gradient that no longer mentions x takes sizes from x's value
        by_variable = {variables[name]: value for name, value in values.items()}
        if row.other is not None:  # the row tells the two readings apart
            assert not np.allclose(np.asarray(row.other(values)).squeeze(), meant)
        same(mc.evaluate(e, by_variable), meant, f"the value of {row.text!r} read as {e}")
        if row.wrt is None:
            assert not e.is_scalar or np.ndim(meant) == 0
            continue
        assert e.is_scalar, f"{row.text!r} read as {e}, of shape {mc.text_shape(e)}"
        g = mc.grad(e, variables[row.wrt])
        same(
            mc.evaluate(g, by_variable),
            central_differences(row.f, values, row.wrt),
            f"∂/∂{row.wrt} of {row.text!r} (read as {e}) = {g}",
        )


def test_the_table_is_large_enough():
    assert len(READINGS) + len(REFUSED) >= 45
    assert len({(r.text, str(r.shapes), r.wrt) for r in READINGS}) == len(READINGS)


@pytest.mark.parametrize("row", READINGS, ids=str)
def test_reading(row: Reading):
    check_reading(row)


@pytest.mark.parametrize("row", REFUSED, ids=str)
def test_ambiguous_text_is_refused_naming_both_readings(row: Refused):
    with pytest.raises(mc.ParseError) as caught:
        mc.parse(row.text, row.shapes)
    error = caught.value
    message = error.message
    assert "ambiguous" in message, message
    assert f"giving {row.elementwise}" in message, message
    assert f"giving {row.matrix}" in message, message
    assert message.index(f"giving {row.elementwise}") < message.index(f"giving {row.matrix}")
    assert error.position == row.position, (error.position, message)
    assert row.text[row.position] in "*/^"
    assert "syntax='matlab'" in message and "syntax='numpy'" in message


@pytest.mark.parametrize("row", EXPLICIT, ids=lambda r: f"{r.text} [{r.syntax}]")
def test_explicit_syntax_gives_its_reading(row: Reading):
    check_reading(row)


def test_explicit_syntax_rows_cover_the_refused_texts():
    refused = {r.text for r in REFUSED}
    for syntax in ("matlab", "numpy"):
        assert len({r.text for r in EXPLICIT if r.syntax == syntax} & refused) >= 3


# -- refusals that are not ambiguities -------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("x'*A@x", 4, "mixes"),
        ("x.T*A.*x", 5, "mixes"),
        ("x'*x; y'*y", 4, "one formula"),
        ("x'*x # the energy", 5, "comment"),
        ("True*x", 0, "True"),
    ],
)
def test_refused_text(text: str, position: int, words: str):
    with pytest.raises(mc.ParseError) as caught:
        mc.parse(text)
    assert words in caught.value.message
    assert caught.value.position == position, (caught.value.position, caught.value.message)


def test_a_name_forced_to_size_one_is_refused():
    with pytest.raises(mc.ParseError) as caught:
        mc.parse("x@y")
    assert "size 1" in caught.value.message and "y" in caught.value.message


def test_quotient_of_vectors_refused_in_matlab_syntax_at_the_slash():
    with pytest.raises(mc.ParseError) as caught:
        mc.parse("x/y", syntax="matlab")
    assert "./" in caught.value.message  # the fix: the elementwise quotient
    assert caught.value.position == 1, caught.value.position  # the caret under the /
