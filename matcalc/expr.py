"""Immutable expression nodes, their shape checks and the operator sugar.

Nodes are data: frozen dataclasses with no printing or derivative methods.
Every node is interned (hash-consed) on construction, so two structurally
equal expressions are the same object.  Identity then *is* structural
equality, which makes the DAG engine, the simplifier and common
subexpressions cheap and recursion-free to compare.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar, cast, dataclass_transform

import sympy

from .dims import (
    SCALAR_SHAPE,
    Dim,
    Shape,
    as_dim,
    broadcast_shapes,
    format_shape,
    is_scalar_shape,
    vector_length,
)
from .errors import ConstantError, OperandError, ShapeError

# The printers register here (printing imports expr, never the reverse):
# DISPLAY["text"](e) is the Unicode text of e, DISPLAY["latex"](e) its LaTeX.
DISPLAY: dict[str, Callable[[Expr], str]] = {}

_INTERNED: weakref.WeakValueDictionary[tuple[Any, ...], Expr] = weakref.WeakValueDictionary()


def _key_part(value: object) -> object:
    # Children are interned, so their identity is their structure.  A child
    # lives as long as any parent in the table, so its id cannot be reused
    # while a key mentioning it is present.
    if isinstance(value, Expr):
        return ("node", id(value))
    if isinstance(value, sympy.Basic):
        return (type(value).__name__, value)
    return value


class Expr:
    """Base of every matrix expression; shape is ``(rows, cols)``."""

    __slots__ = ("__weakref__", "_args", "shape")
    shape: Shape
    _args: tuple[Expr, ...]
    op: ClassVar[str] = "expression"
    _children: ClassVar[tuple[str, ...]] = ()
    _field_names: ClassVar[tuple[str, ...]] = ()
    # numpy must defer to our reflected operators instead of broadcasting.
    __array_ufunc__ = None

    @classmethod
    def make(cls, *values: Any) -> Any:
        """The interned node of this class with these field values."""
        key = (cls, *(_key_part(v) for v in values))
        node = _INTERNED.get(key)
        if node is None:
            node = cls(*values)
            _INTERNED[key] = node
        return node

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", self.infer_shape())
        # the children, read once: every walk asks for them
        object.__setattr__(self, "_args", tuple(getattr(self, n) for n in self._children))

    def infer_shape(self) -> Shape:  # pragma: no cover - every node overrides
        raise NotImplementedError

    @property
    def args(self) -> tuple[Expr, ...]:
        return self._args

    def params(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self._field_names if n not in self._children)

    def with_args(self, *new_args: Expr) -> Expr:
        """The same operation applied to other children (unchecked arity)."""
        replacement = dict(zip(self._children, new_args, strict=True))
        values = [replacement.get(n, getattr(self, n)) for n in self._field_names]
        return type(self).make(*values)

    # -- shape helpers ------------------------------------------------------
    @property
    def rows(self) -> Dim:
        return self.shape[0]

    @property
    def cols(self) -> Dim:
        return self.shape[1]

    @property
    def is_scalar(self) -> bool:
        return is_scalar_shape(self.shape)

    @property
    def is_column(self) -> bool:
        return self.shape[1] == 1

    @property
    def is_vector(self) -> bool:
        return vector_length(self.shape) is not None

    # -- operator sugar (builds raw, unsimplified nodes) ---------------------
    def __add__(self, other: object) -> Expr:
        return Add.make(self, as_expr(other, "add"))

    def __radd__(self, other: object) -> Expr:
        return Add.make(as_expr(other, "add"), self)

    def __sub__(self, other: object) -> Expr:
        return Sub.make(self, as_expr(other, "subtract"))

    def __rsub__(self, other: object) -> Expr:
        return Sub.make(as_expr(other, "subtract"), self)

    def __mul__(self, other: object) -> Expr:
        return Mul.make(self, as_expr(other, "multiply"))

    def __rmul__(self, other: object) -> Expr:
        return Mul.make(as_expr(other, "multiply"), self)

    def __truediv__(self, other: object) -> Expr:
        return Div.make(self, as_expr(other, "divide"))

    def __rtruediv__(self, other: object) -> Expr:
        return Div.make(as_expr(other, "divide"), self)

    def __pow__(self, other: object) -> Expr:
        return Pow.make(self, as_expr(other, "power"))

    def __rpow__(self, other: object) -> Expr:
        return Pow.make(as_expr(other, "power"), self)

    def __matmul__(self, other: object) -> Expr:
        return matmul(self, as_expr(other, "matmul"))

    def __rmatmul__(self, other: object) -> Expr:
        return matmul(as_expr(other, "matmul"), self)

    def __neg__(self) -> Expr:
        return Neg.make(self)

    def __pos__(self) -> Expr:
        return self

    @property
    def T(self) -> Expr:  # noqa: N802 - numpy's name
        return Transpose.make(self)

    def __bool__(self) -> bool:
        raise TypeError(
            "a matcalc expression has no truth value; compare numbers with "
            "mc.evaluate or expressions with mc.equivalent"
        )

    def __str__(self) -> str:
        return DISPLAY["text"](self)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {DISPLAY['latex'](self)}$"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {format_shape(self.shape)}: {self}>"


NodeType = TypeVar("NodeType", bound=type)


@dataclass_transform(eq_default=False, frozen_default=True)
def node(cls: NodeType) -> NodeType:
    """Make a node class: a frozen, slotted dataclass compared by identity."""
    data: Any = dataclass(frozen=True, slots=True, eq=False, repr=False)(cls)
    names = tuple(f.name for f in fields(data))
    data._field_names = names
    data._children = tuple(f.name for f in fields(data) if f.type in ("Expr", Expr))
    return cast(NodeType, data)


def describe(expr: Expr, limit: int = 40) -> str:
    """A short text form of an operand for error messages."""
    shown = str(expr)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _mismatch(op: str, a: Expr, b: Expr, extra: str = "") -> ShapeError:
    return ShapeError(
        f"{op}: {describe(a)} is {format_shape(a.shape)} but {describe(b)} is "
        f"{format_shape(b.shape)}{extra}"
    )


def _need_square(op: str, a: Expr) -> None:
    if a.rows != a.cols:
        raise ShapeError(
            f"{op}: needs a square matrix but {describe(a)} is {format_shape(a.shape)}"
        )


def _need_vector(op: str, a: Expr) -> None:
    if not a.is_column:
        raise ShapeError(
            f"{op}: needs a column vector but {describe(a)} is {format_shape(a.shape)}"
        )


# -- leaves -------------------------------------------------------------------
_VARIABLES_BY_NAME: dict[str, weakref.WeakSet[Variable]] = {}


@node
class Variable(Expr):
    """A named symbolic input: a scalar, a (column) vector or a matrix.

    properties: what is known of its values, which the simplifier and the
    checker use: "symmetric" (Sᵀ = S) and "probability" (entries ≥ 0 summing
    to 1, per column)."""

    name: str
    nrows: Dim
    ncols: Dim
    kind: str
    properties: frozenset[str]
    op: ClassVar[str] = "variable"

    @property
    def symmetric(self) -> bool:
        return "symmetric" in self.properties

    @property
    def probability(self) -> bool:
        return "probability" in self.properties

    def infer_shape(self) -> Shape:
        _VARIABLES_BY_NAME.setdefault(self.name, weakref.WeakSet()).add(self)
        return (self.nrows, self.ncols)


def live_variables(name: str) -> list[Variable]:
    """The variables of this name that exist now (any shapes)."""
    return list(_VARIABLES_BY_NAME.get(name, ()))


@node
class Const(Expr):
    """A scalar constant: a sympy number, or a sympy expression of dimensions."""

    value: sympy.Expr
    op: ClassVar[str] = "constant"

    def infer_shape(self) -> Shape:
        return SCALAR_SHAPE


@node
class Ones(Expr):
    """The all-ones matrix 𝟏 of a shape (a ones vector when cols = 1)."""

    nrows: Dim
    ncols: Dim
    op: ClassVar[str] = "ones"

    def infer_shape(self) -> Shape:
        return (self.nrows, self.ncols)


@node
class Zero(Expr):
    """The zero matrix of a shape."""

    nrows: Dim
    ncols: Dim
    op: ClassVar[str] = "zeros"

    def infer_shape(self) -> Shape:
        return (self.nrows, self.ncols)


@node
class Identity(Expr):
    """The n×n identity matrix I."""

    n: Dim
    op: ClassVar[str] = "eye"

    def infer_shape(self) -> Shape:
        return (self.n, self.n)


# -- elementwise --------------------------------------------------------------
@node
class Neg(Expr):
    """−a."""

    a: Expr
    op: ClassVar[str] = "negate"

    def infer_shape(self) -> Shape:
        return self.a.shape


class ElementwiseBinary(Expr):
    """a ∘ b entry by entry, with numpy broadcasting of scalars, rows and columns."""

    __slots__ = ()
    a: Expr
    b: Expr

    def infer_shape(self) -> Shape:
        shape = broadcast_shapes(self.a.shape, self.b.shape)
        if shape is None:
            raise _mismatch(self.op, self.a, self.b)
        return shape


@node
class Add(ElementwiseBinary):
    a: Expr
    b: Expr
    op: ClassVar[str] = "add"


@node
class Sub(ElementwiseBinary):
    a: Expr
    b: Expr
    op: ClassVar[str] = "subtract"


@node
class Mul(ElementwiseBinary):
    """a ⊙ b (Hadamard product; scalar multiplication when one side is 1×1)."""

    a: Expr
    b: Expr
    op: ClassVar[str] = "multiply"


@node
class Div(ElementwiseBinary):
    """a ⊘ b elementwise."""

    a: Expr
    b: Expr
    op: ClassVar[str] = "divide"


@node
class Pow(ElementwiseBinary):
    """a ** b elementwise."""

    a: Expr
    b: Expr
    op: ClassVar[str] = "power"


@node
class Maximum(ElementwiseBinary):
    """max(a, b) elementwise."""

    a: Expr
    b: Expr
    op: ClassVar[str] = "maximum"


@node
class Apply(Expr):
    """f(a) applied entry by entry; f names an entry of ``functions.FUNCTIONS``."""

    fn: str
    a: Expr
    op: ClassVar[str] = "elementwise function"

    def infer_shape(self) -> Shape:
        return self.a.shape


# -- matrix products and reshaping ---------------------------------------------
@node
class MatMul(Expr):
    """a b, the matrix product."""

    a: Expr
    b: Expr
    op: ClassVar[str] = "matmul"

    def infer_shape(self) -> Shape:
        if self.a.cols != self.b.rows:
            raise _mismatch(self.op, self.a, self.b)
        return (self.a.rows, self.b.cols)


@node
class Transpose(Expr):
    """aᵀ."""

    a: Expr
    op: ClassVar[str] = "transpose"

    def infer_shape(self) -> Shape:
        return (self.a.cols, self.a.rows)


@node
class Sum(Expr):
    """Sum of all entries (axis None), column sums (axis 0) or row sums (axis 1)."""

    a: Expr
    axis: int | None
    op: ClassVar[str] = "sum"

    def infer_shape(self) -> Shape:
        if self.axis is None:
            return SCALAR_SHAPE
        if self.axis == 0:
            return (1, self.a.cols)
        if self.axis == 1:
            return (self.a.rows, 1)
        raise ShapeError(f"sum: axis must be None, 0 or 1, got {self.axis!r}")


# -- matrix functions -----------------------------------------------------------
@node
class Trace(Expr):
    """tr(A)."""

    a: Expr
    op: ClassVar[str] = "trace"

    def infer_shape(self) -> Shape:
        _need_square(self.op, self.a)
        return SCALAR_SHAPE


@node
class Det(Expr):
    """det(A)."""

    a: Expr
    op: ClassVar[str] = "det"

    def infer_shape(self) -> Shape:
        _need_square(self.op, self.a)
        return SCALAR_SHAPE


@node
class LogDet(Expr):
    """log det(A), for det(A) > 0."""

    a: Expr
    op: ClassVar[str] = "logdet"

    def infer_shape(self) -> Shape:
        _need_square(self.op, self.a)
        return SCALAR_SHAPE


@node
class Inv(Expr):
    """A⁻¹."""

    a: Expr
    op: ClassVar[str] = "inv"

    def infer_shape(self) -> Shape:
        _need_square(self.op, self.a)
        return self.a.shape


@node
class Diag(Expr):
    """diag(v): the square matrix with the vector v on its diagonal."""

    a: Expr
    op: ClassVar[str] = "diag"

    def infer_shape(self) -> Shape:
        _need_vector(self.op, self.a)
        return (self.a.rows, self.a.rows)


@node
class DiagPart(Expr):
    """diag(A): the column vector of A's diagonal entries."""

    a: Expr
    op: ClassVar[str] = "diag"

    def infer_shape(self) -> Shape:
        _need_square(self.op, self.a)
        return (self.a.rows, 1)


