"""mc.parse: both syntaxes, shapes, errors with positions, hostile input, fuzzing."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcalc as mc


def shapes_of(e):
    return {k: mc.text_shape(v) for k, v in mc.variables(e).items()}


@pytest.mark.parametrize(
    "text,expected,shapes",
    [
        (
            "sum((sigmoid(W@x + b) - y)**2)/2",
            "sum((σ(W x + b) − y)²) / 2",
            {"W": "(m, n)", "x": "(n, 1)", "b": "(1, 1)", "y": "(m, 1)"},
        ),
        ("x.T@A@x", "xᵀ A x", {"x": "(n, 1)", "A": "(n, n)"}),
        ("trace(A@X@B)", "tr(A X B)", {"A": "(n, m)", "X": "(m, p)", "B": "(p, n)"}),
        ("log(det(X))", "log det(X)", {"X": "(n, n)"}),
        ("sum(X, axis=0)", "sum(X, axis=0)", {"X": "(n, m)"}),
        ("sum(X, 1)", "sum(X, axis=1)", {"X": "(n, m)"}),
        ("2.5e-3 * x + 1E2", "(1/400) x + 100", {"x": "(n, 1)"}),
        (
            "maximum(0, w.T@x + b)",
            "max(0, wᵀ x + b)",
            {"w": "(n, 1)", "x": "(n, 1)", "b": "(1, 1)"},
        ),
        ("softmax(z) - logsumexp(z)", "softmax(z) − logsumexp(z)", {"z": "(n, 1)"}),
        (
            "norm(x) + norm2(x) + tr(A) + trace(A)",
            "‖x‖ + ‖x‖ + tr(A) + tr(A)",
            {"x": "(n, 1)", "A": "(m, m)"},
        ),
        (
            "dot(u, v) * inv(A) + outer(u, v) + diag(v) + eye(n) + ones(n, n) + zeros(n, n)",
            None,
            {"u": "(n, 1)", "v": "(n, 1)", "A": "(n, n)"},
        ),
        (
            "exp(x) + log(x) + tanh(x) + relu(x) + sin(x) + cos(x) + sqrt(x) + abs(x)",
            None,
            {"x": "(n, 1)"},
        ),
        ("logdet(S) - diag(S).T @ u", None, {"S": "(n, n)", "u": "(n, 1)"}),
    ],  # fmt: skip
)
def test_numpy_syntax(text, expected, shapes) -> None:
    e = mc.parse(text, syntax="numpy")
    if expected is not None:
        assert str(e) == expected
    assert shapes_of(e) == shapes
    assert mc.parse(text) is e  # auto reads it the same way


@pytest.mark.parametrize(
    "matlab,numpy_",
    [
        ("x'*A*x", "x.T@A@x"),
        ("A'''", "A.T.T.T"),
        ("x .* y ./ z", "x * y / z"),
        ("x .^ 2", "x ** 2"),
        ("c^2 * A", "c**2 * A"),
        ("tr(A*X*B)", "trace(A@X@B)"),
        ("norm2(W*x - y)^2", "norm(W@x - y)**2"),
        ("exp(-y .* (X*w))", "exp(-y * (X@w))"),
    ],
)
def test_matlab_syntax_means_the_numpy_spelling(matlab, numpy_) -> None:
    assert mc.parse(matlab, syntax="matlab") is mc.parse(numpy_, syntax="numpy")
    try:
        auto = mc.parse(matlab)
    except mc.ParseError as error:  # no evidence, and the readings differ: refused
        assert "ambiguous" in str(error)
        assert not any(token in matlab for token in ("'", ".*", "./", ".^"))
    else:
        assert auto is mc.parse(numpy_)


def test_auto_syntax_takes_the_reading_the_shapes_allow() -> None:
    shapes = {"A": ("m", "n"), "B": ("n", "p")}
    assert str(mc.parse("A*B", shapes)) == "A B"  # A ⊙ B is a shape error, A B is not
    assert str(mc.parse("A*B", {"A": ("m", "n"), "B": ("m", "n")})) == "A ⊙ B"
    with pytest.raises(mc.ParseError, match="ambiguous") as caught:
        mc.parse("A*B")  # both readings fit: refused, never guessed
    assert caught.value.position == 1
    assert "A ⊙ B" in str(caught.value) and "giving A B." in str(caught.value)
    with pytest.raises(mc.ParseError, match="mixes MATLAB-like") as caught:
        mc.parse("x'@A")
    assert caught.value.position == 2


def test_shapes_from_declarations() -> None:
    e = mc.parse("W@x + b", {"W": ("m", "n"), "x": ("n",), "b": ("m", 1), "c": ()})
    assert shapes_of(e) == {"W": "(m, n)", "x": "(n, 1)", "b": "(m, 1)"}
    e = mc.parse("c * x", {"c": "scalar", "x": (3,)})
    assert shapes_of(e) == {"c": "(1, 1)", "x": "(3, 1)"}
    for bad in [("m n",), (0,), (-1, 2), (2.5,), ("n", "m", "k")]:
        with pytest.raises(mc.ShapeError):
            mc.parse("W", {"W": bad})


def test_inference_and_its_conflicts() -> None:
    e = mc.parse("x.T @ y")
    assert shapes_of(e) == {"x": "(n, 1)", "y": "(n, 1)"}
    with pytest.raises(mc.ShapeError) as caught:
        mc.parse("W@x + y", {"W": (2, 3), "y": (4,)})
    assert "2" in str(caught.value) and "4" in str(caught.value)
    with pytest.raises(mc.ShapeError, match="rows of x|declared"):
        mc.parse("A@x", {"A": (2, 3), "x": (4,)})
    assert mc.parse("a*x").shape == mc.parse("x").shape  # a-g are scalars


def test_parsed_formulas_differentiate() -> None:
    e = mc.parse("sum((sigmoid(W@x + b) - y)**2)/2", {"b": ("m",)})
    W = mc.variables(e)["W"]
    assert str(mc.grad(e, W)) == "((σ(W x + b) − y) ⊙ σ′(W x + b)) xᵀ"


@pytest.mark.parametrize(
    "text,message,position",
    [
        ("x +", "ends too early", 3),
        ("x + * y", "expected an operand", 4),
        ("foo(x)", "unknown function 'foo'", 0),
        ("x # comment", "no comments", 2),
        ("sum(x, axis=2)", "axis must be 0 or 1", 12),
        ("exp(x, y)", "exp takes 1 argument", 0),
        ("x.shape", "a '.' must start .T", 1),
        ("exp", "is a function", 0),
        ("ones(n, x.T)", "size of ones", 8),
        ("'x", "transpose ' must follow an operand", 0),
        ("x $ y", "'$' is not allowed", 2),
    ],
)
def test_parse_errors_give_the_position(text, message, position) -> None:
    with pytest.raises(mc.ParseError) as caught:
        mc.parse(text)
    error = caught.value
    assert message in str(error)
    assert error.position == position
    lines = str(error).splitlines()
    assert lines[1].strip() == text and lines[2].index("^") - 2 == position


HOSTILE = [
    "__import__('os').system('echo pwned')",
    "().__class__.__bases__",
    "lambda: 0",
    "[x for x in y]",
    "{x: 1 for x in y}",
    "(x for x in y)",
    "f'{x}'",
    "x.__class__",
    "2**10**10",
    "x ** (10 ** 5)",
    "(" * 10_000 + "x" + ")" * 10_000,
    "(" * 4_000 + "x" + ")" * 4_000,
    "x" * 1_000_000,
    "x\0 + 1",
    "\u0445 + 1",  # Cyrillic ha, looks like x
    "x + \u0391",  # Greek capital alpha, looks like A
    "open('/etc/passwd')",
    "exec('1')",
    "eval('1')",
    "x if y else z",
    "x[0]",
    "x, y",
    "x == y",
    "not x",
    "x; y",
    "'text'",
    "b'x'",
    "1j * x",
    "True * x",
    "None",
    "...",
    "sum(*x)",
    "sum(x, axis=y)",
    "x.T.__dict__",
    "globals()",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_is_rejected_quickly_and_cleanly(text) -> None:
    start = time.perf_counter()
    with pytest.raises((mc.ParseError, mc.ShapeError)):
        mc.parse(text)
    assert time.perf_counter() - start < 1.0


ALPHABET = "xyzAWbc()+-*/@^'.,T0123456789e _sumexptrlogdi=\"#[]{}:;\\"


def _outcome(text: str) -> None:
    try:
        result = mc.parse(text)
    except (mc.ParseError, mc.ShapeError):
        return
    assert isinstance(result, mc.Expr)


@settings(max_examples=300)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_fuzz_random_text_only_parses_or_raises_parse_and_shape_errors(text) -> None:
    _outcome(text)


VALID = ["sum((sigmoid(W@x + b) - y)**2)/2", "x'*A*x", "trace(A@X@B)", "log(det(X)) + norm2(x)"]


@settings(max_examples=300)
@given(
    st.sampled_from(VALID),
    st.lists(
        st.tuples(
            st.integers(0, 40),
            st.sampled_from(["del", "ins", "rep"]),
            st.sampled_from(list(ALPHABET)),
        ),
        max_size=4,
    ),  # fmt: skip
)
def test_fuzz_mutations_of_valid_formulas(text, edits) -> None:
    chars = list(text)
    for where, kind, char in edits:
        where = where % (len(chars) + 1)
        if kind == "del" and where < len(chars):
            del chars[where]
        elif kind == "ins":
            chars.insert(where, char)
        elif where < len(chars):
            chars[where] = char
    _outcome("".join(chars))
