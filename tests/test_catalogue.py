"""The catalogues are complete: every node type and every elementwise function
has each of its parts, and each part works.  A new entry that misses one fails
a test named after the part and the entry.

The finite-difference gradient, the sympy oracle, the compiled code, the
derivation and the pdflatex document of every catalogue function are checked
by the operation-table tests (``operation_specs.SPECS`` holds one spec per
catalogue entry, generated from it)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest
import sympy
from helpers import sampler_for
from operation_specs import SPECS
from oracle import SCALAR_FUNCTIONS

import matcalc as mc
from matcalc import codegen, evaluator, printing
from matcalc import expr as E
from matcalc.builder import CALLS
from matcalc.functions import CATALOGUE, FUNCTIONS
from matcalc.rules import RULES

LEAVES = (E.Variable, E.Const, E.Ones, E.Zero, E.Identity)
NODE_IDS = [t.__name__ for t in E.NODE_TYPES]
NAMES = [f.name for f in CATALOGUE]

n, m = mc.dims("n m")
x, y = mc.vector("x", n), mc.vector("y", n)
X, W = mc.matrix("X", n, n), mc.matrix("W", m, n)
SHAPES = {"x": ("n",), "y": ("n",), "X": ("n", "n"), "W": ("m", "n")}

# Every node type and a text the parser reads into it (None: no text form).
NODE_TEXTS: dict[type[E.Expr], str | None] = {
    E.Variable: "x", E.Const: "2", E.Ones: "ones(n)", E.Zero: "zeros(n)", E.Identity: "eye(n)",
    E.Neg: "-x", E.Add: "x + y", E.Sub: "x - y", E.Mul: "x * y", E.Div: "x / y",
    E.Pow: "x ** y", E.Maximum: "maximum(x, y)", E.Apply: "exp(x)", E.MatMul: "W @ x",
    E.Transpose: "x.T", E.Sum: "sum(x)", E.Trace: "trace(X)", E.Det: "det(X)",
    E.LogDet: "logdet(X)", E.Inv: "inv(X)", E.Diag: "diag(x)", E.DiagPart: "diag(X)",
    E.Norm: "norm(x)", E.Softmax: "softmax(x)", E.LogSumExp: "logsumexp(x)",
}  # fmt: skip


def _example(node_type: type[E.Expr]) -> E.Expr:
    """The first node of this type in the operation table."""
    for spec in SPECS:
        for node in E.postorder(spec.expr):
            if type(node) is node_type:
                return node
    raise AssertionError(f"no operation spec uses {node_type.__name__}")


# -- node types ------------------------------------------------------------------------------
@pytest.mark.parametrize("node_type", E.NODE_TYPES, ids=NODE_IDS)
def test_node_type_has_a_derivative_rule(node_type: type[E.Expr]) -> None:
    assert node_type in RULES, "no derivative rule in rules.RULES"
    if node_type not in LEAVES:
        doc = RULES[node_type].__doc__ or ""
        assert "∂" in doc or "d" in doc, "the rule's docstring states its identity"


@pytest.mark.parametrize("node_type", E.NODE_TYPES, ids=NODE_IDS)
def test_node_type_has_both_printers(node_type: type[E.Expr]) -> None:
    assert printing.show.dispatch(node_type) is not printing.show.dispatch(E.Expr)
    example = _example(node_type)
    assert mc.text(example) and mc.latex(example)
    assert mc.text(example) != mc.latex(example) or not example.args


@pytest.mark.parametrize("node_type", E.NODE_TYPES, ids=NODE_IDS)
def test_node_type_has_an_evaluator(node_type: type[E.Expr]) -> None:
    assert evaluator.numeric.dispatch(node_type) is not evaluator.numeric.dispatch(E.Expr)


@pytest.mark.parametrize("node_type", E.NODE_TYPES, ids=NODE_IDS)
def test_node_type_has_a_numeric_lowering(node_type: type[E.Expr]) -> None:
    assert codegen.lower_node.dispatch(node_type) is not codegen.lower_node.dispatch(E.Expr)


@pytest.mark.parametrize("node_type", E.NODE_TYPES, ids=NODE_IDS)
def test_node_type_has_a_parser_entry(node_type: type[E.Expr]) -> None:
    assert node_type in NODE_TEXTS, "say how the parser writes it (or None for no text form)"
    written = NODE_TEXTS[node_type]
    if written is not None:
        parsed = mc.parse(written, SHAPES)
        assert any(type(node) is node_type for node in E.postorder(parsed)), written


def test_every_node_type_is_in_the_operation_table() -> None:
    for node_type in E.NODE_TYPES:
        _example(node_type)


# -- the function catalogue --------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_function_has_a_constructor(name: str) -> None:
    constructor = getattr(mc, name, None)
    assert constructor is not None, f"mc.{name} is missing (constructors.py and __init__.py)"
    assert name in mc.__all__
    built = constructor(x)
    assert isinstance(built, E.Apply) and built.fn == name and built.shape == x.shape
    assert constructor.__doc__, "the constructor states its definition"


@pytest.mark.parametrize("name", NAMES)
def test_function_has_text_and_latex_names(name: str) -> None:
    entry = FUNCTIONS[name]
    assert entry.text and entry.latex.startswith("\\"), "a text name and a LaTeX command"
    applied = getattr(mc, name)(x)
    assert mc.text(applied) == entry.text_of("x")
    assert mc.latex(applied) == entry.latex_of(r"\mathbf{x}")
    if not entry.latex_form:  # |x| and √x have forms of their own
        assert entry.latex in mc.latex(applied)


@pytest.mark.parametrize("name", NAMES)
def test_function_lowering_agrees_with_its_scalar_form(name: str) -> None:
    """The evaluator's numpy and the catalogue's sympy form are the same function."""
    entry = FUNCTIONS[name]
    values = sampler_for(entry)(np.random.default_rng(1), (6, 1))
    numeric = mc.evaluate(getattr(mc, name)(x), {"x": values}).ravel()
    t = sympy.Symbol("t", real=True)
    scalar = sympy.lambdify(t, entry.scalar(t), modules=["numpy"])
    expected = np.array([float(scalar(v)) for v in values.ravel()])
    np.testing.assert_allclose(numeric, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_function_has_an_independent_oracle(name: str) -> None:
    """tests/oracle.py writes each function by hand, independently of the catalogue."""
    assert name in SCALAR_FUNCTIONS, f"tests/oracle.py has no scalar form of {name}"
    t = sympy.Symbol("t", real=True)
    entry = FUNCTIONS[name]
    for point in sampler_for(entry)(np.random.default_rng(2), (4, 1)).ravel():
        ours = float(entry.scalar(t).subs(t, float(point)))
        theirs = float(SCALAR_FUNCTIONS[name](t).subs(t, float(point)))
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_function_derivative_is_given_or_explicitly_zero(name: str) -> None:
    entry = FUNCTIONS[name]
    f = mc.sum(getattr(mc, name)(x))
    gradient = mc.grad(f, x)
    t = sympy.Symbol("t", real=True)
    expected_derivative = sympy.diff(entry.scalar(t), t)
    values = sampler_for(entry)(np.random.default_rng(3), (5, 1))
    got = np.asarray(mc.evaluate(gradient, {x: values}), dtype=float).ravel()
    want = [float(expected_derivative.subs(t, float(v)).doit()) for v in values.ravel()]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    if entry.derivative is None:
        assert np.all(got == 0)


@pytest.mark.parametrize("name", NAMES)
def test_function_kinks_are_where_it_or_its_derivative_jumps(name: str) -> None:
    """The catalogue's kinks (which check samples on both sides) are exactly the
    points of [−3, 3] where f or f′ is discontinuous."""
    entry = FUNCTIONS[name]
    t = sympy.Symbol("t", real=True)
    f = sympy.lambdify(t, entry.scalar(t), modules=["numpy"])
    d = 1e-5
    jumps = []
    for p in np.arange(-3.0, 3.01, 0.25):
        if not entry.in_domain(np.array([p - 2 * d, p + 2 * d])):
            continue
        value_jump = abs(f(p + d) - f(p - d))
        slope_jump = abs((f(p + 2 * d) - f(p + d)) - (f(p - d) - f(p - 2 * d))) / d
        if value_jump > 1e-3 or slope_jump > 1e-2:
            jumps.append(float(p))
    assert jumps == sorted(entry.kinks)


@pytest.mark.parametrize("name", NAMES)
def test_function_algebra_facts_agree_with_its_scalar_form(name: str) -> None:
    """f(−t) and f′(t) as functions of f(t), which the elementwise algebra uses."""
    entry = FUNCTIONS[name]
    t = sympy.Symbol("t", real=True)
    value = entry.scalar(t)
    for point in (-1.3, 0.4, 2.0):
        if entry.reflection is not None:
            got = float(entry.reflection(value).subs(t, point))
            assert got == pytest.approx(float(entry.scalar(-t).subs(t, point)), rel=1e-12)
        if entry.derivative_of_value is not None:
            got = float(entry.derivative_of_value(value).subs(t, point))
            assert got == pytest.approx(float(sympy.diff(value, t).subs(t, point)), rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_function_compiles(name: str) -> None:
    entry = FUNCTIONS[name]
    f = mc.sum(getattr(mc, name)(x))
    values = sampler_for(entry)(np.random.default_rng(4), (5, 1))
    fn = mc.compile(f, wrt=[x])
    value, (gradient,) = fn(x=values)
    assert value == pytest.approx(mc.evaluate(f, {x: values}), rel=1e-12)
    np.testing.assert_allclose(gradient, mc.evaluate(mc.grad(f, x), {x: values}), rtol=1e-12)
    assert np.asarray(gradient).dtype.kind == "f"


@pytest.mark.parametrize("name", NAMES)
def test_function_is_read_by_the_parser(name: str) -> None:
    entry = FUNCTIONS[name]
    for written in (entry.name, *entry.aliases):
        assert written in CALLS
        parsed = mc.parse(f"sum({written}(x))", {"x": ("n",)})
        assert any(isinstance(nd, E.Apply) and nd.fn == name for nd in E.postorder(parsed))


@pytest.mark.parametrize("name", NAMES)
def test_function_is_checked(name: str) -> None:
    """check accepts the true gradient and refuses its negation (domain and kinks read)."""
    f = mc.sum(getattr(mc, name)(x) * y)
    truth = mc.grad(f, x)
    assert mc.check(truth, f, x).ok
    if not mc.equivalent(truth, mc.zeros(n, 1)).ok:
        assert not mc.check(-truth, f, x).ok


@pytest.mark.parametrize("name", NAMES)
def test_function_derives_step_by_step(name: str) -> None:
    derivation = mc.derive(mc.sum(getattr(mc, name)(W @ x)), x)
    assert derivation.result is mc.grad(mc.sum(getattr(mc, name)(W @ x)), x)
    assert derivation.latex() and derivation.text()


@pytest.mark.parametrize("name", [f.name for f in CATALOGUE if f.named_derivative])
def test_a_named_derivative_prints_as_a_prime(name: str) -> None:
    entry = FUNCTIONS[name]
    gradient = mc.grad(mc.sum(getattr(mc, name)(x)), x)
    assert mc.text(gradient) == f"{entry.text}′(x)"
    assert mc.latex(gradient) == rf"{entry.latex}'\left(\mathbf{{x}}\right)"


# -- the import graph ----------------------------------------------------------------------------
PACKAGE = Path(mc.__file__).parent


def _imports(path: Path) -> tuple[set[str], list[str]]:
    """The package modules a module imports at its top level, and its imports
    inside functions (file:line)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                top.add(node.module.split(".")[0])
            else:
                top |= {alias.name for alias in node.names}
    inner = [
        f"{path.name}:{node.lineno}"
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    return top, inner


def test_no_function_local_imports_outside_the_command_line() -> None:
    """The command line imports its subcommands late, so `matcalc --help` starts fast."""
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name not in ("cli.py",):
            found += _imports(path)[1]
    assert not found, f"imports inside functions: {found}"


def test_the_import_graph_has_no_cycle() -> None:
    graph = {p.stem: _imports(p)[0] - {"__init__"} for p in PACKAGE.glob("*.py")}
    graph.pop("__init__")
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        if state.get(module) == 2:
            return
        assert state.get(module) != 1, f"import cycle: {' → '.join([*path, module])}"
        state[module] = 1
        for imported in sorted(graph.get(module, ())):
            visit(imported, [*path, module])
        state[module] = 2

    for module in sorted(graph):
        visit(module, [])


def test_every_module_is_documented() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), path.name


def test_public_api_names_exist() -> None:
    for name in (
        "dims vector matrix scalar sigmoid sum exp log tanh relu sin cos sqrt abs maximum trace "
        "det logdet inv diag norm dot outer softmax logsumexp ones zeros eye ShapeError variables "
        "grad jacobian hessian evaluate"
    ).split():
        assert hasattr(mc, name), name


def test_every_error_is_a_matcalc_error() -> None:
    from matcalc import errors

    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)]
    assert len(classes) >= 8
    assert all(issubclass(c, mc.MatcalcError) for c in classes)
