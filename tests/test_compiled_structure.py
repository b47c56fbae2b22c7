"""Structure all the way down in generated code: ``mc.compile`` builds no dense diag(v),
I, outer product or softmax Jacobian unless the result itself is that matrix
(``matcalc/structure_rewrite.py``, applied by ``lowering.lower``).

Each case is checked three ways: the generated source has no ``diagflat`` and no
``eye(`` (the only ways the code builds a dense diagonal or identity), the lowered
lines have no diag or eye operation at all, and the numbers agree with the
evaluator and with central finite differences of the evaluator's f (numbers the
compiled code did not produce).  At n = 10⁶ the code runs in O(n) memory, measured by
tracemalloc (numpy reports its allocations there).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import numpy as np
import pytest
import sympy

import matcalc as mc
from matcalc import expr as E
from matcalc import lowering as L
from matcalc.structure_rewrite import MAX_OUTER, keep_structure

n, h = mc.dims("n h")
A, B = mc.matrix("A", n, 4), mc.matrix("B", h, 4)
M, W, S = mc.matrix("M", n, 3), mc.matrix("W", n, h), mc.matrix("S", n, n)
x, y, u, v, b, c = (mc.vector(name, n) for name in "xyuvbc")
w, q, e = mc.vector("w", 4), mc.vector("q", 3), mc.vector("e", h)

# f, the vector its gradient and Hessian are taken in (None: f's value only)
COMPILED = {
    "logsumexp Hessian": (mc.logsumexp(A @ w + b), w),
    "softmax Hessian": (c.T @ mc.softmax(A @ w), w),
    "softmax-CE network": (-(y.T @ mc.log(mc.softmax(W @ mc.tanh(B @ w + e)))), w),
    "softmax-CE network, sigmoid": (-(y.T @ mc.log(mc.softmax(W @ mc.sigmoid(B @ w + e)))), w),
    "Σ softmax²": (mc.sum(mc.softmax(A @ w) ** 2), w),
    "Mᵀ (diag(v) + u uᵀ) M": (q.T @ M.T @ (mc.diag(v) + mc.outer(u, u)) @ M @ q, q),
    "Mᵀ (I + u uᵀ) M": (q.T @ M.T @ (mc.eye(n) + mc.outer(u, u)) @ M @ q / 2, q),
    "(diag(v) + u xᵀ) M": ((mc.diag(v) + mc.outer(u, x)) @ M, None),
    "(I + u uᵀ) M": ((mc.eye(n) + mc.outer(u, u)) @ M, None),
    "Householder (I − 2 u uᵀ/uᵀu) M": ((mc.eye(n) - 2 * mc.outer(u, u) / (u.T @ u)) @ M, None),
    "softmax Jacobian": (mc.jacobian(mc.softmax(A @ w), w), None),
    "tr(Mᵀ (diag(v) + u xᵀ) M)": (mc.trace(M.T @ (mc.diag(v) + mc.outer(u, x)) @ M), None),
    "sum((diag(v) + u xᵀ) M)": (mc.sum((mc.diag(v) + mc.outer(u, x)) @ M), None),
    "softmax-CE in z": (-(y.T @ mc.log(mc.softmax(x))), x),
}


def _values(expr: E.Expr, sizes: dict, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = {}
    for name, var in sorted(E.variables(expr).items()):
        shape = tuple(sizes.get(d, d) for d in var.shape)
        values[name] = rng.normal(size=shape) / 2
    if "y" in values:  # a target distribution
        values["y"] = np.abs(values["y"]) / np.abs(values["y"]).sum()
    return values


def _central_difference(fn, point: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """∂fn/∂point, column by column: (fn(p + h eᵢ) − fn(p − h eᵢ)) / 2h."""
    columns = []
    for i in range(point.size):
        delta = np.zeros_like(point)
        delta.flat[i] = step
        columns.append(
            (np.asarray(fn(point + delta)) - np.asarray(fn(point - delta))).reshape(-1) / (2 * step)
        )
    return np.stack(columns, axis=1)


def _no_dense_structure(source: str) -> None:
    assert "diagflat" not in source and "eye(" not in source, source


@pytest.mark.parametrize("name", list(COMPILED))
def test_compiled_code_builds_no_dense_structure(name: str) -> None:
    f, wrt = COMPILED[name]
    fn = mc.compile(f, [wrt], hessian=wrt.rows != n) if wrt is not None else mc.compile(f)
    _no_dense_structure(fn.source)
    sizes = {n: 7, h: 3}
    values = _values(f, sizes, seed=len(name))
    got = fn(**values)
    if wrt is None:
        want = np.asarray(mc.evaluate(f, values), dtype=float)
        np.testing.assert_allclose(np.asarray(got, dtype=float).reshape(want.shape), want,
                                   rtol=1e-10, atol=1e-12)  # fmt: skip
        return
    value, (gradient,), *hessian = got
    assert value == pytest.approx(mc.evaluate(f, values), rel=1e-10, abs=1e-12)

    def f_at(point: np.ndarray) -> float:
        return mc.evaluate(f, {**values, wrt.name: point})

    def gradient_at(point: np.ndarray) -> np.ndarray:
        return np.asarray(mc.evaluate(mc.grad(f, wrt), {**values, wrt.name: point}))

    point = values[wrt.name]
    np.testing.assert_allclose(gradient.reshape(-1), _central_difference(f_at, point)[0],
                               rtol=1e-6, atol=1e-8)  # fmt: skip
    np.testing.assert_allclose(gradient, gradient_at(point), rtol=1e-10, atol=1e-12)
    if hessian:
        (H,) = hessian
        np.testing.assert_allclose(H, _central_difference(gradient_at, point),
                                   rtol=1e-6, atol=1e-8)  # fmt: skip
        np.testing.assert_allclose(H, mc.evaluate(mc.hessian(f, wrt), values),
                                   rtol=1e-10, atol=1e-12)  # fmt: skip


# -- unsimplified forms (the simplifier may not see them): the rewrite alone -------------
p = mc.softmax(A @ w)
RAW = {
    "tr(diag(x))": E.Trace.make(E.Diag.make(x)),
    "sum(diag(x))": E.Sum.make(E.Diag.make(x), None),
    "column sums of diag(x)": E.Sum.make(E.Diag.make(x), 0),
    "tr(x yᵀ)": E.Trace.make(E.MatMul.make(x, y.T)),
    "tr(I + x yᵀ)": E.Trace.make(E.Add.make(E.Identity.make(n), E.MatMul.make(x, y.T))),
    "diag(x yᵀ)": E.DiagPart.make(E.MatMul.make(x, y.T)),
    "sum(x yᵀ)": E.Sum.make(E.MatMul.make(x, y.T), None),
    "row sums of diag(v) − x yᵀ": E.Sum.make(E.Sub.make(E.Diag.make(v), E.MatMul.make(x, y.T)), 1),
    "tr(diag(x) y xᵀ)": E.Trace.make(E.MatMul.make(E.Diag.make(x), E.MatMul.make(y, x.T))),
    "(diag(p) − p pᵀ) A": E.MatMul.make(E.Sub.make(E.Diag.make(p), E.MatMul.make(p, p.T)), A),
    "Aᵀ (diag(p) − p pᵀ) A": E.MatMul.make(
        E.MatMul.make(A.T, E.Sub.make(E.Diag.make(p), E.MatMul.make(p, p.T))), A
    ),
    "(I + x yᵀ)ᵀ M": E.MatMul.make(
        E.Transpose.make(E.Add.make(E.Identity.make(n), E.MatMul.make(x, y.T))), M
    ),
    "(diag(v) + x yᵀ)(diag(u) − y xᵀ) M": E.MatMul.make(
        E.MatMul.make(
            E.Add.make(E.Diag.make(v), E.MatMul.make(x, y.T)),
            E.Sub.make(E.Diag.make(u), E.MatMul.make(y, x.T)),
        ),
        M,
    ),
    "𝟏𝟏ᵀ M": E.MatMul.make(E.Ones.make(n, n), M),
    "(2 I − 3 x yᵀ) M": E.MatMul.make(
        E.Sub.make(
            E.Mul.make(E.as_expr(2), E.Identity.make(n)),
            E.Mul.make(E.as_expr(3), E.MatMul.make(x, y.T)),
        ),
        M,
    ),
    "(diag(v) ⊙ (x yᵀ + S)) M": E.MatMul.make(
        E.Mul.make(E.Diag.make(v), E.Add.make(E.MatMul.make(x, y.T), S)), M
    ),
    "tanh(diag(x)) M": E.MatMul.make(E.Apply.make("tanh", E.Diag.make(x)), M),
    "exp(diag(x)) M": E.MatMul.make(E.Apply.make("exp", E.Diag.make(x)), M),
    "(1 − diag(x)²) M": E.MatMul.make(
        E.Sub.make(E.as_expr(1), E.Pow.make(E.Diag.make(x), E.as_expr(2))), M
    ),
    "diag(exp(x))⁻¹ M": E.MatMul.make(E.Inv.make(E.Diag.make(mc.exp(x))), M),
    "log det diag(exp(x))": E.LogDet.make(E.Diag.make(mc.exp(x))),
    "‖diag(x)‖ + ‖x yᵀ‖": E.Add.make(
        E.Norm.make(E.Diag.make(x)), E.Norm.make(E.MatMul.make(x, y.T))
    ),
    "(x ⊙ (x yᵀ) ⊙ yᵀ) M": E.MatMul.make(E.Mul.make(E.Mul.make(x, E.MatMul.make(x, y.T)), y.T), M),
    "((x yᵀ) / 2 + v) M": E.MatMul.make(
        E.Add.make(E.Div.make(E.MatMul.make(x, y.T), E.as_expr(2)), v), M
    ),
}


def _square_nodes(outputs: list[E.Expr]) -> list[E.Expr]:
    """The n×n nodes lowering would make an array of: all but the arguments and diag(v)
    as a factor of a product (printed as the broadcast v ⊙ B)."""
    parents: dict[int, list[E.Expr]] = {}
    order = E.postorder(*outputs)
    for node in order:
        for child in node.args:
            parents.setdefault(id(child), []).append(node)
    return [
        node
        for node in order
        if node.shape == (n, n)
        and not isinstance(node, E.Variable)
        and not (
            isinstance(node, E.Diag)
            and all(isinstance(parent, E.MatMul) for parent in parents.get(id(node), []))
        )
    ]


@pytest.mark.parametrize("name", list(RAW))
def test_rewrite_of_unsimplified_forms(name: str) -> None:
    expr = RAW[name]
    assert _square_nodes([expr])  # the form does hold a dense n×n matrix
    (rewritten,) = keep_structure([expr])
    assert _square_nodes([rewritten]) == [], mc.text(rewritten)
    lowered, lines, _ = L.lower([rewritten], E.variables(expr))
    kinds = {type(part).__name__ for _, value in lines for part in sympy_parts(value)}
    kinds |= {type(part).__name__ for value in lowered for part in sympy_parts(value)}
    assert not kinds & {"mc_diag", "mc_eye"}, mc.text(rewritten)
    values = _values(expr, {n: 6, h: 3}, seed=len(name))
    np.testing.assert_allclose(
        np.asarray(mc.evaluate(rewritten, values), dtype=float),
        np.asarray(mc.evaluate(expr, values), dtype=float),
        rtol=1e-10, atol=1e-12, err_msg=name,
    )  # fmt: skip
    if E.variables(expr):
        fn = mc.compile(expr)
        _no_dense_structure(fn.source)
        got = np.asarray(fn(**values), dtype=float)
        want = np.asarray(mc.evaluate(expr, values), dtype=float)
        np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-10, atol=1e-12)


def sympy_parts(value: sympy.Basic) -> Iterator[sympy.Basic]:
    """value and every subexpression of it."""
    stack = [value]
    while stack:
        item = stack.pop()
        yield item
        stack.extend(item.args)


def test_results_that_are_diagonal_are_still_dense_arrays() -> None:
    """An output that is diag(v) (or c I + …) is built, as it must be."""
    fn = mc.compile(mc.sum(mc.exp(x)), [x], hessian=True)  # ∇² Σ eˣ = diag(eˣ)
    values = {"x": np.linspace(-1.0, 1.0, 5).reshape(-1, 1)}
    _, (gradient,), H = fn(**values)
    np.testing.assert_allclose(H, np.diag(np.exp(values["x"][:, 0])), rtol=1e-14)
    (diagonal_output,) = keep_structure([E.Diag.make(x)])
    assert diagonal_output is E.Diag.make(x)
    out = mc.compile(E.Add.make(E.Identity.make(n), E.MatMul.make(x, x.T)))(**values)
    np.testing.assert_allclose(out, np.eye(5) + values["x"] @ values["x"].T, rtol=1e-14)


def test_code_without_structure_is_unchanged() -> None:
    """A network's gradient has no diag(v) or outer product: the rewrite returns the
    very same nodes (so lowering's own patterns still see them)."""
    X, Y = mc.matrix("X", 4, n), mc.matrix("Y", 2, n)
    W1, W2 = mc.matrix("W1", 3, 4), mc.matrix("W2", 2, 3)
    cost = mc.sum((mc.sigmoid(W2 @ mc.tanh(W1 @ X)) - Y) ** 2) / 2
    outputs = [cost, *mc.grad(cost, [W1, W2])]
    assert all(new is old for new, old in zip(keep_structure(outputs), outputs, strict=True))
    logistic = mc.sum(mc.softplus(A @ w)) - x.T @ (A @ w)
    hessian = mc.hessian(logistic, w)  # Aᵀ diag(s) A: lowering's Gram form
    assert keep_structure([hessian]) == [hessian]


def test_long_chains_stay_linear_in_size() -> None:
    """z₊ = (diag(v) + u uᵀ) z two hundred times over one shared matrix, and a product
    of forty distinct I + uₖ uₖᵀ: the rewritten DAG grows by a bounded number of nodes
    per node, and the number of outer-product terms stays capped."""
    S = E.Add.make(E.Diag.make(v), E.MatMul.make(u, u.T))
    z: E.Expr = x
    for _ in range(200):
        z = E.MatMul.make(S, z)
    (rewritten,) = keep_structure([z])
    assert len(E.postorder(rewritten)) < 10 * len(E.postorder(z))
    assert _square_nodes([rewritten]) == []
    vectors = [mc.vector(f"u{k}", n) for k in range(40)]
    product: E.Expr = M
    for vec in vectors:
        product = E.MatMul.make(E.Add.make(E.Identity.make(n), E.MatMul.make(vec, vec.T)), product)
    (rewritten,) = keep_structure([product])
    assert len(E.postorder(rewritten)) < 20 * len(E.postorder(product))
    assert _square_nodes([rewritten]) == []  # applied to M one factor at a time
    product = E.Identity.make(n)
    for vec in vectors[:12]:
        product = E.MatMul.make(product, E.Add.make(E.Identity.make(n), E.MatMul.make(vec, vec.T)))
    (rewritten,) = keep_structure([E.MatMul.make(product, M)])
    # more than MAX_OUTER outer products: the partial product is made dense, not grown
    assert MAX_OUTER < 12 and _square_nodes([rewritten])
    values = _values(rewritten, {n: 5}, seed=1)
    np.testing.assert_allclose(
        mc.evaluate(rewritten, values), mc.evaluate(E.MatMul.make(product, M), values),
        rtol=1e-9,
    )  # fmt: skip


# -- n = 10⁶: O(n) memory -------------------------------------------------------------
N = 10**6
PEAK_LIMIT = 100 * 2**20  # a dense n×n table would be 8 TB


def _large_cases() -> dict:
    xs, ys, bs, cs = (mc.vector(name, N) for name in "xybc")
    As, ws = mc.matrix("A", N, 4), mc.vector("w", 4)
    return {
        "logsumexp Hessian": mc.compile(mc.logsumexp(As @ ws + bs), [ws], hessian=True),
        "softmax Hessian": mc.compile(cs.T @ mc.softmax(As @ ws), [ws], hessian=True),
        "softmax Jacobian": mc.compile(mc.jacobian(mc.softmax(As @ ws), ws)),
        "sum(diag(x))": mc.compile(mc.sum(mc.diag(xs))),
        "trace(diag(x))": mc.compile(mc.trace(mc.diag(xs))),
        "trace(outer(x, y))": mc.compile(mc.trace(mc.outer(xs, ys))),
        "(I + x yᵀ) A": mc.compile((mc.eye(N) + mc.outer(xs, ys)) @ As),
    }


@pytest.mark.parametrize("name", list(_large_cases()))
def test_large_case_in_linear_memory(name: str) -> None:
    fn = _large_cases()[name]
    _no_dense_structure(fn.source)  # first: never even ask numpy for 8 TB
    rng = np.random.default_rng(0)
    values = {arg: rng.normal(size=(N, 4) if arg == "A" else (N, 1)) / 2 for arg in fn.arguments}
    if "w" in values:
        values["w"] = rng.normal(size=(4, 1))
    tracemalloc.start()
    try:
        got = fn(**values)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"{name}: {peak / 2**20:.0f} MB"
    if name == "logsumexp Hessian":  # Aᵀ (diag(p) − p pᵀ) A from numpy's O(n) formula
        A_, p_ = values["A"], values["b"] + values["A"] @ values["w"]
        p_ = np.exp(p_ - p_.max())
        p_ /= p_.sum()
        want = (A_ * p_).T @ A_ - (A_.T @ p_) @ (p_.T @ A_)
        np.testing.assert_allclose(got[2], want, rtol=1e-9, atol=1e-15)
    if name == "trace(outer(x, y))":
        assert got == pytest.approx((values["x"].T @ values["y"]).item(), rel=1e-9)
    if name == "(I + x yᵀ) A":
        want = values["A"] + values["x"] @ (values["y"].T @ values["A"])
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