@node
class Norm(Expr):
    """‖A‖: the Euclidean norm of a vector, the Frobenius norm of a matrix."""

    a: Expr
    op: ClassVar[str] = "norm"

    def infer_shape(self) -> Shape:
        return SCALAR_SHAPE


@node
class Softmax(Expr):
    """softmax, column by column: exp(a) / (𝟏ᵀ exp(a))."""

    a: Expr
    op: ClassVar[str] = "softmax"

    def infer_shape(self) -> Shape:
        return self.a.shape


@node
class LogSumExp(Expr):
    """log(𝟏ᵀ exp(a)), column by column (a row for a matrix, a scalar for a vector)."""

    a: Expr
    op: ClassVar[str] = "logsumexp"

    def infer_shape(self) -> Shape:
        return (1, self.a.cols)


NODE_TYPES: tuple[type[Expr], ...] = (
    Variable, Const, Ones, Zero, Identity, Neg, Add, Sub, Mul, Div, Pow, Maximum,
    Apply, MatMul, Transpose, Sum, Trace, Det, LogDet, Inv, Diag, DiagPart, Norm,
    Softmax, LogSumExp,
)  # fmt: skip


# -- conversion and traversal ----------------------------------------------------
def as_expr(value: object, op: str = "expression") -> Expr:
    """An Expr, or a Python / sympy number turned into a scalar constant."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, bool):
        raise OperandError(f"{op}: {value!r} is not a number or matcalc expression")
    if isinstance(value, int | float | sympy.Number):
        return Const.make(exact_number(value, op))
    if (
        isinstance(value, sympy.Expr)
        and value.free_symbols
        and all(s.is_integer and s.is_positive for s in value.free_symbols)
    ):
        return Const.make(value)  # a size such as n, for a mean: sum(x) / n
    raise OperandError(
        f"{op}: {type(value).__name__} is not a number or matcalc expression "
        "(arrays enter through variables and mc.evaluate)"
    )


def exact_number(value: int | float | sympy.Number, op: str = "constant") -> sympy.Expr:
    """A Python number as a sympy number; short decimals like 0.5 become exact (1/2)."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ConstantError(f"{op}: constant {value!r} is not finite")
        shown = repr(value)
        # A float the user typed as a short decimal means that decimal exactly.
        if len(shown) <= 12 and "e" not in shown:
            return sympy.Rational(shown)
        return sympy.Float(value)
    if isinstance(value, int):
        return sympy.Integer(value)
    if not value.is_finite:
        raise ConstantError(f"{op}: constant {value!r} is not finite")
    return value


