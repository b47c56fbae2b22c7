"""The user-facing constructors of the public API: variables, constants, functions.

They build expressions exactly as written (no simplification), checking
shapes at construction so a mismatch is reported where it is made.
"""

from __future__ import annotations

from collections.abc import Callable

from . import expr as E
from .dims import format_shape
from .errors import DeclarationError, ShapeError
from .functions import FUNCTIONS
from .names import checked_name


def _name(name: object, what: str) -> str:
    return checked_name(name, what)


NO_PROPERTIES: frozenset[str] = frozenset()


def scalar(name: str) -> E.Variable:
    """A scalar variable, shape (1, 1)."""
    return E.Variable.make(_name(name, "scalar"), 1, 1, "scalar", NO_PROPERTIES)


def vector(name: str, n: object, probability: bool = False) -> E.Variable:
    """A column vector variable, shape (n, 1).

    probability=True: its entries are ≥ 0 and sum to 1 (a target distribution)."""
    rows, cols = E.dims_of(n, 1, f"vector {name}")
    known = _properties(name, probability=probability)
    return E.Variable.make(_name(name, "vector"), rows, cols, "vector", known)


def matrix(
    name: str, rows: object, cols: object, symmetric: bool = False, probability: bool = False
) -> E.Variable:
    """A matrix variable, shape (rows, cols).

    symmetric=True: Sᵀ = S (square).  probability=True: each column is a
    probability vector (entries ≥ 0 summing to 1), one example per column."""
    shape = E.dims_of(rows, cols, f"matrix {name}")
    if symmetric and shape[0] != shape[1]:
        raise DeclarationError(
            f"matrix {name}: a symmetric matrix is square, but it is {format_shape(shape)}"
        )
    known = _properties(name, symmetric=symmetric, probability=probability)
    return E.Variable.make(_name(name, "matrix"), *shape, "matrix", known)


def _properties(name: str, **flags: object) -> frozenset[str]:
    for flag, value in flags.items():
        if not isinstance(value, bool):
            raise DeclarationError(f"{name}: {flag} must be True or False, got {value!r}")
    return frozenset(flag for flag, value in flags.items() if value)


def ones(rows: object, cols: object = 1) -> E.Expr:
    """The all-ones matrix 𝟏 (a ones vector when cols is 1)."""
    return E.Ones.make(*E.dims_of(rows, cols, "ones"))


def zeros(rows: object, cols: object = 1) -> E.Expr:
    """The zero matrix."""
    return E.Zero.make(*E.dims_of(rows, cols, "zeros"))


def eye(n: object) -> E.Expr:
    """The n×n identity matrix I."""
    (size, _) = E.dims_of(n, 1, "eye")
    return E.Identity.make(size)


def elementwise(name: str) -> Callable[[object], E.Expr]:
    """The constructor of a catalogue function: f(x) applied entry by entry."""
    entry = FUNCTIONS[name]

    def construct(x: object) -> E.Expr:
        return E.Apply.make(name, E.as_expr(x, name))

    construct.__name__ = construct.__qualname__ = name
    construct.__doc__ = entry.doc
    return construct


# One line per function of the catalogue (functions.CATALOGUE).
exp = elementwise("exp")
sigmoid = elementwise("sigmoid")
tanh = elementwise("tanh")
relu = elementwise("relu")
sin = elementwise("sin")
cos = elementwise("cos")
sqrt = elementwise("sqrt")
abs = elementwise("abs")  # noqa: A001 - the API's name
step = elementwise("step")
sign = elementwise("sign")
softplus = elementwise("softplus")


def log(x: object) -> E.Expr:
    """log(x), the natural logarithm, elementwise (x > 0).

    log(det X) is kept as log det X, whose rule is ∂/∂X = X⁻ᵀ, and
    log(1 + exp(t)) (and log(𝟏 + exp(t))) as softplus(t), which is computed without
    overflow."""
    arg = E.as_expr(x, "log")
    if isinstance(arg, E.Det):
        return E.LogDet.make(arg.a)
    if isinstance(arg, E.Add):
        for one, other in ((arg.a, arg.b), (arg.b, arg.a)):
            # 1, or 𝟏 of exp(t)'s shape (MatrixCalculus.org's vector(1))
            is_one = (isinstance(one, E.Const) and one.value == 1) or (
                isinstance(one, E.Ones) and one.shape == other.shape
            )
            if is_one and isinstance(other, E.Apply) and other.fn == "exp":
                return E.Apply.make("softplus", other.a)
    return E.Apply.make("log", arg)


