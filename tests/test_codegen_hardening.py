"""Generated code treats names as data, stays flat at any depth, and computes
the stable forms exactly (issue 13: mc.compile and ``matcalc code``)."""

from __future__ import annotations

import ast
import keyword
import re
import subprocess
import sys
import time
import unicodedata
import warnings

import numpy as np
import pytest
import sympy
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

import matcalc as mc
from matcalc import codegen
from matcalc import expr as E
from matcalc.errors import MatcalcError

INJECTION = "[__import__('os').system('echo PWNED')+3][0]"
NO_PROPERTIES: frozenset[str] = frozenset()


def variable(name: str, rows: object = 1, cols: object = 1) -> E.Variable:
    """A variable of any name: the node itself, past the constructors' name rules."""
    kind = "scalar" if (rows, cols) == (1, 1) else "vector" if cols == 1 else "matrix"
    return E.Variable.make(name, rows, cols, kind, NO_PROPERTIES)


def dimension(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, integer=True, positive=True)


def script_error(code: str) -> float:
    """Run a standalone script's check in this process; its relative error."""
    namespace: dict[str, object] = {"__name__": "generated"}
    exec(compile(code, "<generated>", "exec"), namespace)  # noqa: S102 - the code under test
    return float(namespace["check_gradient"]())  # type: ignore[operator]


def run_script(code: str, tmp_path) -> str:
    script = tmp_path / "generated.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    return done.stdout + done.stderr


# -- 1. names are data ----------
def test_a_hostile_dimension_name_never_runs(tmp_path) -> None:
    """The dimension's name is Python that prints PWNED; it must never be code."""
    n = dimension(INJECTION)
    x = variable("x", n)
    f = E.Mul.make(E.Sum.make(E.Apply.make("sigmoid", x), None), E.Const.make(1 / n))
    fn = mc.compile(f)  # the mean of σ(x): reads n from x's shape as _d0
    assert "PWNED" not in fn.source and "__import__" not in fn.source
    assert fn(x=np.ones(3)) == pytest.approx(1 / (1 + np.exp(-1.0)))
    try:
        code = codegen.standalone_code(mc.sum(mc.sigmoid(x) * x), x)
    except MatcalcError:
        return  # refused before any code exists (the constructors' name check): also safe
    assert "__import__" not in code
    out = run_script(code, tmp_path)
    assert "PWNED" not in out
    error = float(re.search(r"gradient: ([0-9.e+-]+)", out).group(1))  # type: ignore[union-attr]
    assert error < 1e-6


def test_hostile_variable_names_never_run(tmp_path) -> None:
    n = mc.dims("n")
    x = variable("__import__('os').system('echo PWNED')", n)
    y = variable('"""\nimport os; os.system("echo PWNED")\n"""', n)
    code = codegen.standalone_code(mc.sum(mc.sigmoid(x) * y), x)
    out = run_script(code, tmp_path)
    assert "PWNED" not in out
    error = float(re.search(r"gradient: ([0-9.e+-]+)", out).group(1))  # type: ignore[union-attr]
    assert error < 1e-6
    # the names are in the script once each, as string literals, and bind by name
    namespace: dict[str, object] = {"__name__": "generated"}
    exec(compile(code, "<generated>", "exec"), namespace)  # noqa: S102
    assert namespace["ARGUMENT_NAMES"] == tuple(sorted([x.name, y.name]))
    by_name = namespace["f_and_gradient_by_name"]
    value, gradient = by_name(**{x.name: np.zeros((2, 1)), y.name: np.ones((2, 1))})  # type: ignore[operator]
    assert value.item() == 1.0 and gradient.tolist() == [[0.25], [0.25]]


# The script's own words (its helpers and locals before) and numpy's names.
SCRIPT_WORDS = [
    "value", "up", "down", "numeric", "index", "gradient", "rng", "numpy", "scipy", "step",
    "seed", "check_gradient", "f_and_gradient", "ARGUMENT_NAMES", "GRADIENT_OF", "scale",
    "_matcalc_rng", "_matcalc_x", "_v0", "_v1", "_d0", "_t0", "max", "print",
]  # fmt: skip


