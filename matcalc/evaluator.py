"""The pure-numpy reference interpreter (also the tests' oracle for numbers).

Every value is a 2-D float array of the node's shape; a scalar result is
returned as a Python float.  Dimension symbols are bound from the arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import singledispatch
from typing import Any, cast

import numpy as np
import sympy

from . import expr as E
from . import simplifier as s
from .dims import format_shape
from .errors import EvaluationError, MatcalcError, ShapeError
from .functions import DOMAIN_WORDS, FUNCTIONS

Bindings = dict[sympy.Symbol, int]


def _as_array(name: str, value: object) -> np.ndarray:
    if np.iscomplexobj(cast(Any, value)):  # asarray(…, float) would drop the imaginary part
        raise EvaluationError(
            f"evaluate: value of {name} is complex; matcalc computes with real numbers"
        )
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise EvaluationError(f"evaluate: value of {name} is not numeric ({error})") from None
    if array.dtype == object or array.ndim > 2:
        raise EvaluationError(f"evaluate: value of {name} has {array.ndim} axes; at most 2")
    return array


def fit_array(var: E.Variable, value: object) -> np.ndarray:
    """The array for var as 2-D: (n,) and (n, 1) both mean a column vector; a value
    that breaks a declared property (symmetric, probability) is refused."""
    array = _as_2d(var, value)
    if var.symmetric and (array.shape[0] != array.shape[1] or not np.allclose(array, array.T)):
        raise EvaluationError(f"evaluate: {var.name} is declared symmetric but its value is not")
    if var.probability:
        sums = array.sum(axis=0)
        if np.any(array < 0) or not np.allclose(sums, 1.0):
            raise EvaluationError(
                f"evaluate: {var.name} is declared a probability vector (entries ≥ 0 summing "
                "to 1 in each column) but its value is not"
            )
    return array


def _as_2d(var: E.Variable, value: object) -> np.ndarray:
    array = _as_array(var.name, value)
    if array.ndim == 0:
        array = array.reshape(1, 1)
    elif array.ndim == 1:
        if var.cols == 1:
            array = array.reshape(-1, 1)
        elif var.rows == 1:
            array = array.reshape(1, -1)
        else:
            raise ShapeError(
                f"evaluate: {var.name} is {format_shape(var.shape)} but its value has shape "
                f"{array.shape}"
            )
    return array


def bind_dims(
    variables: Mapping[str, E.Variable], arrays: Mapping[str, np.ndarray], bindings: Bindings
) -> Bindings:
    """Bind each dimension symbol to a size; a symbol seen with two sizes is an error."""
    origin: dict[sympy.Symbol, str] = {d: "the given sizes" for d in bindings}
    for name, var in variables.items():
        array = arrays[name]
        for axis, (dim, size) in enumerate(zip(var.shape, array.shape, strict=True)):
            if isinstance(dim, sympy.Symbol):
                known = bindings.get(dim)
                if known is None:
                    bindings[dim] = size
                    origin[dim] = name
                elif known != size:
                    raise ShapeError(
                        f"evaluate: dimension {dim} is {known} from {origin[dim]} but {size} "
                        f"from {name}"
                    )
            elif dim != size:
                raise ShapeError(
                    f"evaluate: {name} is {format_shape(var.shape)} but its value has shape "
                    f"{array.shape} (axis {axis})"
                )
    return bindings


def _size(dim: sympy.Symbol, value: object) -> int:
    """A value given for a dimension: a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < 1:
        raise EvaluationError(f"evaluate: the size given for {dim} must be a positive integer, "
                              f"got {value!r}")  # fmt: skip
    return int(value)


