"""mc.parse: both syntaxes, shapes, errors with positions, hostile input, fuzzing."""

from __future__ import annotations

import time

import numpy as np
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
        ("sum(X.T, 1)", "sum(Xᵀ, axis=1)", {"X": "(n, m)"}),
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


# -- issue 14: what the user meant, in the user's words ----------
@pytest.mark.parametrize(
    "text,words,position",
    [
        ("2x + 1", "a number directly followed by a name: write 2*x", 0),
        ("x'", None, None),  # a transpose, fine
        ("x + 'y", "transpose ' must follow an operand", 4),
        ("x.TAx", "a '.' must start .T", 1),
        ("sum(x", "never closed", 3),
        ("x)", "closes nothing", 1),
        ("x y", "two operands with no operator between them", 2),
        ("(x)(y)", "two operands with no operator between them", 3),
        ("x + True", "True is not allowed", 4),
        ("x ; y", "one formula at a time", 2),
        ("2^3^2", "a^b^c is read (a^b)^c in MATLAB", 3),
        ("x'@A", "mixes MATLAB-like", 2),
        ("A^c*x'", "must be an integer", 0),
    ],
)
def test_errors_say_what_is_wrong_in_the_users_words(text, words, position) -> None:
    if words is None:
        mc.parse(text)
        return
    with pytest.raises((mc.ParseError, mc.ShapeError)) as caught:
        mc.parse(text)
    message = str(caught.value)
    assert words in message
    for jargon in ("literal", "invalid syntax", "EOF", "BitXor", "Subscript", "token"):
        assert jargon not in message
    assert caught.value.position == position


def test_python_syntax_errors_are_refused_in_words_for_each_syntax() -> None:
    with pytest.raises(mc.ParseError, match=r"in numpy syntax the power is \*\*"):
        mc.parse("x^2", syntax="numpy")
    with pytest.raises(mc.ParseError, match="in numpy syntax the transpose is .T"):
        mc.parse("x'", syntax="numpy")
    with pytest.raises(mc.ParseError, match="in MATLAB syntax the matrix product is \\*"):
        mc.parse("A@x", syntax="matlab")
    with pytest.raises(mc.ParseError, match="in MATLAB syntax the transpose is '"):
        mc.parse("x.T", syntax="matlab")


def test_matlab_powers_and_right_division() -> None:
    shapes = {"A": (3, 3), "B": (3, 3), "x": (3,)}
    A, B, x = (mc.parse(n, shapes) for n in ("A", "B", "x"))
    assert mc.parse("A^2", shapes, "matlab") is A @ A
    assert mc.parse("A^3*x", shapes, "matlab") is A @ A @ A @ x
    assert mc.parse("A^-1*x", shapes, "matlab") is mc.inv(A) @ x
    assert mc.parse("A^0", shapes, "matlab") is mc.eye(3)
    assert mc.parse("A.^2", shapes, "matlab") is A**2
    assert mc.parse("x^2", shapes, "matlab") is x**2  # a vector: only elementwise fits
    assert mc.parse("A/B", shapes, "matlab") is A @ mc.inv(B)
    assert mc.parse("A./B", shapes, "matlab") is A / B
    assert mc.parse("x'*A^2*x", shapes) is x.T @ (A @ A) @ x  # ' decides: MATLAB
    with pytest.raises(mc.ShapeError, match="must be square"):
        mc.parse("A^2", {"A": (2, 3)}, "matlab")
    with pytest.raises(mc.ParseError, match="at most A\\^32"):
        mc.parse("A^33", shapes, "matlab")
    with pytest.raises(mc.ParseError, match="write ./ for the elementwise quotient"):
        mc.parse("x/x", shapes, "matlab")
    assert mc.parse("A^2", {"A": (2, 3)}) is mc.parse("A", {"A": (2, 3)}) ** 2  # shapes settle


def test_auto_reads_where_the_shapes_settle_it_and_refuses_otherwise() -> None:
    settled = {
        "A*x": "A x",  # elementwise would need broadcasting
        "x*y": "x ⊙ y",  # two vectors have no matrix product
        "2*A*x + c*x": "2 A x + c x",
        "norm2(A*x - y)": "‖A x − y‖",
        "x/y": "x / y",
    }
    for text, printed in settled.items():
        assert str(mc.parse(text)) == printed, text
    for text, operator in {"A*B": "*", "tr(X*X)": "*", "A^2": "^", "A/B": "/"}.items():
        with pytest.raises(mc.ParseError, match="ambiguous") as caught:
            mc.parse(text)
        assert text[caught.value.position] == operator
        assert "syntax='matlab'" in str(caught.value)


def test_what_matrixcalculus_org_users_type_is_read() -> None:
    shapes = {"A": (3, 4), "x": (4,), "X": (3, 3)}
    x = mc.parse("x", shapes)
    assert mc.parse("x'*vector(1)", shapes) is x.T @ mc.ones(4)
    assert mc.parse("sum(matrix(2).*A)", shapes) is mc.sum(
        2 * mc.ones(3, 4) * mc.parse("A", shapes)
    )
    assert mc.parse("norm1(x)", shapes) is mc.sum(mc.abs(x))
    assert mc.parse("np.exp(x) + numpy.sum(x) + np.linalg.norm(x)", shapes) is mc.parse(
        "exp(x) + sum(x) + norm(x)", shapes
    )
    assert mc.parse("np.linalg.inv(X)@A", shapes) is mc.inv(mc.parse("X", shapes)) @ mc.parse(
        "A", shapes
    )
    assert mc.parse("\n(x'*\n  x)\n", shapes) is x.T @ x  # over several lines
    assert mc.parse("sum(lambda.*x)", {**shapes, "lambda": (4,)}) is mc.sum(
        mc.vector("lambda", 4) * x
    )
    with pytest.raises(mc.ParseError, match="takes a number"):
        mc.parse("vector(x) + x")
    with pytest.raises(mc.ParseError, match="fixes the size"):
        mc.parse("vector(1)")