@pytest.mark.parametrize("name", SCRIPT_WORDS)
def test_the_scripts_check_is_right_whatever_the_variable_is_called(name) -> None:
    n = mc.dims("n")
    x, y = variable(name, n), mc.vector("y", n)
    for f, wrt in [(mc.sum(mc.sigmoid(x) * y), x), (mc.sum(mc.tanh(y) * x * x), y)]:
        assert script_error(codegen.standalone_code(f, wrt)) < 1e-6


@pytest.mark.parametrize("name", ["step", "seed", "numpy", "rng", "value", "index", "lambda"])
def test_the_scripts_check_is_right_whatever_the_dimension_is_called(name) -> None:
    n = dimension(name)
    x, W = variable("x", n), variable("W", 2, n)
    try:
        f = mc.sum(mc.sigmoid(W @ x) * mc.sum(x))
        code = codegen.standalone_code(f, x)
    except MatcalcError:
        assert keyword.iskeyword(name)  # `lambda` may be refused as a name; never a SyntaxError
        return
    assert script_error(code) < 1e-6


def test_a_fullwidth_twin_is_not_overwritten_by_a_temporary() -> None:
    """ｔ0 is t0 to Python's parser (NFKC); the first temporary was t0."""
    for name in ["ｔ0", "t0", "_t0", "_t1", "_v1", "_d0"]:
        t = variable(name)
        f = mc.exp(mc.sigmoid(t) * t) + t
        value, (gradient,) = mc.compile(f, wrt=[t])(**{name: 1.0})
        assert value == pytest.approx(mc.evaluate(f, {name: 1.0}), rel=1e-12)
        assert gradient[0, 0] == pytest.approx(mc.evaluate(mc.grad(f, t), {name: 1.0}), rel=1e-12)


def test_nfkc_twins_are_two_arguments() -> None:
    x, fullwidth_x = variable("x"), variable("ｘ")
    fn = mc.compile(x * fullwidth_x * fullwidth_x, wrt=[x, fullwidth_x])
    value, (dx, dfx) = fn(**{"x": 2.0, "ｘ": 3.0})
    assert (value, dx[0, 0], dfx[0, 0]) == (18.0, 9.0, 12.0)
    assert fn.arguments == ["x", "ｘ"] and fn.raw(np.full((1, 1), 2.0), np.full((1, 1), 3.0))


@pytest.mark.parametrize(
    "name", ["tanh", "exp", "det", "inv", "expit", "maximum", "heaviside", "numpy", "sum", "len"]
)
def test_a_variable_named_like_a_numpy_function(name) -> None:
    X = variable(name, 2, 2)
    f = mc.sum(mc.tanh(X)) + mc.det(X) + mc.sum(mc.exp(mc.inv(X)))
    value_x = np.array([[2.0, 0.5], [0.25, 1.5]])
    fn = mc.compile(f, wrt=[X])
    assert_only_internal_names(fn)
    value, (gradient,) = fn(**{name: value_x})
    assert value == pytest.approx(mc.evaluate(f, {name: value_x}), rel=1e-12)
    assert_close(gradient, mc.evaluate(mc.grad(f, X), {name: value_x}), rtol=1e-10)


_NAME_CHARACTERS = st.characters(categories=("Lu", "Ll", "Lo", "Nd"), exclude_characters="_")
TRICKY_NAMES = [
    "numpy", "rng", "value", "sum", "len", "print", "tanh", "exp", "expit", "maximum", "t0",
    "ｔ0", "ｘ", "x", "ｎｕｍｐｙ", "ｓｕｍ", "_t0", "_v0", "_d0", "lambda_", "µ", "μ", "ﬁ",
]  # fmt: skip
NAMES = st.one_of(
    st.sampled_from(TRICKY_NAMES),
    st.text(_NAME_CHARACTERS, min_size=1, max_size=5).filter(
        lambda s: s.isidentifier() and not keyword.iskeyword(unicodedata.normalize("NFKC", s))
    ),
)


def _variable_by_constructor(name: str, n: sympy.Symbol) -> E.Variable:
    """mc.vector when it takes the name (it may normalise it), else the bare node."""
    try:
        return mc.vector(name, n)
    except MatcalcError:
        return variable(name, n)