def prepare(expr: E.Expr, values: Mapping[Any, object]) -> tuple[dict[str, np.ndarray], Bindings]:
    """Check values against expr's variables: arrays by name and the dimension bindings."""
    if not isinstance(values, Mapping):
        raise EvaluationError(
            f"evaluate: values must map names (or variables) to arrays, got a "
            f"{type(values).__name__}: mc.evaluate(f, {{'x': …}})"
        )
    variables = E.variables(expr)
    given: dict[str, object] = {}
    declared: dict[str, E.Variable] = {}
    bindings: Bindings = {}
    for key, value in values.items():
        if value is None:
            raise EvaluationError(
                f"evaluate: the value given for {getattr(key, 'name', key)} is None"
            )
        if isinstance(key, E.Variable):
            given[key.name] = value
            declared[key.name] = key
        elif isinstance(key, sympy.Symbol):
            bindings[key] = _size(key, value)
        elif isinstance(key, str):
            given[key] = value
        else:
            raise EvaluationError(f"evaluate: cannot use {key!r} as a variable name")
    dim_names = {
        str(d): d
        for node in E.postorder(expr)
        for d in (*node.shape, *(node.value.free_symbols if isinstance(node, E.Const) else ()))
        if isinstance(d, sympy.Symbol)
    }
    for name in list(given):
        if name not in variables and name in dim_names:
            bindings[dim_names[name]] = _size(dim_names[name], given.pop(name))
    missing = sorted(set(variables) - set(given))
    if missing:
        raise EvaluationError(f"evaluate: no value given for {', '.join(missing)}")
    arrays = {name: fit_array(var, given[name]) for name, var in variables.items()}
    bind_dims(variables, arrays, bindings)
    unbound = set(dim_names.values()) - set(bindings)
    if unbound:
        _bind_from_other_variables(unbound, given, declared, variables, bindings)
    return arrays, bindings


def _bind_from_other_variables(
    unbound: set[sympy.Symbol],
    given: Mapping[str, object],
    declared: Mapping[str, E.Variable],
    skip: Mapping[str, E.Variable],
    bindings: Bindings,
) -> None:
    """Sizes from values of variables that expr does not mention.

    The gradient of sum(X) w.r.t. X is 𝟏, which mentions no variable; the value
    given for X still fixes the sizes: through X itself where values are keyed
    by variables, else through the variables now named X, if they agree.
    """
    found: dict[sympy.Symbol, tuple[int, str]] = {}
    for name, value in given.items():
        if name in skip:
            continue
        readings: list[Bindings] = []
        for var in [declared[name]] if name in declared else E.live_variables(name):
            if np.ndim(value) == 0 and not var.is_scalar:  # type: ignore[arg-type]
                continue  # a single number says nothing about a vector's length
            try:
                readings.append(bind_dims({name: var}, {name: fit_array(var, value)}, {}))
            except MatcalcError:
                continue  # a variable of the same name but another shape
        for dim in unbound:
            sizes = {reading.get(dim) for reading in readings}
            if len(sizes) != 1 or None in sizes:
                continue  # the variables of this name disagree: this value cannot tell
            (size,) = sizes
            assert size is not None
            if dim in found and found[dim][0] != size:
                raise ShapeError(
                    f"evaluate: dimension {dim} is {found[dim][0]} from {found[dim][1]} but "
                    f"{size} from {name}"
                )
            found[dim] = (size, name)
    bindings.update({dim: size for dim, (size, _) in found.items()})


def size_of(dim: object, bindings: Bindings) -> int:
    if isinstance(dim, int):
        return dim
    if dim not in bindings:
        raise EvaluationError(
            f"evaluate: the size of dimension {dim} is not known; pass it ({{'{dim}': 3}}) "
            "or key the values by variable ({x: array}) rather than by name"
        )
    return bindings[dim]  # type: ignore[index]


def evaluate(expr: E.Expr, values: Mapping[Any, object] | None = None) -> float | np.ndarray:
    """The value of expr: a float for a scalar, else a 2-D ndarray.

    A log is computed in the simplifier's normal form, whose stable rewrites keep
    log σ(t), log(1 − σ(t)) and log softmax(z) finite wherever they are."""
    expr = E.as_expr(expr)
    if any(isinstance(node, E.Apply) and node.fn == "log" for node in E.postorder(expr)):
        expr = s.simplify(expr)
    arrays, bindings = prepare(expr, values or {})
    result = evaluate_arrays(expr, arrays, bindings)
    return float(result[0, 0]) if expr.is_scalar else result