def maximum(a: object, b: object) -> E.Expr:
    """max(a, b), elementwise with broadcasting."""
    return E.Maximum.make(E.as_expr(a, "maximum"), E.as_expr(b, "maximum"))


def sum(x: object, axis: int | None = None) -> E.Expr:  # noqa: A001 - the API's name
    """Sum of all entries (axis None), column sums (axis 0) or row sums (axis 1)."""
    if axis is not None and (isinstance(axis, bool) or not isinstance(axis, int)):
        raise ShapeError(f"sum: axis must be None, 0 or 1, got {axis!r}")
    if axis is not None and axis < 0:
        axis += 2
    if axis not in (None, 0, 1):
        raise ShapeError(f"sum: axis must be None, 0 or 1, got {axis!r}")
    return E.Sum.make(E.as_expr(x, "sum"), axis)


def trace(x: object) -> E.Expr:
    """tr(X) of a square matrix."""
    return E.Trace.make(E.as_expr(x, "trace"))


def det(x: object) -> E.Expr:
    """det(X) of a square matrix."""
    return E.Det.make(E.as_expr(x, "det"))


def logdet(x: object) -> E.Expr:
    """log det(X), for det(X) > 0."""
    return E.LogDet.make(E.as_expr(x, "logdet"))


def inv(x: object) -> E.Expr:
    """X⁻¹ of a square matrix."""
    return E.Inv.make(E.as_expr(x, "inv"))


def diag(x: object) -> E.Expr:
    """diag(v): a column vector to its diagonal matrix.

    As in numpy, a square matrix gives its diagonal as a column vector.
    """
    value = E.as_expr(x, "diag")
    if value.is_column:
        return E.Diag.make(value)
    if value.rows == value.cols:
        return E.DiagPart.make(value)
    raise ShapeError(
        f"diag: needs a column vector or a square matrix but {E.describe(value)} is "
        f"{format_shape(value.shape)}"
    )


def norm(x: object) -> E.Expr:
    """‖x‖: Euclidean norm of a vector, Frobenius norm of a matrix."""
    return E.Norm.make(E.as_expr(x, "norm"))


def _as_column(v: E.Expr) -> E.Expr:
    return v if v.is_column else E.Transpose.make(v)


def dot(u: object, v: object) -> E.Expr:
    """uᵀv for two vectors of the same length (columns or rows)."""
    a, b = E.as_expr(u, "dot"), E.as_expr(v, "dot")
    if not (a.is_vector and b.is_vector):
        raise ShapeError(
            f"dot: needs two vectors but {E.describe(a)} is {format_shape(a.shape)} and "
            f"{E.describe(b)} is {format_shape(b.shape)}"
        )
    a, b = _as_column(a), _as_column(b)
    if a.rows != b.rows:
        raise ShapeError(
            f"dot: {E.describe(a)} is {format_shape(a.shape)} but {E.describe(b)} is "
            f"{format_shape(b.shape)}"
        )
    return E.MatMul.make(E.Transpose.make(a), b)


def outer(u: object, v: object) -> E.Expr:
    """u vᵀ for two vectors."""
    a, b = E.as_expr(u, "outer"), E.as_expr(v, "outer")
    if not (a.is_vector and b.is_vector):
        raise ShapeError(
            f"outer: needs two vectors but {E.describe(a)} is {format_shape(a.shape)} and "
            f"{E.describe(b)} is {format_shape(b.shape)}"
        )
    return E.MatMul.make(_as_column(a), E.Transpose.make(_as_column(b)))


def softmax(x: object) -> E.Expr:
    """softmax of a vector, or of each column of a matrix."""
    return E.Softmax.make(E.as_expr(x, "softmax"))


def logsumexp(x: object) -> E.Expr:
    """log Σ exp of a vector (a scalar), or of each column of a matrix (a row)."""
    return E.LogSumExp.make(E.as_expr(x, "logsumexp"))
