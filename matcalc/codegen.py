"""Numeric code through sympy's ``lambdify``: ``mc.compile(f, wrt=[...])``.

Each matcalc node is lowered to a sympy function application over symbols
that stand for arrays (so sympy never reorders a matrix product), and a
NumPy printer that knows every node prints it: ``@`` for matrix products,
ufuncs for elementwise functions (from the catalogue; σ is scipy's expit), ``.sum(axis,
keepdims=True)`` for sums, trace, det, logdet, inv, and broadcasting for
ones vectors and diag(v) products, which are never materialised.  The
common subexpressions are the expression DAG's shared nodes (interning makes
them the same object), handed to lambdify as its ``cse``, so the forward
pass's z and σ(z) are computed once and reused by the backward pass.

Every node is a line of its own (leaves, views and diag(v) excepted), so no
line nests deeper than one node's code whatever the expression's depth, and
every walk is a loop.  Names are data: the code's identifiers are only _v0, …
(arguments), _d0, … (sizes) and _t0, … (intermediates); a user's name is looked
up in a dict (``CompiledFunction.arrays``) or, in the standalone script, is a
string literal.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from functools import singledispatch
from typing import Any

import numpy as np
import sympy
from sympy.core.function import AppliedUndef
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
# Generated code never spells a user's name: the i-th argument (in sorted name
# order) is _v{i}, the k-th dimension symbol _d{k}, an intermediate _t{j}.  A name
# is data (it may be "numpy", "tanh", "_t0", a fullwidth twin of another name or
# any text at all); these internal names are the only identifiers in the code.
VARIABLE_PREFIX, DIMENSION_PREFIX, TEMPORARY_PREFIX = "_v", "_d", "_t"


class Lowering:
    """matcalc nodes → sympy expressions over array symbols, one assignment per node."""

    def __init__(self, variables: Mapping[str, E.Variable]) -> None:
        self.names = sorted(variables)  # the arguments' order: fn.arguments
        self.symbols = {
            name: sympy.Symbol(f"{VARIABLE_PREFIX}{i}") for i, name in enumerate(self.names)
        }
        self.variables = variables
        self.assignments: list[tuple[sympy.Symbol, sympy.Basic]] = []
        self.temporaries: set[sympy.Symbol] = set()
        self.column_exps: dict[int, tuple[sympy.Basic, sympy.Basic, sympy.Basic]] = {}
        self.done: dict[int, sympy.Basic] = {}  # node id → its lowered value
        # each dimension symbol: read from the first argument (by name) that has it
        self.dim_sources: dict[sympy.Symbol, sympy.Basic] = {}
        for name in self.names:
            for axis, dim in enumerate(variables[name].shape):
                if isinstance(dim, sympy.Symbol) and dim not in self.dim_sources:
                    self.dim_sources[dim] = OPS["mc_dim"](self.symbols[name], axis)
        self.dim_symbols: dict[sympy.Symbol, sympy.Symbol] = {}
        self.dim_lines: list[tuple[sympy.Symbol, sympy.Basic]] = []

    def assign(self, value: sympy.Basic) -> sympy.Symbol:
        """A line of its own for value; its symbol."""
        symbol = sympy.Symbol(f"{TEMPORARY_PREFIX}{len(self.temporaries)}")
        self.temporaries.add(symbol)
        self.assignments.append((symbol, value))
        return symbol

    def column_exp(
        self, arg_node: E.Expr, arg: sympy.Basic
    ) -> tuple[sympy.Basic, sympy.Basic, sympy.Basic]:
        """(max, exp(a − max), Σ exp) per column, shared by softmax(a) and logsumexp(a):
        the exponentials are computed once, as hand-written code does."""
        if id(arg_node) not in self.column_exps:
            top = self.assign(OPS["mc_colmax"](arg))
            shifted = self.assign(OPS["mc_sub"](arg, top))
            exps = self.assign(ELEMENTWISE["exp"](shifted))
            total = self.assign(OPS["mc_sum0"](exps))
            self.column_exps[id(arg_node)] = (top, exps, total)
        return self.column_exps[id(arg_node)]

    def size(self, dim: object) -> sympy.Basic:
        """A size in the code: a literal int, or _dk, read once from an argument's shape."""
        if isinstance(dim, bool) or not isinstance(dim, int | sympy.Symbol):
            raise EvaluationError(f"compile: {dim!r} is not a size")
        if isinstance(dim, int):
            return sympy.Integer(int(dim))
        if dim not in self.dim_sources:
            raise EvaluationError(f"compile: the size {dim} is not the size of any argument")
        if dim not in self.dim_symbols:
            symbol = sympy.Symbol(f"{DIMENSION_PREFIX}{len(self.dim_symbols)}")
            self.dim_symbols[dim] = symbol
            self.dim_lines.append((symbol, self.dim_sources[dim]))
        return self.dim_symbols[dim]

    def constant(self, value: sympy.Expr) -> sympy.Basic:
        """A constant with its dimension symbols replaced by _dk; only numbers,
        arithmetic and sympy's own functions of them may remain (nothing whose text
        is a user's)."""
        if value.free_symbols:
            value = value.xreplace({d: self.size(d) for d in value.free_symbols})
        for part in sympy.preorder_traversal(value):
            if not _safe_constant_part(part, set(self.dim_symbols.values())):
                raise EvaluationError(f"compile: cannot generate code for the constant {value}")
        return value