def test_a_name_forced_to_size_1_is_refused_with_the_convention() -> None:
    with pytest.raises(mc.ParseError) as caught:
        mc.parse("x@y")
    message = str(caught.value)
    assert "y would have to be a vector of size 1" in message
    assert "starts with a lower-case letter from h to z" in message
    assert "For the inner product of two vectors write x.T@y" in message
    assert caught.value.position == 1  # the product that fixed it
    assert str(mc.parse("x@y", {"y": (1,)})) == "x y"  # declared: meant
    shapes = {"W": (2, 3), "b": (4,)}
    with pytest.raises(mc.ShapeError, match="the declared rows of W.*the declared rows of b"):
        mc.parse("W@x + b", shapes)


@pytest.mark.parametrize(
    "text,words,position",
    [
        ("x^T*A*x", "^T is not a transpose in text: write x'", 2),
        ("inf*x", "inf is not a finite number", 0),
        ("x'*x/0", "division by zero", 4),
        ("x/(1-1)", "division by zero", 1),
        ("x/(2*0)*3", "division by zero", 1),
        ("Tr(A)", "did you mean tr?", 0),
        ("sigmod(x)", "did you mean sigmoid?", 0),
        ("max(x)", "maximum(a, b) is the elementwise maximum", 0),
        ("mean(x)", "write sum(x)/n", 0),
        ("x.sum()", "methods are not read: write sum(x", 1),
        ("norm(X,'fro')", "norm(X) is the Frobenius norm", 7),
        ("f = x'*A*x", "a formula, not an equation", 2),
        ("1_000*x", "write numbers in decimal", 0),
        ("x[0]", "indexing x[…] is not read", 0),
        ("sum(X, 1)", "ambiguous", 7),
        ("tr(x)", "x would have to be a vector of size 1 for tr", 0),
    ],
)
def test_what_other_tools_accept_is_answered_with_the_fix(text, words, position) -> None:
    with pytest.raises(mc.ParseError) as caught:
        mc.parse(text)
    assert words in str(caught.value)
    assert caught.value.position == position


def test_constants_and_the_evidence_of_a_name() -> None:
    x = mc.vector("x", 3)
    shapes = {"x": (3,), "A": (3, 3), "X": (3, 3), "W": (3, 3), "Y": (3, 3)}
    assert str(mc.parse("pi*x'*x", shapes)) == "π xᵀ x"
    f = mc.parse("np.e**(x.T@x)", shapes)
    assert np.isclose(mc.evaluate(f, {"x": np.array([0.5, 0.0, 0.5])}), np.exp(0.5))
    assert "e" not in mc.variables(f)
    assert mc.parse("pi*x", {"pi": (), "x": (3,)}) is mc.scalar("pi") * x  # declared: a variable
    # MatrixCalculus.org's functions are MATLAB evidence, np. prefixes numpy evidence
    assert str(mc.parse("norm2(W*X - Y)^2", shapes)) == "‖W X − Y‖_F²"
    assert str(mc.parse("np.trace(X * X)", shapes)) == "tr(X ⊙ X)"
    # MATLAB counts dimensions from 1: sum(X, 1) sums each column
    X = mc.parse("X", shapes)
    assert mc.parse("sum(X, 1)", shapes, "matlab") is mc.sum(X, axis=0)
    assert mc.parse("sum(X, 2)", shapes, "matlab") is mc.sum(X, axis=1)
    with pytest.raises(mc.ParseError, match="sum\\(X, 1\\) sums each column"):
        mc.parse("sum(X, 0)", shapes, "matlab")


def test_an_operator_after_a_bracket_is_read_as_typed() -> None:
    shapes = {"A": (3, 3), "B": (3, 3), "C": (3, 3), "x": (3,)}
    A, B, C, x = (mc.parse(n, shapes) for n in "ABCx")
    assert mc.parse("(A+B)^2", shapes, "matlab") is (A + B) @ (A + B)
    assert mc.parse("x'*(A+B)^2*x", shapes) is x.T @ ((A + B) @ (A + B)) @ x
    assert mc.parse("(A)/B", shapes, "matlab") is A @ mc.inv(B)
    assert mc.parse("(A+B)*x", shapes) is (A + B) @ x
    with pytest.raises(mc.ParseError, match="ambiguous") as caught:
        mc.parse("tr((A+B)*C)", shapes)
    assert "tr((A+B)*C)"[caught.value.position] == "*"
    for text in ("A^n", "A^0.5"):  # MATLAB's matrix power needs an integer: say so
        with pytest.raises(mc.ParseError, match="k must be an integer"):
            mc.parse(text)
    with pytest.raises(mc.ParseError, match="np.x is not a numpy function"):
        mc.parse("np.x + x")
    with pytest.raises(mc.ParseError, match="division by zero"):
        mc.parse("0^-1 * x")