def matmul(a: Expr, b: Expr) -> Expr:
    """a @ b; a 1×1 operand whose inner size does not fit is a scalar factor."""
    if a.cols != b.rows and (a.is_scalar or b.is_scalar):
        return Mul.make(a, b)
    return MatMul.make(a, b)


def matmul_factors(product: Expr) -> list[Expr]:
    """The factors of a chain of matrix products, left to right: A (B C) and (A B) C
    are both [A, B, C].  Iterative, as a deep chain is long."""
    factors: list[Expr] = []
    stack = [product]
    while stack:
        item = stack.pop()
        if isinstance(item, MatMul):
            stack.extend(reversed(item.args))
        else:
            factors.append(item)
    return factors


def postorder(*roots: Expr, leaf: Callable[[Expr], bool] | None = None) -> list[Expr]:
    """Every node reachable from roots, children before parents, each once; a node
    for which leaf is true is listed but not entered."""
    order: list[Expr] = []
    seen: set[int] = set()
    stack: list[tuple[Expr, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        current, expanded = stack.pop()
        if expanded:
            order.append(current)
            continue
        if id(current) in seen:
            continue
        seen.add(id(current))
        if leaf is not None and leaf(current):
            order.append(current)
            continue
        stack.append((current, True))
        for child in reversed(current.args):
            if id(child) not in seen:
                stack.append((child, False))
    return order


def iter_variables(expr: Expr) -> Iterator[Variable]:
    for item in postorder(expr):
        if isinstance(item, Variable):
            yield item


def variables(expr: Expr) -> dict[str, Variable]:
    """``{name: variable}`` for the variables in expr."""
    found: dict[str, Variable] = {}
    for var in iter_variables(as_expr(expr)):
        other = found.get(var.name)
        if other is not None and other is not var:
            raise ShapeError(
                f"variables: {var.name} is used as {format_shape(other.shape)} and as "
                f"{format_shape(var.shape)}"
            )
        found[var.name] = var
    return found


def substitute(expr: Expr, old: Expr, new: Expr) -> Expr:
    """expr with every use of the subexpression old replaced by new."""
    done: dict[int, Expr] = {}
    for node in postorder(expr):
        if node is old:
            done[id(node)] = new
        else:
            args = [done[id(a)] for a in node.args]
            done[id(node)] = node.with_args(*args) if args else node
    return done[id(expr)]


def dims_of(rows: object, cols: object, what: str = "shape") -> Shape:
    return (as_dim(rows, what), as_dim(cols, what))
