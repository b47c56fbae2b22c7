"""hypothesis strategies for random well-shaped expression trees over all
operations, with values that keep every function inside its domain."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import matcalc as mc

n, m = mc.dims("n m")
VARIABLES = {
    (n, 1): [mc.vector("x", n)],
    (m, 1): [mc.vector("y", m)],
    (n, n): [mc.matrix("A", n, n)],
    (m, n): [mc.matrix("W", m, n)],
    (1, 1): [mc.scalar("c")],
}
SHAPES = [(n, 1), (m, 1), (1, n), (1, m), (n, n), (m, n), (n, m), (m, m), (1, 1)]
DIMS = [n, m, 1]


def leaf(shape) -> mc.Expr:
    rows, cols = shape
    if shape in VARIABLES:
        return VARIABLES[shape][0]
    if (cols, rows) in VARIABLES:
        return VARIABLES[(cols, rows)][0].T
    # (m, m): a product of the variables
    return VARIABLES[(m, n)][0] @ VARIABLES[(m, n)][0].T


def _safe_positive(e: mc.Expr) -> mc.Expr:
    return 1 + e**2  # positive, for log, sqrt and denominators


def _well_conditioned(e: mc.Expr) -> mc.Expr:
    return 3 * mc.eye(e.shape[0]) + 0.3 * mc.tanh(e)  # |perturbation| < 0.3 per entry


@st.composite
def trees(draw, shape=(1, 1), depth: int = 4) -> mc.Expr:
    """A random expression of the given shape whose every path is `depth` deep."""
    if depth == 0:
        return leaf(shape)
    rows, cols = shape
    sub = lambda s: draw(trees(s, depth - 1))  # noqa: E731
    options = ["unary", "binary", "scalar", "matmul", "transpose", "softmax"]
    if (rows, cols) == (1, 1):
        options += ["sum", "trace", "det", "logdet", "norm", "dot", "logsumexp"]
    if rows == 1 and cols != 1:
        options += ["sum0", "logsumexp"]
    if cols == 1 and rows != 1:
        options += ["sum1", "diagpart", "broadcast"]
    if rows == cols and rows != 1:
        options += ["inv", "diag"]
    if rows != 1 and cols != 1:
        options += ["outer", "broadcast"]
    kind = draw(st.sampled_from(options))
    if kind == "unary":
        fn = draw(
            st.sampled_from(
                ["exp", "log", "sigmoid", "tanh", "relu", "sin", "cos", "sqrt", "abs", "neg"]
            )
        )
        a = sub(shape)
        if fn == "neg":
            return -a
        if fn in ("log", "sqrt"):
            return getattr(mc, fn)(_safe_positive(a))
        if fn == "exp":
            return mc.exp(mc.tanh(a))
        return getattr(mc, fn)(a)
    if kind == "binary":
        op = draw(st.sampled_from(["+", "-", "*", "/", "**", "max"]))
        a, b = sub(shape), sub(shape)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / _safe_positive(b)
        if op == "**":
            return _safe_positive(a) ** draw(st.sampled_from([2, 3, 0.5, -1]))
        return mc.maximum(a, b)
    if kind == "scalar":
        s = sub((1, 1))
        return draw(
            st.sampled_from(
                [
                    lambda: sub(shape) * s,
                    lambda: s + sub(shape),
                    lambda: sub(shape) / _safe_positive(s),
                ]
            )
        )()
    if kind == "broadcast":  # a column or row stretched across a matrix
        if cols == 1:
            return sub(shape) + sub((rows, 1))
        return sub(shape) * sub((1, cols)) + sub((rows, 1))
    if kind == "matmul":
        inner = draw(st.sampled_from(DIMS))
        return sub((rows, inner)) @ sub((inner, cols))
    if kind == "transpose":
        return sub((cols, rows)).T
    if kind == "softmax":
        return mc.softmax(sub(shape))
    if kind == "sum":
        return mc.sum(sub(draw(st.sampled_from(SHAPES))))
    if kind == "sum0":
        return mc.sum(sub((draw(st.sampled_from(DIMS)), cols)), axis=0)
    if kind == "sum1":
        return mc.sum(sub((rows, draw(st.sampled_from(DIMS)))), axis=1)
    if kind == "trace":
        return mc.trace(sub((n, n)))
    if kind == "det":
        return mc.det(_well_conditioned(sub((n, n))))
    if kind == "logdet":
        return mc.logdet(_well_conditioned(sub((n, n))))
    if kind == "inv":
        return mc.inv(_well_conditioned(sub(shape)))
    if kind == "norm":
        return mc.norm(sub(draw(st.sampled_from(SHAPES))) + 2)
    if kind == "dot":
        vec = draw(st.sampled_from([(n, 1), (m, 1)]))
        return mc.dot(sub(vec), sub(vec))
    if kind == "logsumexp":
        return mc.logsumexp(sub((draw(st.sampled_from([n, m])), cols)))
    if kind == "diagpart":
        return mc.diag(sub((rows, rows)))
    if kind == "diag":
        return mc.diag(sub((rows, 1)))
    if kind == "outer":
        return mc.outer(sub((rows, 1)), sub((cols, 1)))
    raise AssertionError(kind)  # pragma: no cover


def tree_depth(expr: mc.Expr) -> int:
    from matcalc.expr import postorder

    depth: dict[int, int] = {}
    for node in postorder(expr):
        depth[id(node)] = 1 + max((depth[id(a)] for a in node.args), default=0)
    return depth[id(expr)]


def values_for(seed: int, sizes: tuple[int, int]) -> dict:
    rng = np.random.default_rng(seed)
    bound = {n: sizes[0], m: sizes[1]}
    out = {}
    for shape, (var,) in VARIABLES.items():
        concrete = tuple(bound.get(d, d) for d in shape)
        out[var.name] = rng.uniform(-1, 1, size=concrete)
    return out