def _safe_constant_part(part: sympy.Basic, sizes: set[sympy.Symbol]) -> bool:
    if isinstance(part, sympy.Symbol):
        return part in sizes
    if isinstance(part, AppliedUndef) or part.is_number and not part.is_extended_real:
        return False  # an undefined function's name is text; complex constants are refused
    return isinstance(
        part, sympy.Number | sympy.NumberSymbol | sympy.Add | sympy.Mul | sympy.Pow
    ) or (isinstance(part, sympy.Function) and type(part).__module__.startswith("sympy."))


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
    stable = _log_sigmoid(node, lowering)
    return stable if stable is not None else ELEMENTWISE[node.fn](*args)


def _log_sigmoid(node: E.Apply, lowering: Lowering) -> sympy.Basic | None:
    """log σ(t) = −softplus(−t) and log(1 − σ(t)) = −softplus(t), exact for every t
    (log of a rounded σ(t) loses every digit once σ(t) or 1 − σ(t) is below ~1e−16).
    The simplifier hands codegen these forms already; this keeps any unsimplified
    output stable too."""
    (a,) = node.args
    if node.fn != "log":
        return None
    neg, softplus = OPS["mc_neg"], ELEMENTWISE["softplus"]
    if isinstance(a, E.Apply) and a.fn == "sigmoid":
        return neg(softplus(neg(lowering.done[id(a.a)])))
    if (
        isinstance(a, E.Sub)
        and isinstance(a.a, E.Const)
        and a.a.value == 1
        and isinstance(a.b, E.Apply)
        and a.b.fn == "sigmoid"
        and a.b.shape == a.shape
    ):
        return neg(softplus(lowering.done[id(a.b.a)]))
    return None


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
    """Nodes written where they are used rather than on a line of their own:
    leaves, xᵀ of a leaf (a view) and diag(v) (only ever printed inside a product).
    Every other node is one line, so no line nests deeper than one node's code."""
    if not node.args:
        return True
    if isinstance(node, E.Transpose) and not node.a.args:
        return True
    return isinstance(node, E.Diag)


Lowered = tuple[list[sympy.Basic], list[tuple[sympy.Symbol, sympy.Basic]], Lowering]


def lower(outputs: Sequence[E.Expr], variables: Mapping[str, E.Variable]) -> Lowered:
    """The lowered outputs and the assignments (symbol, expression): the sizes read
    from the arguments, then one line per node, in an order that computes each
    node after its children (an iterative walk: any depth)."""
    lowering = Lowering(variables)
    for node in E.postorder(*outputs):
        value = lower_node(node, [lowering.done[id(c)] for c in node.args], lowering)
        lowering.done[id(node)] = value if _inline(node) else lowering.assign(value)
    lowered = [lowering.done[id(o)] for o in outputs]
    # a constant result (a zero gradient, a fixed value) is still an array of its shape
    lowered = [
        OPS["mc_full"](value, lowering.size(o.rows), lowering.size(o.cols))
        if value.is_Number
        else value
        for o, value in zip(outputs, lowered, strict=True)
    ]
    lines = drop_unused(lowering.assignments, lowered)
    lines, lowered = reuse_names(lines, lowered, lowering.temporaries)
    lines, lowered = renumber(lines, lowered)
    return lowered, lowering.dim_lines + lines, lowering


def drop_unused(
    assignments: list[tuple[sympy.Symbol, sympy.Basic]], outputs: list[sympy.Basic]
) -> list[tuple[sympy.Symbol, sympy.Basic]]:
    """The lines some output depends on (a stable form bypasses the line of σ(t))."""
    needed: set[sympy.Basic] = set().union(*(value.free_symbols for value in outputs))
    kept = []
    for symbol, value in reversed(assignments):
        if symbol in needed:
            kept.append((symbol, value))
            needed |= value.free_symbols
    return kept[::-1]