class Structured:
    """A matrix kept as D + U Vᵀ, never as its r×c table: D = diag(d) for an r×1
    column d (None when D = 0; then the matrix need not be square), U of shape
    (r, k) and V of shape (c, k) with k small.

    diag(v) (d = v, k = 0), I, 𝟏𝟏ᵀ (u = 𝟏, v = 𝟏), an outer product x yᵀ, a
    product A B whose inner size k is below both outer sizes, the softmax
    Jacobian diag(p) − p pᵀ, and their sums, scalings, transposes and products
    are all of this form, closed under each (see ``_matmul`` for the product);
    each reduction (tr, sum, the diagonal) and each product with a dense matrix
    then costs O((r + c) k) memory, where the dense table costs r c."""

    __slots__ = ("_table", "diagonal", "left", "right")

    def __init__(self, diagonal: np.ndarray | None, left: np.ndarray, right: np.ndarray) -> None:
        self.diagonal = diagonal
        self.left = left
        self.right = right
        self._table: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.left.shape[0], self.right.shape[0])

    @property
    def rank(self) -> int:
        """k, the number of columns of U and V."""
        return self.left.shape[1]

    def dense(self) -> np.ndarray:
        """The r×c table (kept: a node used by several dense consumers is built once)."""
        if self._table is None:
            table = self.left @ self.right.T
            if self.diagonal is not None:
                table[np.diag_indices(table.shape[0])] += self.diagonal[:, 0]
            self._table = table
        return self._table


Value = np.ndarray | Structured


def diagonal(vector: np.ndarray) -> Structured:
    """diag(v) for an r×1 column v."""
    empty = np.zeros((vector.shape[0], 0))
    return Structured(vector, empty, empty)


def low_rank(left: np.ndarray, right: np.ndarray) -> Structured:
    """U Vᵀ."""
    return Structured(None, left, right)


def _dense(value: Value) -> np.ndarray:
    return value.dense() if isinstance(value, Structured) else value


def _product(a: np.ndarray, b: np.ndarray) -> Value:
    """a b, kept as the low-rank U Vᵀ = a b when its factors are smaller than the
    table: k (r + c) < r c for a of shape (r, k) and b of shape (k, c)."""
    (rows, inner), cols = a.shape, b.shape[1]
    if inner * (rows + cols) < rows * cols:
        return low_rank(a, b.T)
    return a @ b


def _broadcast(value: np.ndarray, shape: tuple[int, int]) -> Structured:
    """A scalar c, a column u or a row w stretched to shape, as a rank-one matrix:
    c 𝟏𝟏ᵀ, u 𝟏ᵀ or 𝟏 w."""
    rows, cols = shape
    if value.shape == (1, 1):
        return low_rank(np.full((rows, 1), value[0, 0]), np.ones((cols, 1)))
    if value.shape[1] == 1:
        return low_rank(value, np.ones((cols, 1)))
    return low_rank(np.ones((rows, 1)), value.T)


def _scaled(m: Structured, factor: np.ndarray) -> Structured:
    """m ⊙ factor for a scalar, column (rows scaled: diag(u) m) or row (columns scaled:
    m diag(w)) factor."""
    d = m.diagonal
    if factor.shape == (1, 1):
        c = factor[0, 0]
        return Structured(None if d is None else c * d, c * m.left, m.right)
    if factor.shape[1] == 1:  # diag(u)(D + U Vᵀ) = diag(u ⊙ d) + (u ⊙ U) Vᵀ
        return Structured(None if d is None else factor * d, factor * m.left, m.right)
    column = factor.T  # (D + U Vᵀ) diag(w) = diag(d ⊙ w) + U (w ⊙ V)ᵀ
    return Structured(None if d is None else d * column, m.left, m.right * column)


def _kept(m: Structured) -> Value:
    """m, or its table where the factors have grown as large as the table (a sum of
    many outer products of short vectors): ranks add under sums and products."""
    (rows, cols), entries = m.shape, m.rank * (m.shape[0] + m.shape[1])
    if m.diagonal is not None:
        entries += rows
    return m.dense() if entries >= rows * cols else m


def _summed(a: Structured, b: Structured, sign: float) -> Value:
    """a + sign · b: the diagonals add, the factors stack (ranks add)."""
    if a.diagonal is None:
        d = None if b.diagonal is None else sign * b.diagonal
    else:
        d = a.diagonal if b.diagonal is None else a.diagonal + sign * b.diagonal
    return _kept(Structured(d, np.hstack([a.left, sign * b.left]), np.hstack([a.right, b.right])))


