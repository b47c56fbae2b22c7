"""Numeric code through sympy's ``lambdify``: ``mc.compile(f, wrt=[...])``.

Each matcalc node is lowered to a sympy function application over symbols
that stand for arrays (so sympy never reorders a matrix product), and a
NumPy printer that knows every node prints it: ``@`` for matrix products,
ufuncs for elementwise functions (from the catalogue; σ is scipy's expit), ``.sum(axis,
keepdims=True)`` for sums, trace, det, logdet, inv, and broadcasting for
ones vectors and diag(v) products, which are never materialised.  The
common subexpressions are the expression DAG's shared nodes (interning makes
them the same object), handed to lambdify as its ``cse``, so the forward
pass's z and σ(z) are computed once and reused by the backward pass, one
line per intermediate.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from functools import singledispatch
from typing import Any

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from . import expr as E
from . import simplifier as s
from .dims import format_shape
from .engine import check_variable, grad
from .errors import EvaluationError, ShapeError
from .evaluator import bind_dims, fit_array
from .functions import FUNCTIONS


# -- sympy stand-ins for matcalc operations ----------
class ArrayOp(sympy.Function):
    """An operation on arrays; sympy treats it as an opaque function."""

    is_commutative = False


class ElementwiseBase(ArrayOp):
    """A catalogue function f applied entry by entry; printed from its code template.

    (sympy's printer skips the base classes of a Function subclass when it looks
    for a ``_print_`` method, except those whose name ends in "Base".)"""

    nargs = 1
    function: str = ""


def _op(name: str, arity: int) -> type[ArrayOp]:
    return type(name, (ArrayOp,), {"nargs": arity})


OPS = {
    name: _op(name, arity)
    for name, arity in [
        ("mc_add", 2), ("mc_sub", 2), ("mc_mul", 2), ("mc_div", 2), ("mc_pow", 2),
        ("mc_maximum", 2), ("mc_neg", 1), ("mc_matmul", 2), ("mc_transpose", 1),
        ("mc_sum", 1), ("mc_sum0", 1), ("mc_sum1", 1), ("mc_trace", 1), ("mc_det", 1),
        ("mc_logdet", 1), ("mc_inv", 1), ("mc_diag", 1), ("mc_diagpart", 1), ("mc_norm", 1),
        ("mc_ones", 2), ("mc_zeros", 2), ("mc_eye", 1),
        ("mc_dscale", 2), ("mc_scaled", 2), ("mc_rowbroadcast", 2), ("mc_colbroadcast", 2),
        ("mc_dim", 2), ("mc_colmax", 1), ("mc_full", 3),
    ]
}  # fmt: skip
# One sympy function per catalogue function, named after it (its code is the entry's).
ELEMENTWISE: dict[str, type[ElementwiseBase]] = {
    name: type(f"mc_fn_{name}", (ElementwiseBase,), {"function": name}) for name in FUNCTIONS
}
_MODULE_NAME = re.compile(r"(?:numpy|scipy)(?:\.\w+)+")


class MatcalcNumPyPrinter(NumPyPrinter):
    """NumPy code for the array operations (sympy 1.14's printer knows none of them)."""

    def _p(self, expr: sympy.Basic) -> str:
        return self._print(expr)

    def _array(self, expr: sympy.Basic) -> str:
        """An operand that needs array methods: a constant becomes a 1×1 array."""
        if expr.is_Number:
            return f"{self._module_format('numpy.full')}((1, 1), {self._p(expr)})"
        return self._p(expr)

    def _print_ElementwiseBase(self, e: ElementwiseBase) -> str:  # noqa: N802 - sympy's protocol
        """f(z) from the catalogue's code template, its numpy names as this printer spells them."""
        template = FUNCTIONS[e.function].code  # numpy.xxx and scipy.special.xxx names
        code = _MODULE_NAME.sub(lambda m: self._module_format(m.group(0)), template)
        return code.format(self._p(e.args[0]))

    def _print_mc_full(self, e: sympy.Basic) -> str:
        value, rows, cols = e.args
        shape = f"({self._size(rows)}, {self._size(cols)})"
        return f"{self._module_format('numpy.full')}({shape}, {self._p(value)})"

    def _infix(self, expr: sympy.Basic, op: str) -> str:
        a, b = expr.args
        return f"({self._p(a)} {op} {self._p(b)})"

    def _print_mc_add(self, e: sympy.Basic) -> str:
        return self._infix(e, "+")

    def _print_mc_sub(self, e: sympy.Basic) -> str:
        return self._infix(e, "-")

    def _print_mc_mul(self, e: sympy.Basic) -> str:
        return self._infix(e, "*")

    def _print_mc_div(self, e: sympy.Basic) -> str:
        return self._infix(e, "/")

    def _print_mc_pow(self, e: sympy.Basic) -> str:
        return self._infix(e, "**")

    def _print_mc_matmul(self, e: sympy.Basic) -> str:
        return self._infix(e, "@")

    def _print_mc_neg(self, e: sympy.Basic) -> str:
        return f"(-{self._p(e.args[0])})"

    def _print_mc_transpose(self, e: sympy.Basic) -> str:
        return f"{self._array(e.args[0])}.T"

    def _call(self, e: sympy.Basic, fn: str) -> str:
        return f"{self._module_format(fn)}({', '.join(self._p(a) for a in e.args)})"

    def _print_mc_maximum(self, e: sympy.Basic) -> str:
        return self._call(e, "numpy.maximum")

    def _print_mc_sum(self, e: sympy.Basic) -> str:
        return f"{self._array(e.args[0])}.sum(keepdims=True)"

    def _print_mc_sum0(self, e: sympy.Basic) -> str:
        return f"{self._array(e.args[0])}.sum(axis=0, keepdims=True)"

    def _print_mc_sum1(self, e: sympy.Basic) -> str:
        return f"{self._array(e.args[0])}.sum(axis=1, keepdims=True)"

    def _print_mc_trace(self, e: sympy.Basic) -> str:
        return f"{self._module_format('numpy.trace')}({self._p(e.args[0])}).reshape(1, 1)"

    def _print_mc_det(self, e: sympy.Basic) -> str:
        return f"{self._module_format('numpy.linalg.det')}({self._p(e.args[0])}).reshape(1, 1)"

    def _print_mc_logdet(self, e: sympy.Basic) -> str:
        slogdet = self._module_format("numpy.linalg.slogdet")
        return f"{slogdet}({self._p(e.args[0])})[1].reshape(1, 1)"

    def _print_mc_inv(self, e: sympy.Basic) -> str:
        return self._call(e, "numpy.linalg.inv")

    def _print_mc_diag(self, e: sympy.Basic) -> str:
        return self._call(e, "numpy.diagflat")

    def _print_mc_diagpart(self, e: sympy.Basic) -> str:
        return f"{self._module_format('numpy.diagonal')}({self._p(e.args[0])}).reshape(-1, 1)"

    def _print_mc_norm(self, e: sympy.Basic) -> str:
        sqrt = self._module_format("numpy.sqrt")
        a = self._p(e.args[0])
        return f"{sqrt}(({a} * {a}).sum(keepdims=True))"

    def _size(self, size: sympy.Basic) -> str:
        return str(int(size)) if size.is_Integer else self._p(size)

    def _print_mc_ones(self, e: sympy.Basic) -> str:
        rows, cols = (self._size(a) for a in e.args)
        return f"{self._module_format('numpy.ones')}(({rows}, {cols}))"

    def _print_mc_zeros(self, e: sympy.Basic) -> str:
        rows, cols = (self._size(a) for a in e.args)
        return f"{self._module_format('numpy.zeros')}(({rows}, {cols}))"

    def _print_mc_eye(self, e: sympy.Basic) -> str:
        return f"{self._module_format('numpy.eye')}({self._size(e.args[0])})"

    def _print_mc_dscale(self, e: sympy.Basic) -> str:
        """diag(v) M = v ⊙ M (v a column): no n×n matrix."""
        v, m = e.args
        return f"({self._p(v)} * {self._p(m)})"

    def _print_mc_scaled(self, e: sympy.Basic) -> str:
        """M diag(v) = M ⊙ vᵀ."""
        m, v = e.args
        return f"({self._p(m)} * {self._p(v)}.T)"

    def _print_mc_rowbroadcast(self, e: sympy.Basic) -> str:
        """𝟏 g for a row g: the row repeated down r rows, as a broadcast view."""
        rows, g = e.args
        g_text = self._p(g)
        broadcast = self._module_format("numpy.broadcast_to")
        return f"{broadcast}({g_text}, ({self._size(rows)}, {g_text}.shape[1]))"

    def _print_mc_colbroadcast(self, e: sympy.Basic) -> str:
        """g 𝟏ᵀ for a column g: the column repeated across c columns."""
        g, cols = e.args
        g_text = self._p(g)
        broadcast = self._module_format("numpy.broadcast_to")
        return f"{broadcast}({g_text}, ({g_text}.shape[0], {self._size(cols)}))"

    def _print_mc_colmax(self, e: sympy.Basic) -> str:
        return f"{self._array(e.args[0])}.max(axis=0, keepdims=True)"

    def _print_mc_dim(self, e: sympy.Basic) -> str:
        array, axis = e.args
        return f"{self._p(array)}.shape[{int(axis)}]"

    def _print_Rational(self, e: sympy.Rational) -> str:  # noqa: N802 - sympy's printer protocol
        return repr(float(e))

    def _print_Integer(self, e: sympy.Integer) -> str:  # noqa: N802
        return f"{int(e)}.0" if abs(int(e)) < 2**53 else repr(float(e))

    def _print_Float(self, e: sympy.Float) -> str:  # noqa: N802
        return repr(float(e))


# -- lowering ----------
class Lowering:
    """matcalc nodes → sympy expressions over array symbols, with the DAG's sharing."""

    def __init__(self, variables: Mapping[str, E.Variable]) -> None:
        self.symbols = {name: sympy.Symbol(name) for name in variables}
        self.variables = variables
        self.assignments: list[tuple[sympy.Symbol, sympy.Basic]] = []
        self.taken = set(variables)
        self.counter = 0
        self.column_exps: dict[int, tuple[sympy.Basic, sympy.Basic, sympy.Basic]] = {}
        self.dim_sources: dict[sympy.Symbol, sympy.Basic] = {}
        for name, var in sorted(variables.items()):
            for axis, dim in enumerate(var.shape):
                if isinstance(dim, sympy.Symbol) and dim not in self.dim_sources:
                    self.dim_sources[dim] = OPS["mc_dim"](self.symbols[name], axis)

    def assign(self, value: sympy.Basic) -> sympy.Symbol:
        """A line of its own for value; its symbol."""
        while f"t{self.counter}" in self.taken:
            self.counter += 1
        symbol = sympy.Symbol(f"t{self.counter}")
        self.counter += 1
        self.assignments.append((symbol, value))
        return symbol

    def column_exp(
        self, arg_node: E.Expr, arg: sympy.Basic
    ) -> tuple[sympy.Basic, sympy.Basic, sympy.Basic]:
        """(max, exp(a − max), Σ exp) per column, shared by softmax(a) and logsumexp(a):
        the exponentials are computed once, as hand-written code does."""
        if id(arg_node) not in self.column_exps:
            top = self.assign(OPS["mc_colmax"](arg))
            exps = self.assign(ELEMENTWISE["exp"](OPS["mc_sub"](arg, top)))
            total = self.assign(OPS["mc_sum0"](exps))
            self.column_exps[id(arg_node)] = (top, exps, total)
        return self.column_exps[id(arg_node)]

    def size(self, dim: object) -> sympy.Basic:
        if isinstance(dim, int):
            return sympy.Integer(dim)
        if dim not in self.dim_sources:
            raise EvaluationError(f"compile: the size {dim} is not the size of any argument")
        return self.dim_sources[dim]  # type: ignore[index]

    def constant(self, value: sympy.Expr) -> sympy.Basic:
        if value.free_symbols:
            return value.subs({d: self.size(d) for d in value.free_symbols})
        return value


# One lowering per node type: the node, its lowered arguments → a sympy expression.
@singledispatch
def lower_node(node: E.Expr, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    raise TypeError(f"no numeric lowering for {type(node).__name__}")


@lower_node.register
def _(node: E.Variable, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return lowering.symbols[node.name]


@lower_node.register
def _(node: E.Const, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return lowering.constant(node.value)


@lower_node.register
def _(node: E.Ones, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return OPS["mc_ones"](lowering.size(node.rows), lowering.size(node.cols))


@lower_node.register
def _(node: E.Zero, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return OPS["mc_zeros"](lowering.size(node.rows), lowering.size(node.cols))


@lower_node.register
def _(node: E.Identity, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return OPS["mc_eye"](lowering.size(node.n))


@lower_node.register
def _(node: E.Apply, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return ELEMENTWISE[node.fn](*args)


@lower_node.register
def _(node: E.MatMul, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    a, b = node.args
    if isinstance(a, E.Diag):
        return OPS["mc_dscale"](args[0].args[0], args[1])
    if isinstance(b, E.Diag):
        return OPS["mc_scaled"](args[0], args[1].args[0])
    if isinstance(a, E.Ones) and a.cols == 1:
        return OPS["mc_rowbroadcast"](lowering.size(a.rows), args[1])
    if isinstance(b, E.Ones) and b.rows == 1:
        return OPS["mc_colbroadcast"](args[0], lowering.size(b.cols))
    return OPS["mc_matmul"](*args)


@lower_node.register
def _(node: E.Sum, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return OPS[{None: "mc_sum", 0: "mc_sum0", 1: "mc_sum1"}[node.axis]](*args)


@lower_node.register
def _(node: E.Softmax, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    _, exps, total = lowering.column_exp(node.a, args[0])
    return OPS["mc_div"](exps, total)


@lower_node.register
def _(node: E.LogSumExp, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    top, _, total = lowering.column_exp(node.a, args[0])
    return OPS["mc_add"](top, ELEMENTWISE["log"](total))


# The node types that lower to one array operation of their arguments.
ONE_OPERATION: dict[type[E.Expr], str] = {
    E.Add: "mc_add", E.Sub: "mc_sub", E.Mul: "mc_mul", E.Div: "mc_div", E.Pow: "mc_pow",
    E.Maximum: "mc_maximum", E.Neg: "mc_neg", E.Transpose: "mc_transpose",
    E.Trace: "mc_trace", E.Det: "mc_det", E.LogDet: "mc_logdet", E.Inv: "mc_inv",
    E.Diag: "mc_diag", E.DiagPart: "mc_diagpart", E.Norm: "mc_norm",
}  # fmt: skip


def _one_operation(node: E.Expr, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return OPS[ONE_OPERATION[type(node)]](*args)


for _node_type in ONE_OPERATION:
    lower_node.register(_node_type)(_one_operation)


def _inline(node: E.Expr) -> bool:
    """Cheap nodes that read better inline than as their own line."""
    if not node.args:
        return True
    if isinstance(node, E.Transpose) and not node.a.args:
        return True  # xᵀ is a view
    return isinstance(node, E.Diag)  # only ever printed inside a product


def lower(outputs: Sequence[E.Expr], variables: Mapping[str, E.Variable]):
    """The lowered outputs, and the assignments (symbol, expression), one per shared node."""
    lowering = Lowering(variables)
    order = E.postorder(*outputs)
    uses: dict[int, int] = {}
    for node in order:
        for child in node.args:
            uses[id(child)] = uses.get(id(child), 0) + 1
    roots = {id(o) for o in outputs}
    done: dict[int, sympy.Basic] = {}
    for node in order:
        value = lower_node(node, [done[id(c)] for c in node.args], lowering)
        shared = uses.get(id(node), 0) > 1 or (id(node) in roots and node.args)
        if shared and not _inline(node):
            value = lowering.assign(value)
        done[id(node)] = value
    lowered = [done[id(o)] for o in outputs]
    # a constant result (a zero gradient, a fixed value) is still an array of its shape
    lowered = [
        OPS["mc_full"](value, lowering.size(o.rows), lowering.size(o.cols))
        if value.is_Number
        else value
        for o, value in zip(outputs, lowered, strict=True)
    ]
    assignments, lowered = reuse_names(lowering.assignments, lowered)
    return lowered, assignments, lowering.symbols


def reuse_names(
    assignments: list[tuple[sympy.Symbol, sympy.Basic]], outputs: list[sympy.Basic]
) -> tuple[list[tuple[sympy.Symbol, sympy.Basic]], list[sympy.Basic]]:
    """Give an intermediate the name of one that is no longer needed, so numpy
    frees each array after its last use (peak memory as in hand-written code)."""
    temporaries = {symbol for symbol, _ in assignments}
    end = len(assignments)
    last_use = {symbol: -1 for symbol in temporaries}
    for index, (_, value) in enumerate(assignments):
        for used in value.free_symbols & temporaries:
            last_use[used] = index
    for value in outputs:
        for used in value.free_symbols & temporaries:
            last_use[used] = end
    renamed: dict[sympy.Symbol, sympy.Symbol] = {}
    free: list[sympy.Symbol] = []
    dying: dict[int, list[sympy.Symbol]] = {}
    result = []
    for index, (symbol, value) in enumerate(assignments):
        value = value.xreplace(renamed)
        # names whose value was last read by this line's right-hand side are free now
        free.extend(dying.pop(index, []))
        name = free.pop() if free else symbol
        renamed[symbol] = name
        result.append((name, value))
        dying.setdefault(max(last_use[symbol], index), []).append(name)
    return result, [value.xreplace(renamed) for value in outputs]


# -- the compiled function ----------
class CompiledFunction:
    """``fn(**values) -> (value, grads)``; ``fn.source`` is the generated code;
    ``fn.raw(*arrays)`` skips the argument checks (arrays in ``fn.arguments`` order)."""

    def __init__(self, f: E.Expr, wrt: Sequence[E.Variable], raw, source: str, names: list[str]):
        self.function = f
        self.wrt = list(wrt)
        self.raw = raw
        self.source = source
        self.arguments = names
        self.variables = {**E.variables(f), **{v.name: v for v in wrt}}

    def arrays(self, values: Mapping[str, Any]) -> list[np.ndarray]:
        """The arguments, checked: every variable by name, each of its declared shape."""
        unknown = sorted(set(values) - set(self.variables))
        if unknown:
            raise EvaluationError(
                f"compiled function: unknown argument {', '.join(unknown)} (it takes "
                f"{', '.join(self.arguments)})"
            )
        missing = [name for name in self.arguments if name not in values]
        if missing:
            raise EvaluationError(f"compiled function: missing argument {', '.join(missing)}")
        arrays = {name: fit_array(self.variables[name], values[name]) for name in self.arguments}
        try:
            bind_dims(self.variables, arrays, {})
        except ShapeError as error:
            raise ShapeError(f"compiled function: {error}".replace("evaluate: ", "")) from None
        return [arrays[name] for name in self.arguments]

    def __call__(self, **values: Any):
        arrays = self.arrays(values)
        value, *grads = self.raw(*arrays)
        # A result that simplified to a constant comes back from numpy as a scalar:
        # every result is a float array of its shape (the gradient of X, X's shape).
        shapes = {name: array.shape for name, array in zip(self.arguments, arrays, strict=True)}
        grads = [_as_array_of(g, shapes[v.name]) for g, v in zip(grads, self.wrt, strict=True)]
        value = np.asarray(value, dtype=float)
        if self.function.is_scalar:
            return float(value.reshape(-1)[0]), tuple(grads)
        return value, tuple(grads)


def _as_array_of(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """value as a float array of shape (a constant, such as a zero gradient, stretched)."""
    array = np.asarray(value, dtype=float)
    return array if array.shape == shape else np.broadcast_to(array, shape).copy()


def compile(f: object, wrt: Sequence[E.Variable] = ()) -> CompiledFunction:  # noqa: A001
    """Generated numpy code returning (value of f, gradients in wrt order)."""
    f = E.as_expr(f, "compile")
    wrt = [check_variable("compile", v) for v in wrt]
    if wrt and not f.is_scalar:
        raise ShapeError(
            f"compile: gradients need a scalar f, but {E.describe(f)} is {format_shape(f.shape)}"
        )
    variables = E.variables(f)
    for v in wrt:
        if v.name not in variables:
            variables[v.name] = v  # its gradient is zero, but it is still an argument
    grads = list(grad(f, wrt)) if wrt else []
    outputs = [s.simplify(f), *grads]
    lowered, assignments, symbols = lower(outputs, variables)
    names = sorted(variables)
    printer = MatcalcNumPyPrinter({"fully_qualified_modules": False, "inline": True})
    function = sympy.lambdify(
        [symbols[n] for n in names],
        lowered,
        modules=["numpy"],
        printer=printer,
        cse=lambda exprs: (assignments, list(exprs)),
        docstring_limit=0,
    )
    source = inspect.getsource(function)
    return CompiledFunction(f, wrt, function, source, names)


def standalone_code(f: E.Expr, x: E.Variable) -> str:
    """A self-contained numpy script: the value and gradient of f, and a
    central-difference check of that gradient on random numbers."""
    variables = E.variables(f)
    names = sorted(variables)
    lowered, assignments, symbols = lower([s.simplify(f), grad(f, x)], variables)
    printer = MatcalcNumPyPrinter({"fully_qualified_modules": True, "inline": True})
    function = sympy.lambdify(
        [symbols[n] for n in names], lowered, modules=["numpy"], printer=printer,
        cse=lambda exprs: (assignments, list(exprs)), docstring_limit=0,
    )  # fmt: skip
    body = inspect.getsource(function).replace("def _lambdifygenerated(", "def f_and_gradient(", 1)
    body = body.replace("return [", "return tuple([", 1).rstrip()
    body = body[:-1] + "])" if body.endswith("]") else body
    symbols_used = sorted(
        {str(d) for v in variables.values() for d in v.shape if not isinstance(d, int)}
    )
    sizes = "\n".join(f"    {d} = {3 + i}" for i, d in enumerate(symbols_used)) or "    pass"
    arrays = []
    for name in names:
        var = variables[name]
        shape = ", ".join(str(d) for d in var.shape)
        arrays.append(f"    {name} = rng.uniform(0.5, 1.5, size=({shape}))")
    lines = [
        '"""Value and gradient of',
        f"    f = {f}",
        f"with respect to {x.name}, generated by matcalc.",
        '"""',
        "import numpy",
        "import scipy.special",
        "",
        "",
        body,
        "",
        "",
        "def check_gradient(seed=0, step=1e-6):",
        '    """Compare the gradient with central differences; returns the relative error."""',
        "    rng = numpy.random.default_rng(seed)",
        sizes,
        *arrays,
        f"    value, gradient = f_and_gradient({', '.join(names)})",
        f"    numeric = numpy.zeros_like({x.name})",
        f"    for index in numpy.ndindex({x.name}.shape):",
        f"        {x.name}[index] += step",
        f"        up = f_and_gradient({', '.join(names)})[0]",
        f"        {x.name}[index] -= 2 * step",
        f"        down = f_and_gradient({', '.join(names)})[0]",
        f"        {x.name}[index] += step",
        "        numeric[index] = (up - down).item() / (2 * step)",
        "    scale = max(1.0, numpy.max(numpy.abs(numeric)))",
        "    return numpy.max(numpy.abs(numeric - gradient)) / scale",
        "",
        "",
        'if __name__ == "__main__":',
        '    print(f"relative error of the gradient: {check_gradient():.2e}")',
    ]
    return "\n".join(lines) + "\n"