def renumber(
    assignments: list[tuple[sympy.Symbol, sympy.Basic]], outputs: list[sympy.Basic]
) -> tuple[list[tuple[sympy.Symbol, sympy.Basic]], list[sympy.Basic]]:
    """The intermediates renamed _t0, _t1, … in the order the code first writes them
    (dropped and reused lines leave gaps otherwise)."""
    order: dict[sympy.Basic, sympy.Basic] = {}
    for symbol, _ in assignments:
        order.setdefault(symbol, sympy.Symbol(f"{TEMPORARY_PREFIX}{len(order)}"))
    lines = [(order[symbol], value.xreplace(order)) for symbol, value in assignments]
    return lines, [value.xreplace(order) for value in outputs]


def reuse_names(
    assignments: list[tuple[sympy.Symbol, sympy.Basic]],
    outputs: list[sympy.Basic],
    temporaries: set[sympy.Symbol],
) -> tuple[list[tuple[sympy.Symbol, sympy.Basic]], list[sympy.Basic]]:
    """Give an intermediate the name of one that is no longer needed, so numpy
    frees each array after its last use (peak memory as in hand-written code)."""
    end = len(assignments)
    last_use = {symbol: -1 for symbol in temporaries}
    for index, (_, value) in enumerate(assignments):
        for used in value.free_symbols & temporaries:
            last_use[used] = index
    for value in outputs:
        for used in value.free_symbols & temporaries:
            last_use[used] = end
    renamed: dict[sympy.Basic, sympy.Basic] = {}
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
    ``fn.raw(*arrays)`` skips the argument checks (arrays in ``fn.arguments`` order).
    ``fn.internal_names`` maps each argument's name to its name in the source
    (``_v0``, ``_v1``, …; names are data, looked up in a dict, never code)."""

    def __init__(
        self,
        f: E.Expr,
        wrt: Sequence[E.Variable],
        raw,
        source: str,
        names: list[str],
        internal_names: Mapping[str, str] | None = None,
    ):
        self.function = f
        self.wrt = list(wrt)
        self.raw = raw
        self.source = source
        self.arguments = names
        self.internal_names = dict(internal_names or {})
        self.variables = {**E.variables(f), **{v.name: v for v in wrt}}

    def arrays(self, values: Mapping[str, Any]) -> list[np.ndarray]:
        """The arguments, checked: every variable by name, each real and of its declared shape."""
        unknown = sorted(set(values) - set(self.variables))
        if unknown:
            raise EvaluationError(
                f"compiled function: unknown argument {', '.join(unknown)} (it takes "
                f"{', '.join(self.arguments)})"
            )
        missing = [name for name in self.arguments if name not in values]
        if missing:
            raise EvaluationError(f"compiled function: missing argument {', '.join(missing)}")
        for name in self.arguments:
            _refuse_complex(name, values[name])
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


def _refuse_complex(name: str, value: Any) -> None:
    """matcalc's functions are real: a complex value would lose its imaginary part
    silently in a float conversion, so it is refused (even with zero imaginary part)."""
    if np.iscomplexobj(value):
        raise EvaluationError(
            f"compiled function: value of {name} is complex; matcalc computes with real numbers"
        )


def _as_array_of(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """value as a float array of shape (a constant, such as a zero gradient, stretched)."""
    array = np.asarray(value, dtype=float)
    return array if array.shape == shape else np.broadcast_to(array, shape).copy()


def _generate(outputs: Sequence[E.Expr], variables: Mapping[str, E.Variable], qualified: bool):
    """(function, its source, the lowering): one def over _v0, _v1, … returning a list."""
    lowered, assignments, lowering = lower(outputs, variables)
    printer = MatcalcNumPyPrinter({"fully_qualified_modules": qualified, "inline": True})
    function = sympy.lambdify(
        [lowering.symbols[name] for name in lowering.names],
        lowered,
        modules=["numpy"],
        printer=printer,
        cse=lambda exprs: (assignments, list(exprs)),
        docstring_limit=0,
    )
    return function, inspect.getsource(function), lowering


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
    function, source, lowering = _generate([s.simplify(f), *grads], variables, qualified=False)
    internal = {name: str(symbol) for name, symbol in lowering.symbols.items()}
    return CompiledFunction(f, wrt, function, source, lowering.names, internal)


# -- the standalone script (``matcalc code``) ----------
def standalone_code(f: E.Expr, x: E.Variable) -> str:
    """A self-contained numpy script: the value and gradient of f, and a
    central-difference check of that gradient on random numbers.

    Its only identifiers are its own: the arguments are _v0, _v1, … (their
    names appear once, as string literals in ARGUMENT_NAMES), the sizes _d0, …,
    and the check's locals start with _matcalc_, so no name can change the code."""
    variables = E.variables(f)
    _, source, lowering = _generate([s.simplify(f), grad(f, x)], variables, qualified=True)
    names = lowering.names
    lines = [
        '"""Value and gradient of a function, and a central-difference check of the',
        "gradient on random numbers; generated by matcalc.",
        "",
        "f_and_gradient(*arrays) takes the arguments in the order of ARGUMENT_NAMES;",
        'f_and_gradient_by_name(**arrays) takes them by name."""',
        "import numpy",
        "import scipy.special",
        "",
        "# the arguments' names, in f_and_gradient's order (data, never code)",
        f"ARGUMENT_NAMES = ({''.join(str.__repr__(name) + ', ' for name in names)})",
        f"GRADIENT_OF = {names.index(x.name)}  # the position of the variable differentiated",
        "",
        "",
        *_script_function(source, [variables[name] for name in names]),
        "",
        "",
        "def f_and_gradient_by_name(**arrays):",
        '    """f_and_gradient with its arguments given by name."""',
        "    return f_and_gradient(*(arrays[name] for name in ARGUMENT_NAMES))",
        "",
        "",
        *_script_check([variables[name] for name in names]),
        "",
        "",
        'if __name__ == "__main__":',
        '    print(f"relative error of the gradient: {check_gradient():.2e}")',
    ]
    return "\n".join(lines) + "\n"