def _matmul(a: Value, b: Value) -> Value:
    """The product, with a structured factor never made dense:
    (D + U Vᵀ) M = d ⊙ M + U (Vᵀ M),  M (D + U Vᵀ) = M ⊙ dᵀ + (M U) Vᵀ, and
    (D₁ + U₁V₁ᵀ)(D₂ + U₂V₂ᵀ) = D₁D₂ + (D₁U₂ + U₁(V₁ᵀU₂)) V₂ᵀ + U₁ (D₂V₁)ᵀ."""
    if not isinstance(a, Structured) and not isinstance(b, Structured):
        return _product(a, b)
    if isinstance(a, Structured) and isinstance(b, Structured):
        d1, d2 = a.diagonal, b.diagonal
        first = a.left @ (a.right.T @ b.left)
        if d1 is not None:
            first = first + d1 * b.left
        lefts, rights = [first], [b.right]
        if d2 is not None:
            lefts.append(a.left)
            rights.append(d2 * a.right)
        d = None if d1 is None or d2 is None else d1 * d2
        return _kept(Structured(d, np.hstack(lefts), np.hstack(rights)))
    if isinstance(a, Structured):
        assert isinstance(b, np.ndarray)
        inner = a.right.T @ b  # Vᵀ M, k × p
        if a.diagonal is None:
            return _product(a.left, inner)
        return a.diagonal * b + a.left @ inner
    assert isinstance(b, Structured)
    outer = a @ b.left  # M U, p × k
    if b.diagonal is None:
        return _product(outer, b.right.T)
    return a * b.diagonal.T + outer @ b.right.T


def _trace(m: Structured) -> float:
    """tr(D + U Vᵀ) = Σ dᵢ + Σᵢⱼ Uᵢⱼ Vᵢⱼ."""
    total = float(np.sum(m.left * m.right))
    return total if m.diagonal is None else total + float(np.sum(m.diagonal))


def _diagonal_of(m: Structured) -> np.ndarray:
    """diag(D + U Vᵀ) = d + (U ⊙ V) 𝟏."""
    part = np.sum(m.left * m.right, axis=1, keepdims=True)
    return part if m.diagonal is None else part + m.diagonal


def _sum_of(m: Structured, axis: int | None) -> np.ndarray:
    """𝟏ᵀ(D + U Vᵀ)𝟏 = 𝟏ᵀd + (𝟏ᵀU)(Vᵀ𝟏); column sums dᵀ + (𝟏ᵀU) Vᵀ; row sums d + U (Vᵀ𝟏)."""
    d = m.diagonal
    if axis is None:
        total = m.left.sum(axis=0) @ m.right.sum(axis=0)
        return np.reshape(total if d is None else total + np.sum(d), (1, 1))
    if axis == 0:
        row = (m.left.sum(axis=0) @ m.right.T).reshape(1, -1)
        return row if d is None else row + d.T
    column = (m.left @ m.right.sum(axis=0)).reshape(-1, 1)
    return column if d is None else column + d


Context = tuple[Mapping[str, np.ndarray], Bindings]


def evaluate_arrays(
    expr: E.Expr, arrays: Mapping[str, np.ndarray], bindings: Bindings
) -> np.ndarray:
    """The value of expr, as a dense 2-D array, from the variables' arrays.

    Structured intermediates (diagonal, low-rank and their sums, see ``Structured``)
    stay structured; only the result is made dense.  An intermediate is dropped once
    its last consumer has used it, so the memory held is that of the live values."""
    order = E.postorder(expr)
    last_use: dict[int, int] = {}  # node id → the position of its last consumer
    for position, item in enumerate(order):
        for child in item.args:
            last_use[id(child)] = position
    done: dict[int, Value] = {}
    kept_structured: set[int] = set()  # the ids whose values are Structured
    context = (arrays, bindings)
    with np.errstate(all="ignore"):
        for position, item in enumerate(order):
            args: list[Any] = [done[id(a)] for a in item.args]
            value: Value | None = None
            if kept_structured and any(id(a) in kept_structured for a in item.args):
                value = structured(item, args, context)
                if value is None:  # no structured form: the dense tables
                    args = [_dense(a) for a in args]
            if value is None:
                value = numeric(item, args, context)
            if isinstance(value, Structured):
                kept_structured.add(id(item))
            else:
                value = np.asarray(value, dtype=float)
            done[id(item)] = value
            for child in item.args:
                if last_use[id(child)] == position:
                    done.pop(id(child), None)
                    kept_structured.discard(id(child))
    return _dense(done[id(expr)])


