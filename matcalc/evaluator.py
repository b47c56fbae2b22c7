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


class Diagonal:
    """diag(v) kept as its vector v: a product diag(v) M is v ⊙ M, never dense."""

    __slots__ = ("vector",)

    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector

    def dense(self) -> np.ndarray:
        return np.diagflat(self.vector)


def _dense(value: np.ndarray | Diagonal) -> np.ndarray:
    return value.dense() if isinstance(value, Diagonal) else value


def evaluate_arrays(
    expr: E.Expr, arrays: Mapping[str, np.ndarray], bindings: Bindings
) -> np.ndarray:
    done: dict[int, np.ndarray | Diagonal] = {}
    context = (arrays, bindings)
    for item in E.postorder(expr):
        args = [done[id(a)] for a in item.args]
        if not isinstance(item, E.MatMul):
            args = [_dense(a) for a in args]
        with np.errstate(all="ignore"):
            value = numeric(item, args, context)
        done[id(item)] = value if isinstance(value, Diagonal) else np.asarray(value, dtype=float)
    return _dense(done[id(expr)])


Context = tuple[Mapping[str, np.ndarray], Bindings]


@singledispatch
def numeric(node: E.Expr, args: list[Any], context: Context) -> np.ndarray | Diagonal:
    """The value of node from its arguments' values (dense arrays, except for a
    matrix product, whose operands may be Diagonal)."""
    raise TypeError(f"no evaluator for {type(node).__name__}")


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
def _(node: E.Ones, args: list[np.ndarray], context: Context) -> np.ndarray:
    return np.ones(_shape(node, context))


@numeric.register
def _(node: E.Zero, args: list[np.ndarray], context: Context) -> np.ndarray:
    return np.zeros(_shape(node, context))


@numeric.register
def _(node: E.Identity, args: list[np.ndarray], context: Context) -> np.ndarray:
    return np.eye(size_of(node.n, context[1]))


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


def _elementwise_binary(node: E.Expr, args: list[np.ndarray], context: Context) -> np.ndarray:
    a, b = args
    if a.shape != b.shape and np.broadcast_shapes(a.shape, b.shape) is None:  # pragma: no cover
        raise ShapeError(f"{node.op}: {a.shape} and {b.shape} do not broadcast")
    if isinstance(node, E.Pow) and np.any(a < 0) and np.any(b != np.round(b)):
        raise EvaluationError("power: a negative base needs an integer exponent")
    try:
        return _BINARY[type(node)](a, b)
    except ValueError as error:  # sizes bound to 1 vs k that the symbols hid
        raise ShapeError(f"{node.op}: values of shape {a.shape} and {b.shape} ({error})") from None


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


@numeric.register
def _(node: E.MatMul, args: list[Any], context: Context) -> np.ndarray | Diagonal:
    a, b = args
    # diag(v) M is v ⊙ M: never form the dense diagonal matrix.
    if isinstance(a, Diagonal) and isinstance(b, Diagonal):
        return Diagonal(a.vector * b.vector)
    if isinstance(a, Diagonal):
        return a.vector * b
    if isinstance(b, Diagonal):
        return a * b.vector.T
    if a.shape[1] != b.shape[0]:
        raise ShapeError(f"matmul: values of shape {a.shape} and {b.shape} do not fit")
    return a @ b


@numeric.register
def _(node: E.Transpose, args: list[np.ndarray], context: Context) -> np.ndarray:
    return args[0].T


@numeric.register
def _(node: E.Sum, args: list[np.ndarray], context: Context) -> np.ndarray:
    (a,) = args
    if node.axis is None:
        return np.sum(a).reshape(1, 1)
    return np.sum(a, axis=node.axis, keepdims=True)


def _square(node: E.Expr, a: np.ndarray) -> None:
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


@numeric.register
def _(node: E.LogDet, args: list[np.ndarray], context: Context) -> np.ndarray:
    _square(node, args[0])
    sign, logabs = np.linalg.slogdet(args[0])
    if sign <= 0:
        raise EvaluationError("logdet: needs det X > 0, but the determinant is not positive")
    return np.asarray(logabs).reshape(1, 1)


@numeric.register
def _(node: E.Inv, args: list[np.ndarray], context: Context) -> np.ndarray:
    _square(node, args[0])
    try:
        return np.linalg.inv(args[0])
    except np.linalg.LinAlgError:
        raise EvaluationError("inv: the matrix is singular") from None


@numeric.register
def _(node: E.Diag, args: list[np.ndarray], context: Context) -> Diagonal:
    return Diagonal(args[0])


@numeric.register
def _(node: E.DiagPart, args: list[np.ndarray], context: Context) -> np.ndarray:
    return np.diagonal(args[0]).reshape(-1, 1).copy()


@numeric.register
def _(node: E.Norm, args: list[np.ndarray], context: Context) -> np.ndarray:
    return np.sqrt(np.sum(args[0] * args[0])).reshape(1, 1)


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