def _script_function(source: str, arguments: list[E.Variable]) -> list[str]:
    """lambdify's def, renamed f_and_gradient, returning a (value, gradient) tuple; a
    vector given as a 1-D array is taken as the column it stands for (numpy would
    broadcast a (n,) array against a column into a matrix: a wrong answer)."""
    lines = source.rstrip().splitlines()
    parameters = ", ".join(f"{VARIABLE_PREFIX}{i}" for i in range(len(arguments)))
    assert lines[0] == f"def _lambdifygenerated({parameters}):", lines[0]
    assert lines[-1].startswith("    return [") and lines[-1].endswith("]"), lines[-1]
    shaping = []
    for i, var in enumerate(arguments):
        name = f"{VARIABLE_PREFIX}{i}"
        if var.kind == "vector":
            shaping.append(f"    {name} = numpy.asarray({name}, dtype=float).reshape(-1, 1)")
        elif var.kind == "matrix":
            shaping.append(f"    {name} = numpy.asarray({name}, dtype=float)")
            shaping.append(f"    if {name}.ndim != 2:")
            shaping.append(f"        raise ValueError(f'{{ARGUMENT_NAMES[{i}]}} must be a matrix')")
    return [
        f"def f_and_gradient({parameters}):",
        '    """(value of f, its gradient), the arguments in the order of ARGUMENT_NAMES."""',
        *shaping,
        *lines[1:-1],
        "    return (" + lines[-1][len("    return [") : -1] + ")",
    ]


def _script_check(arguments: list[E.Variable]) -> list[str]:
    """check_gradient: random arguments of sizes 3, 4, …, the gradient against
    (f(x + h eᵢ) − f(x − h eᵢ)) / 2h entry by entry, as max |error| / max(1, max |numeric|)."""
    sizes: dict[sympy.Symbol, str] = {}
    for var in arguments:
        for dim in var.shape:
            if isinstance(dim, sympy.Symbol) and dim not in sizes:
                sizes[dim] = f"{DIMENSION_PREFIX}{len(sizes)}"

    def size(dim: object) -> str:
        return sizes[dim] if isinstance(dim, sympy.Symbol) else str(int(dim))  # type: ignore[call-overload]

    return [
        "def check_gradient(seed=0, step=1e-6):",
        '    """Compare the gradient with central differences; returns the relative error."""',
        "    _matcalc_rng = numpy.random.default_rng(seed)",
        *(f"    {symbol} = {3 + i}" for i, symbol in enumerate(sizes.values())),
        "    _matcalc_arrays = [",
        *(
            f"        _matcalc_rng.uniform(0.5, 1.5, size=({size(var.rows)}, {size(var.cols)})),"
            for var in arguments
        ),
        "    ]",
        "    _matcalc_value, _matcalc_gradient = f_and_gradient(*_matcalc_arrays)",
        "    _matcalc_x = _matcalc_arrays[GRADIENT_OF]",
        "    _matcalc_numeric = numpy.zeros_like(_matcalc_x)",
        "    for _matcalc_index in numpy.ndindex(_matcalc_x.shape):",
        "        _matcalc_x[_matcalc_index] += step",
        "        _matcalc_up = f_and_gradient(*_matcalc_arrays)[0]",
        "        _matcalc_x[_matcalc_index] -= 2 * step",
        "        _matcalc_down = f_and_gradient(*_matcalc_arrays)[0]",
        "        _matcalc_x[_matcalc_index] += step",
        "        _matcalc_difference = (_matcalc_up - _matcalc_down).item()",
        "        _matcalc_numeric[_matcalc_index] = _matcalc_difference / (2 * step)",
        "    _matcalc_scale = max(1.0, numpy.max(numpy.abs(_matcalc_numeric)))",
        "    return numpy.max(numpy.abs(_matcalc_numeric - _matcalc_gradient)) / _matcalc_scale",
    ]