@singledispatch
def numeric(node: E.Expr, args: list[Any], context: Context) -> Value:
    """The value of node from its arguments' dense values (a diagonal, identity,
    all-ones or zero matrix, and a low-rank product, come back ``Structured``)."""
    raise TypeError(f"no evaluator for {type(node).__name__}")


@singledispatch
def structured(node: E.Expr, args: list[Any], context: Context) -> Value | None:
    """The value of node from arguments of which one at least is ``Structured``, or
    None where node has no structured form (its arguments are then made dense)."""
    return None


@numeric.register
def _(node: E.Variable, args: list[np.ndarray], context: Context) -> np.ndarray:
    return context[0][node.name]


@numeric.register
def _(node: E.Const, args: list[np.ndarray], context: Context) -> np.ndarray:
    value = node.value
    if value.free_symbols:
        value = value.subs({d: size_of(d, context[1]) for d in value.free_symbols})
    return np.full((1, 1), float(value))


def _shape(node: E.Expr, context: Context) -> tuple[int, int]:
    return (size_of(node.rows, context[1]), size_of(node.cols, context[1]))


@numeric.register
def _(node: E.Ones, args: list[np.ndarray], context: Context) -> Value:
    rows, cols = _shape(node, context)
    if rows > 1 and cols > 1:  # 𝟏𝟏ᵀ
        return low_rank(np.ones((rows, 1)), np.ones((cols, 1)))
    return np.ones((rows, cols))


@numeric.register
def _(node: E.Zero, args: list[np.ndarray], context: Context) -> Value:
    rows, cols = _shape(node, context)
    if rows > 1 and cols > 1:  # rank 0
        return low_rank(np.zeros((rows, 0)), np.zeros((cols, 0)))
    return np.zeros((rows, cols))


@numeric.register
def _(node: E.Identity, args: list[np.ndarray], context: Context) -> Structured:
    return diagonal(np.ones((size_of(node.n, context[1]), 1)))


@numeric.register
def _(node: E.Neg, args: list[np.ndarray], context: Context) -> np.ndarray:
    return -args[0]


_BINARY: dict[type, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    E.Add: np.add,
    E.Sub: np.subtract,
    E.Mul: np.multiply,
    E.Div: np.divide,
    E.Pow: np.power,
    E.Maximum: np.maximum,
}


def _broadcast_shape(
    node: E.Expr, a_shape: tuple[int, ...], b_shape: tuple[int, ...]
) -> tuple[int, int]:
    try:
        rows, cols = np.broadcast_shapes(a_shape, b_shape)
        return (rows, cols)
    except ValueError as error:  # sizes bound to 1 vs k that the symbols hid
        raise ShapeError(f"{node.op}: values of shape {a_shape} and {b_shape} ({error})") from None


def _elementwise_binary(node: E.Expr, args: list[np.ndarray], context: Context) -> Value:
    a, b = args
    if a.shape != b.shape:
        shape = _broadcast_shape(node, a.shape, b.shape)
        full = a.shape == shape or b.shape == shape
        if not full and isinstance(node, E.Add | E.Sub) and shape[0] > 1 and shape[1] > 1:
            # x 𝟏ᵀ ± 𝟏 yᵀ: rank two, not a table
            return _summed(_broadcast(a, shape), _broadcast(b, shape), _SIGN[type(node)])
    if isinstance(node, E.Pow) and np.any(a < 0) and np.any(b != np.round(b)):
        raise EvaluationError("power: a negative base needs an integer exponent")
    return _BINARY[type(node)](a, b)


_SIGN = {E.Add: 1.0, E.Sub: -1.0}

for _cls in _BINARY:
    numeric.register(_cls)(_elementwise_binary)


@numeric.register
def _(node: E.Apply, args: list[np.ndarray], context: Context) -> np.ndarray:
    (a,) = args
    fn = FUNCTIONS[node.fn]
    if not fn.in_domain(a):
        raise EvaluationError(
            f"{node.fn}: needs {DOMAIN_WORDS[fn.domain]}; its argument has other entries"
        )
    return fn.numpy(a)


