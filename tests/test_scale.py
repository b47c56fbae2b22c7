"""Large sizes without dense Jacobians, and very deep expressions."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from helpers import assert_close

import matcalc as mc
from matcalc import expr as E


def peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_vector_gradient_at_a_million_entries() -> None:
    n = mc.dims("n")
    x, y = mc.vector("x", n), mc.vector("y", n)
    f = mc.sum(mc.sigmoid(x) * y) + mc.norm(x) + mc.dot(mc.tanh(x), y)
    size = 1_000_000
    rng = np.random.default_rng(0)
    values = {"x": rng.normal(size=size), "y": rng.normal(size=size)}
    g = mc.grad(f, x)
    result = {}
    peak = peak_bytes(lambda: result.setdefault("g", mc.evaluate(g, values)))
    vector_bytes = 8 * size
    assert peak < 40 * vector_bytes  # a dense n×n Jacobian would be 8 TB
    xv, yv = values["x"], values["y"]
    s = 1 / (1 + np.exp(-xv))
    expected = s * (1 - s) * yv + xv / np.linalg.norm(xv) + (1 - np.tanh(xv) ** 2) * yv
    assert_close(result["g"].ravel(), expected, rtol=1e-12)


def test_matrix_gradient_at_2000_by_2000() -> None:
    n, m = mc.dims("n m")
    W, x, b = mc.matrix("W", m, n), mc.vector("x", n), mc.vector("b", m)
    f = mc.sum(mc.sigmoid(W @ x + b) ** 2) / 2 + mc.sum(W * W) / 10
    size = 2000
    rng = np.random.default_rng(1)
    values = {
        "W": rng.normal(size=(size, size)) / 50,
        "x": rng.normal(size=size),
        "b": rng.normal(size=size),
    }
    g = mc.grad(f, W)
    result = {}
    peak = peak_bytes(lambda: result.setdefault("g", mc.evaluate(g, values)))
    matrix_bytes = 8 * size * size
    assert peak < 8 * matrix_bytes  # the dense n²×n² Jacobian would be 128 TB
    a = 1 / (1 + np.exp(-(values["W"] @ values["x"] + values["b"])))
    expected = np.outer(a * a * (1 - a), values["x"]) + values["W"] / 5
    assert_close(result["g"], expected, rtol=1e-12)


def test_expression_3000_operations_deep() -> None:
    n = mc.dims("n")
    x = mc.vector("x", n)
    e = x
    for _ in range(1000):
        e = mc.sin(e) * 0.5 + x  # three operations per round
    depth: dict[int, int] = {}
    for node in E.postorder(e):
        depth[id(node)] = 1 + max((depth[id(a)] for a in node.args), default=0)
    assert depth[id(e)] >= 3000
    f = mc.sum(e)
    g = mc.grad(f, x)
    xv = np.array([0.3, -0.2])
    value = mc.evaluate(g, {"x": xv})
    # Independent forward-mode derivative of the same recurrence, entry by entry.
    v, dv = xv.copy(), np.ones_like(xv)
    for _ in range(1000):
        v, dv = 0.5 * np.sin(v) + xv, 0.5 * np.cos(v) * dv + 1
    assert_close(value.ravel(), dv, rtol=1e-10)
    assert len(mc.text(e)) > 3000  # printing a 3000-deep tree needs no recursion


def test_a_nested_elementwise_island_is_bounded_work() -> None:
    """A deep elementwise island is not handed whole to sympy (it took 33 s): the
    gradient comes back fast, and right."""
    import time

    X, x = mc.matrix("X", 2, 2), mc.vector("x", 2)

    def block(M: mc.Expr) -> mc.Expr:
        return (
            M / (1 + mc.exp(-M)) - (mc.sigmoid(M) - mc.sigmoid(-M)) - (M + x) * mc.sigmoid(M + x.T)
        )

    f = mc.sum(block(block(X)))
    start = time.perf_counter()
    g = mc.grad(f, X)
    assert time.perf_counter() - start < 2.0
    rng = np.random.default_rng(0)
    values = {X: rng.normal(size=(2, 2)), x: rng.normal(size=(2, 1))}
    base = mc.evaluate(f, values)
    step = np.zeros((2, 2))
    step[0, 1] = 1e-6
    shifted = mc.evaluate(f, {**values, X: values[X] + step})
    assert mc.evaluate(g, values)[0, 1] == pytest.approx((shifted - base) / 1e-6, rel=1e-4)