@settings(max_examples=40, deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=3, unique=True), st.integers(0, 2**31 - 1))
def test_any_names_compile_to_the_evaluators_numbers(names, seed) -> None:
    n = mc.dims("n")
    xs = list({v.name: v for v in (_variable_by_constructor(name, n) for name in names)}.values())
    f = mc.sum(mc.sigmoid(xs[0]) * xs[-1])
    for v in xs:
        f = f + mc.sum(mc.tanh(v) * v)
    rng = np.random.default_rng(seed)
    values = {v.name: rng.normal(size=(3, 1)) for v in xs}
    fn = mc.compile(f, wrt=xs)
    value, grads = fn(**values)
    assert value == pytest.approx(mc.evaluate(f, values), rel=1e-12, abs=1e-12)
    for v, g in zip(xs, grads, strict=True):
        assert_close(g, mc.evaluate(mc.grad(f, v), values), rtol=1e-10)
    assert_only_internal_names(fn)


def assert_only_internal_names(fn: codegen.CompiledFunction) -> None:
    """The code's parameters and assigned names are _v0, _t0, _d0, …; every other
    name it reads is one of numpy's functions from its namespace (never an argument)."""
    tree = ast.parse(fn.source)
    internal = re.compile(r"_[vtd][0-9]+")
    parameters = [a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)]
    assert all(internal.fullmatch(name) for name in parameters), parameters
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not internal.fullmatch(node.id):
            assert isinstance(node.ctx, ast.Load) and callable(fn.raw.__globals__[node.id])


# -- 2. flat code, bounded depth ----------
def _nested_sigmoids(depth: int) -> tuple[E.Variable, E.Expr]:
    z = mc.scalar("z")
    f: E.Expr = z
    for _ in range(depth):
        f = mc.sigmoid(f)
    return z, f


def _deepest_parentheses(source: str) -> int:
    deepest = 0
    for line in source.splitlines():
        depth = 0
        for char in line:
            depth += {"(": 1, ")": -1}.get(char, 0)
            deepest = max(deepest, depth)
    return deepest


@pytest.mark.parametrize("depth", [200, 300])
def test_deep_nesting_compiles_to_one_line_per_node(depth) -> None:
    z, f = _nested_sigmoids(depth)
    fn = mc.compile(f, wrt=[z])
    value, (gradient,) = fn(z=0.3)
    assert value == pytest.approx(mc.evaluate(f, {"z": 0.3}), rel=1e-12)
    expected = mc.evaluate(mc.grad(f, z), {"z": 0.3})  # a product of `depth` factors
    assert gradient[0, 0] == pytest.approx(expected, rel=1e-9, abs=1e-300)
    assert _deepest_parentheses(fn.source) <= 4


def test_a_thousand_nested_sigmoids_compile_and_run_in_seconds() -> None:
    start = time.perf_counter()
    z, f = _nested_sigmoids(1000)
    value, (gradient,) = mc.compile(f, wrt=[z])(z=0.3)
    assert time.perf_counter() - start < 10.0
    assert value == pytest.approx(mc.evaluate(f, {"z": 0.3}), rel=1e-12)
    assert np.isfinite(gradient).all()


# -- 3. numbers ----------
ARGUMENTS = [-1000.0, -745.0, -40.0, -37.0, -20.0, -1.0, 0.0, 1.0, 20.0, 37.0, 40.0, 1000.0]


def test_log_sigmoid_is_exact_at_any_argument() -> None:
    """log σ(t) = −softplus(−t), log(1 − σ(t)) = −softplus(t), derivatives σ(−t) and −σ(t)."""
    z = mc.scalar("z")
    log_sigma = mc.compile(mc.log(mc.sigmoid(z)), wrt=[z])
    log_one_minus = mc.compile(mc.log(1 - mc.sigmoid(z)), wrt=[z])
    for t in ARGUMENTS:
        value, (gradient,) = log_sigma(z=t)
        assert value == -np.logaddexp(0.0, -t)
        assert gradient[0, 0] == pytest.approx(expit(-t), rel=1e-14, abs=1e-300)
        value, (gradient,) = log_one_minus(z=t)
        assert value == -np.logaddexp(0.0, t)
        assert gradient[0, 0] == pytest.approx(-expit(t), rel=1e-14, abs=1e-300)
    assert log_sigma(z=-37.0)[0] == -37.0 and log_sigma(z=-40.0)[0] == -40.0