def _fit(a: Value, b: Value) -> None:
    if a.shape[1] != b.shape[0]:
        raise ShapeError(f"matmul: values of shape {a.shape} and {b.shape} do not fit")


@numeric.register
def _(node: E.MatMul, args: list[np.ndarray], context: Context) -> Value:
    a, b = args
    _fit(a, b)
    return _product(a, b)


@numeric.register
def _(node: E.Transpose, args: list[np.ndarray], context: Context) -> np.ndarray:
    return args[0].T


@numeric.register
def _(node: E.Sum, args: list[np.ndarray], context: Context) -> np.ndarray:
    (a,) = args
    if node.axis is None:
        return np.sum(a).reshape(1, 1)
    return np.sum(a, axis=node.axis, keepdims=True)


def _square(node: E.Expr, a: Value) -> None:
    if a.shape[0] != a.shape[1]:
        raise ShapeError(f"{node.op}: needs a square matrix, got values of shape {a.shape}")


@numeric.register
def _(node: E.Trace, args: list[np.ndarray], context: Context) -> np.ndarray:
    _square(node, args[0])
    return np.trace(args[0]).reshape(1, 1)


@numeric.register
def _(node: E.Det, args: list[np.ndarray], context: Context) -> np.ndarray:
    _square(node, args[0])
    return np.linalg.det(args[0]).reshape(1, 1)


def _positive_logdet(sign: float, logabs: float) -> np.ndarray:
    if sign <= 0:
        raise EvaluationError("logdet: needs det X > 0, but the determinant is not positive")
    return np.asarray(logabs).reshape(1, 1)


@numeric.register
def _(node: E.LogDet, args: list[np.ndarray], context: Context) -> np.ndarray:
    _square(node, args[0])
    return _positive_logdet(*np.linalg.slogdet(args[0]))


def _singular() -> EvaluationError:
    return EvaluationError("inv: the matrix is singular")


@numeric.register
def _(node: E.Inv, args: list[np.ndarray], context: Context) -> np.ndarray:
    _square(node, args[0])
    try:
        return np.linalg.inv(args[0])
    except np.linalg.LinAlgError:
        raise _singular() from None


@numeric.register
def _(node: E.Diag, args: list[np.ndarray], context: Context) -> Structured:
    return diagonal(args[0])


@numeric.register
def _(node: E.DiagPart, args: list[np.ndarray], context: Context) -> np.ndarray:
    return np.diagonal(args[0]).reshape(-1, 1).copy()


@numeric.register
def _(node: E.Norm, args: list[np.ndarray], context: Context) -> np.ndarray:
    return np.sqrt(np.sum(args[0] * args[0])).reshape(1, 1)


# -- structured arguments: each rule keeps the structure or returns None ---------------
def _pure_diagonal(m: Structured) -> np.ndarray | None:
    """d, when m is diag(d) (no low-rank part)."""
    return m.diagonal if m.rank == 0 else None


@structured.register
def _(node: E.Neg, args: list[Structured], context: Context) -> Structured:
    return _scaled(args[0], np.full((1, 1), -1.0))


@structured.register
def _(node: E.Transpose, args: list[Structured], context: Context) -> Structured:
    (m,) = args  # (D + U Vᵀ)ᵀ = D + V Uᵀ
    return Structured(m.diagonal, m.right, m.left)


@structured.register(E.Add)
@structured.register(E.Sub)
def _(node: E.Add | E.Sub, args: list[Value], context: Context) -> Value | None:
    a, b = args
    shape = _broadcast_shape(node, a.shape, b.shape)
    sign = _SIGN[type(node)]
    full = (isinstance(a, np.ndarray) and a.shape == shape) or (
        isinstance(b, np.ndarray) and b.shape == shape
    )
    if full:  # beside a full table the sum is one
        return _BINARY[type(node)](_dense(a), _dense(b))
    if isinstance(a, np.ndarray):
        a = _broadcast(a, shape)  # a scalar, column or row beside a structured matrix
    if isinstance(b, np.ndarray):
        b = _broadcast(b, shape)
    if a.shape != shape or b.shape != shape:
        return None  # a structured 1×k stretched further: dense
    return _summed(a, b, sign)


