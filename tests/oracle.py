"""An independent oracle: expand a matcalc expression into a sympy matrix of
scalar expressions (entry by entry, for concrete sizes), so sympy's own
``diff`` gives derivatives that the engine did not produce."""

from __future__ import annotations

from collections.abc import Mapping

import sympy

import matcalc as mc
from matcalc import expr as E

SCALAR_FUNCTIONS = {
    "exp": sympy.exp,
    "log": sympy.log,
    "sigmoid": lambda t: 1 / (1 + sympy.exp(-t)),
    "tanh": sympy.tanh,
    "relu": lambda t: sympy.Max(0, t),
    "sin": sympy.sin,
    "cos": sympy.cos,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "step": lambda t: sympy.Heaviside(t),
    "sign": sympy.sign,
    "softplus": lambda t: sympy.log(1 + sympy.exp(t)),
}


def symbol_matrix(var: E.Variable, sizes: Mapping) -> sympy.Matrix:
    rows, cols = (d if isinstance(d, int) else sizes[d] for d in var.shape)
    return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{var.name}_{i}_{j}", real=True))


def expand(expr: E.Expr, sizes: Mapping) -> tuple[sympy.Matrix, dict[str, sympy.Matrix]]:
    """expr as an explicit sympy Matrix, and the symbol matrix of each variable."""
    symbols = {name: symbol_matrix(v, sizes) for name, v in mc.variables(expr).items()}
    size = lambda d: d if isinstance(d, int) else sizes[d]  # noqa: E731
    done: dict[int, sympy.Matrix] = {}
    for node in E.postorder(expr):
        args = [done[id(a)] for a in node.args]
        done[id(node)] = _expand_node(node, args, symbols, size)
    return done[id(expr)], symbols


def _broadcast(a: sympy.Matrix, rows: int, cols: int) -> sympy.Matrix:
    return sympy.Matrix(rows, cols, lambda i, j: a[i if a.rows > 1 else 0, j if a.cols > 1 else 0])


def _elementwise(a: sympy.Matrix, b: sympy.Matrix, fn) -> sympy.Matrix:
    rows, cols = max(a.rows, b.rows), max(a.cols, b.cols)
    a, b = _broadcast(a, rows, cols), _broadcast(b, rows, cols)
    return sympy.Matrix(rows, cols, lambda i, j: fn(a[i, j], b[i, j]))


def _expand_node(node, args, symbols, size) -> sympy.Matrix:
    if isinstance(node, E.Variable):
        return symbols[node.name]
    if isinstance(node, E.Const):
        return sympy.Matrix([[node.value.subs({d: size(d) for d in node.value.free_symbols})]])
    if isinstance(node, E.Ones):
        return sympy.ones(size(node.rows), size(node.cols))
    if isinstance(node, E.Zero):
        return sympy.zeros(size(node.rows), size(node.cols))
    if isinstance(node, E.Identity):
        return sympy.eye(size(node.n))
    if isinstance(node, E.Neg):
        return -args[0]
    binary = {
        E.Add: lambda p, q: p + q, E.Sub: lambda p, q: p - q, E.Mul: lambda p, q: p * q,
        E.Div: lambda p, q: p / q, E.Pow: lambda p, q: p**q, E.Maximum: sympy.Max,
    }  # fmt: skip
    if type(node) in binary:
        return _elementwise(args[0], args[1], binary[type(node)])
    if isinstance(node, E.Apply):
        return args[0].applyfunc(SCALAR_FUNCTIONS[node.fn])
    if isinstance(node, E.MatMul):
        return args[0] * args[1]
    if isinstance(node, E.Transpose):
        return args[0].T
    if isinstance(node, E.Sum):
        a = args[0]
        if node.axis is None:
            return sympy.Matrix([[sum(a)]])
        if node.axis == 0:
            return sympy.Matrix(1, a.cols, lambda i, j: sum(a[:, j]))
        return sympy.Matrix(a.rows, 1, lambda i, j: sum(a[i, :]))
    if isinstance(node, E.Trace):
        return sympy.Matrix([[args[0].trace()]])
    if isinstance(node, E.Det):
        return sympy.Matrix([[args[0].det()]])
    if isinstance(node, E.LogDet):
        return sympy.Matrix([[sympy.log(args[0].det())]])
    if isinstance(node, E.Inv):
        return args[0].inv()
    if isinstance(node, E.Diag):
        return sympy.diag(*list(args[0]))
    if isinstance(node, E.DiagPart):
        return sympy.Matrix([args[0][i, i] for i in range(args[0].rows)])
    if isinstance(node, E.Norm):
        return sympy.Matrix([[sympy.sqrt(sum(e**2 for e in args[0]))]])
    if isinstance(node, E.Softmax):
        a = args[0]
        exps = a.applyfunc(sympy.exp)
        return sympy.Matrix(a.rows, a.cols, lambda i, j: exps[i, j] / sum(exps[:, j]))
    if isinstance(node, E.LogSumExp):
        a = args[0]
        return sympy.Matrix(1, a.cols, lambda i, j: sympy.log(sum(a[:, j].applyfunc(sympy.exp))))
    raise TypeError(f"oracle cannot expand {type(node).__name__}")


def oracle_gradient(f: E.Expr, name: str, sizes: Mapping, values: Mapping) -> list[list[float]]:
    """∂f/∂name by sympy.diff of the expanded scalar f, evaluated at values."""
    (expanded, symbols) = expand(f, sizes)
    scalar = expanded[0, 0]
    target = symbols[name]
    substitution = {
        symbols[v][i, j]: float(values[v][i][j])
        for v in symbols
        for i in range(symbols[v].rows)
        for j in range(symbols[v].cols)
    }
    return [
        [
            float(sympy.diff(scalar, target[i, j]).evalf(subs=substitution))
            for j in range(target.cols)
        ]
        for i in range(target.rows)
    ]