def test_log_sigmoid_is_lowered_stably_even_unsimplified() -> None:
    """codegen's own lowering of log σ(t), as the simplifier might not hand it over."""
    x = mc.vector("x", 3)
    for raw_f, truth in [
        (E.Apply.make("log", E.Apply.make("sigmoid", x)), lambda t: -np.logaddexp(0.0, -t)),
        (
            E.Apply.make(
                "log", E.Sub.make(E.Const.make(sympy.Integer(1)), E.Apply.make("sigmoid", x))
            ),
            lambda t: -np.logaddexp(0.0, t),
        ),
    ]:
        function, source, _ = codegen._generate([raw_f], {"x": x}, qualified=False)
        assert "expit" not in source and "logaddexp" in source
        t = np.array([[-800.0], [-37.0], [40.0]])
        (value,) = function(t)
        np.testing.assert_array_equal(value, truth(t))


def test_nan_in_nan_out_and_float_results() -> None:
    """relu, |x|, max and step of NaN are NaN, and so are the gradients of the first
    three; step′ is a symbolic zero (0, as mc.evaluate says).  Every result is a
    float array, relu′ included."""
    x, y = mc.vector("x", 3), mc.vector("y", 3)
    with_nan = {"x": np.array([np.nan, 1.0, -1.0]), "y": np.array([2.0, 2.0, 2.0])}
    for f in [mc.relu(x), mc.abs(x), mc.maximum(x, y), mc.maximum(y, x), mc.step(x)]:
        cost = mc.sum(f * y)
        fn = mc.compile(cost, wrt=[x])
        value, (gradient,) = fn(**with_nan)
        assert np.isnan(value)
        expected = mc.evaluate(mc.grad(cost, x), with_nan)
        np.testing.assert_array_equal(gradient, expected)
        if f.fn != "step" if isinstance(f, E.Apply) else True:
            assert np.isnan(gradient[0, 0])
        out = mc.compile(f)(**{k: v for k, v in with_nan.items() if k in mc.variables(f)})
        assert np.isnan(out[0, 0]) and out.dtype == np.float64
        arrays = [with_nan[name].reshape(3, 1) for name in fn.arguments]
        for result in fn.raw(*arrays):
            assert np.asarray(result).dtype == np.float64


def test_complex_values_are_refused_by_name() -> None:
    x = mc.vector("x", 2)
    fn = mc.compile(mc.sum(x * x), wrt=[x])
    with pytest.raises(mc.EvaluationError, match="value of x is complex"):
        fn(x=np.array([1 + 2j, 1.0]))
    with pytest.raises(mc.EvaluationError, match="value of x is complex"):
        fn(x=[1.0, 1 + 0j])  # even with no imaginary part: the type says complex


def test_large_sigmoids_are_exact_quiet_and_keep_nan() -> None:
    """σ of a large array goes by 1/(1 + e^{−z}) in place: e^{−z} overflows to inf at
    z = −1000, which gives the right 0 and no warning; NaN stays NaN in the value and
    in its own entry of the gradient."""
    n = mc.dims("n")
    x, y = mc.vector("x", n), mc.vector("y", n)
    f = mc.sum(mc.sigmoid(x) * y)
    fn = mc.compile(f, wrt=[x])
    xs = np.linspace(-1000.0, 1000.0, 1 << 15).reshape(-1, 1)
    xs[7, 0] = np.nan
    ys = np.full_like(xs, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, (gradient,) = fn(x=xs, y=ys)
        output = mc.compile(mc.sigmoid(x))(x=xs)
    s = expit(xs)
    assert np.isnan(value) and np.isnan(gradient[7, 0]) and np.isnan(output[7, 0])
    finite = ~np.isnan(xs)
    np.testing.assert_allclose(output[finite], s[finite], rtol=4e-16, atol=0)
    np.testing.assert_allclose(gradient[finite], (0.5 * s * (1 - s))[finite], rtol=1e-15)
    assert output[0, 0] == 0.0 and output[-1, 0] == 1.0