def _is_factor(value: Value, shape: tuple[int, ...]) -> bool:
    """A scalar, column or row that scales the rows or columns of a matrix of shape."""
    if not isinstance(value, np.ndarray):
        return False
    return value.shape == (1, 1) or value.shape in ((shape[0], 1), (1, shape[1]))


@structured.register
def _(node: E.Mul, args: list[Value], context: Context) -> Value | None:
    a, b = args
    if isinstance(a, Structured) and _is_factor(b, a.shape):
        return _scaled(a, cast(np.ndarray, b))
    if isinstance(b, Structured) and _is_factor(a, b.shape):
        return _scaled(b, cast(np.ndarray, a))
    if a.shape != b.shape:
        return None
    for m, other in ((a, b), (b, a)):  # diag(d) ⊙ M = diag(d ⊙ diag(M))
        d = _pure_diagonal(m) if isinstance(m, Structured) else None
        if d is not None:
            part = _diagonal_of(other) if isinstance(other, Structured) else None
            if part is None:
                part = np.diagonal(cast(np.ndarray, other)).reshape(-1, 1)
            return diagonal(d * part)
    return None


@structured.register
def _(node: E.Div, args: list[Value], context: Context) -> Value | None:
    a, b = args
    if isinstance(a, Structured) and _is_factor(b, a.shape):
        return _scaled(a, 1.0 / cast(np.ndarray, b))
    return None


@structured.register
def _(node: E.MatMul, args: list[Value], context: Context) -> Value:
    a, b = args
    _fit(a, b)
    return _matmul(a, b)


@structured.register
def _(node: E.Sum, args: list[Structured], context: Context) -> np.ndarray:
    return _sum_of(args[0], node.axis)


@structured.register
def _(node: E.Trace, args: list[Structured], context: Context) -> np.ndarray:
    _square(node, args[0])
    return np.reshape(_trace(args[0]), (1, 1))


@structured.register
def _(node: E.DiagPart, args: list[Structured], context: Context) -> np.ndarray:
    _square(node, args[0])
    return _diagonal_of(args[0])


@structured.register
def _(node: E.Norm, args: list[Structured], context: Context) -> np.ndarray | None:
    (m,) = args
    d = _pure_diagonal(m)
    if d is not None:  # ‖diag(d)‖ = ‖d‖
        return np.sqrt(np.sum(d * d)).reshape(1, 1)
    if m.diagonal is None and m.rank <= 1:  # ‖u vᵀ‖ = ‖u‖ ‖v‖ (and 0 for rank 0)
        return np.reshape(np.linalg.norm(m.left) * np.linalg.norm(m.right), (1, 1))
    return None  # a sum of parts: its norm by the table (an expansion would cancel)


@structured.register
def _(node: E.Det, args: list[Structured], context: Context) -> np.ndarray | None:
    d = _pure_diagonal(args[0])
    return None if d is None else np.prod(d).reshape(1, 1)


@structured.register
def _(node: E.LogDet, args: list[Structured], context: Context) -> np.ndarray | None:
    d = _pure_diagonal(args[0])
    if d is None:
        return None
    return _positive_logdet(float(np.prod(np.sign(d))), float(np.sum(np.log(np.abs(d)))))


@structured.register
def _(node: E.Inv, args: list[Structured], context: Context) -> Structured | None:
    d = _pure_diagonal(args[0])
    if d is None:
        return None
    if np.any(d == 0):
        raise _singular()
    return diagonal(1.0 / d)


def stable_softmax(a: np.ndarray) -> np.ndarray:
    shifted = np.exp(a - np.max(a, axis=0, keepdims=True))
    return shifted / np.sum(shifted, axis=0, keepdims=True)


def stable_logsumexp(a: np.ndarray) -> np.ndarray:
    top = np.max(a, axis=0, keepdims=True)
    return top + np.log(np.sum(np.exp(a - top), axis=0, keepdims=True))


@numeric.register
def _(node: E.Softmax, args: list[np.ndarray], context: Context) -> np.ndarray:
    return stable_softmax(args[0])


@numeric.register
def _(node: E.LogSumExp, args: list[np.ndarray], context: Context) -> np.ndarray:
    return stable_logsumexp(args[0])
