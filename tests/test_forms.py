"""Results are compact matrix expressions that read like the textbook."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, check_gradients, numeric_jacobian

import matcalc as mc
from matcalc import expr as E

n, m = mc.dims("n m")
x, b, y = mc.vector("x", n), mc.vector("b", m), mc.vector("y", m)
W = mc.matrix("W", m, n)
A = mc.matrix("A", n, n)
z = W @ x + b
a = mc.sigmoid(z)
C = mc.sum((a - y) ** 2) / 2


def nodes(expr):
    return E.postorder(expr)


def test_weight_gradient_is_delta_times_x_transposed() -> None:
    dW, db = mc.grad(C, [W, b])
    assert isinstance(dW, E.MatMul) and dW.b is x.T.a.T  # δ xᵀ
    assert dW.a is db  # the same δ, built once
    assert str(db) == "(σ(W x + b) − y) ⊙ σ′(W x + b)"
    # σ′(z) is written σ(z) ⊙ (1 − σ(z)) and shares the forward node σ(z).
    assert sum(1 for node in nodes(db) if node is a) == 1
    assert any(node is a for node in nodes(db))


def test_no_dense_structure_in_results() -> None:
    for result in mc.grad(C, [W, b, x]):
        for node in nodes(result):
            assert not (
                isinstance(node, E.MatMul) and isinstance(node.a, E.Diag) and node.b.is_column
            )
            assert not isinstance(node, E.Diag)


def test_jacobians_are_structured() -> None:
    assert str(mc.jacobian(a, x)) == "diag(σ′(W x + b)) W"
    assert str(mc.jacobian(a, b)) == "diag(σ′(W x + b))"
    assert str(mc.jacobian(x * 3, x)) == "3 I"
    assert str(mc.jacobian(mc.sum(x), x)) == "𝟏ᵀ"
    assert str(mc.jacobian(mc.softmax(x), x)) == "diag(softmax(x)) − softmax(x) softmax(x)ᵀ"
    assert str(mc.jacobian(mc.logsumexp(x), x)) == "softmax(x)ᵀ"


def test_hessian_of_quadratic_form() -> None:
    H = mc.hessian(x.T @ A @ x, x)
    assert str(H) in ("Aᵀ + A", "A + Aᵀ")
    Av = np.random.default_rng(1).normal(size=(3, 3))
    assert_close(mc.evaluate(H, {"A": Av, "x": np.ones(3)}), Av + Av.T)


def test_hessian_of_logistic_loss() -> None:
    X = mc.matrix("X", m, n)
    w = mc.vector("w", n)
    labels = mc.vector("y", m)
    loss = mc.sum(mc.log(1 + mc.exp(-labels * (X @ w))))
    H = mc.hessian(loss, w)
    # Xᵀ diag(y ⊙ p ⊙ (1 − p) ⊙ y) X with p = σ(−y ⊙ Xw): the textbook Xᵀ diag(p(1−p)) X for y = ±1.
    factors, stack = [], [H]
    while stack:
        node = stack.pop()
        if isinstance(node, E.MatMul):
            stack.extend([node.b, node.a])
        else:
            factors.append(node)
    assert len(factors) == 3 and factors[0] is X.T and factors[2] is X
    assert isinstance(factors[1], E.Diag)
    rng = np.random.default_rng(5)
    vals = {"X": rng.normal(size=(6, 3)), "w": rng.normal(size=3), "y": rng.choice([-1.0, 1.0], 6)}
    p = 1 / (1 + np.exp(-(vals["X"] @ vals["w"])))
    textbook = vals["X"].T @ np.diag(p * (1 - p)) @ vals["X"]
    assert_close(mc.evaluate(H, vals), textbook, rtol=1e-10)
    grad = mc.grad(loss, w)
    assert_close(mc.evaluate(H, vals), numeric_jacobian(grad, "w", vals))


def test_hessians_against_finite_differences_of_the_gradient() -> None:
    rng = np.random.default_rng(8)
    for f in [
        mc.norm(x),
        mc.sum(mc.tanh(A @ x)),
        mc.logsumexp(A @ x),
        mc.sum(mc.exp(x)) * mc.dot(x, x),
    ]:
        vals = {"x": rng.normal(size=3), "A": rng.normal(size=(3, 3))}
        H = mc.hessian(f, x)
        assert H.shape == (n, n)
        numeric = numeric_jacobian(mc.grad(f, x), "x", vals)
        assert_close(mc.evaluate(H, vals), numeric, what=str(f))


def test_gradient_shapes_follow_the_variable() -> None:
    c = mc.scalar("c")
    X = mc.matrix("X", n, m)
    row = mc.matrix("r", 1, m)
    f = mc.sum(mc.tanh(X * row + x) * c)
    for var in (X, row, x, c):
        assert mc.grad(f, var).shape == var.shape
    rng = np.random.default_rng(4)
    vals = {
        "X": rng.normal(size=(3, 2)),
        "r": rng.normal(size=(1, 2)),
        "x": rng.normal(size=3),
        "c": 0.7,
    }
    check_gradients(f, vals)


def test_gradient_of_unrelated_variable_is_symbolic_zero() -> None:
    g = mc.grad(mc.sum(x), W)
    assert isinstance(g, E.Zero) and g.shape == (m, n)
    assert str(g) == "0"


def test_reverse_accumulation_differentiates_shared_nodes_once() -> None:
    """A chain where each node is used twice: 2^k paths, but linear work."""
    from matcalc import engine

    e = x
    for _ in range(30):
        e = mc.sin(e) + e * e
    f = mc.sum(e)
    calls = []
    engine.gradients(mc.simplify(f), [x], recorder=lambda *args: calls.append(args[0]))
    distinct_nodes = len({id(node) for node in calls})
    assert len(calls) <= 3 * distinct_nodes  # each node's rules ran once per argument
    assert distinct_nodes < 200
    result = mc.grad(f, x)
    assert len(E.postorder(result)) < 1000  # no 2^30 blow-up


def test_simplifier_named_rules() -> None:
    s = mc.simplify
    assert str(s((W @ x).T.T)) == "W x"
    assert str(s((W @ A).T)) == "Aᵀ Wᵀ"
    assert str(s(x + x - 3 * x)) == "−x"
    assert str(s(x * 1 + 0 * b.T @ b)) == "x"
    assert str(s(2 * (3 * x))) == "6 x"
    assert str(s(mc.eye(n) @ x)) == "x"
    assert str(s(mc.diag(x) @ mc.diag(mc.sigmoid(x)))) == "diag(x ⊙ σ(x))"
    assert str(s(mc.ones(n, 1).T @ mc.diag(x))) == "xᵀ"
    assert str(s(x.T @ mc.diag(b.T @ b * x))) == "bᵀ b (x²)ᵀ"
    assert str(s(mc.ones(n, 1).T @ x)) == "sum(x)"
    assert str(s(mc.inv(mc.inv(A)))) == "A"
    assert str(s(mc.trace(A.T))) == "tr(A)"
    assert str(s(x - x)) == "0"
    assert s(x - x).shape == (n, 1)


def test_like_terms_meet_however_the_products_are_grouped() -> None:
    """∂ tr(A⁴)/∂A = 4 (A³)ᵀ and ∂ tr(A B A B)/∂A = 2 (B A B)ᵀ: the chain rule groups the
    products differently in each term ((A A) A and A (A A)), and the sum collects them
    as one term (the product is associative)."""
    B = mc.matrix("B", n, n)
    for f, text in (
        (mc.trace(A @ A @ A @ A), "4 (A A A)ᵀ"),
        (mc.trace(A @ B @ A @ B), "2 (B A B)ᵀ"),
    ):
        g = mc.grad(f, A)
        assert mc.text(g) == text
        rng = np.random.default_rng(4)
        check_gradients(f, {"A": rng.normal(size=(3, 3)), "B": rng.normal(size=(3, 3))}, ["A"])
    assert mc.text(mc.simplify(A @ (B @ A) - (A @ B) @ A)) == "0"


def test_softmax_columns_sum_to_one() -> None:
    """Σᵢ softmax(t)ᵢ = 1 per column: its gradient is zero, not softmax ⊙ (𝟏 − Σ softmax)."""
    X = mc.matrix("X", n, "k")
    assert mc.text(mc.grad(mc.sum(mc.softmax(x)), x)) == "0"
    assert mc.text(mc.simplify(mc.sum(mc.softmax(X), axis=0))) == "𝟏ᵀ"
    assert mc.text(mc.simplify(mc.sum(mc.softmax(X)))) == "k"
    values = {X: np.random.default_rng(1).normal(size=(3, 4))}  # k from X: keyed by variable
    assert mc.evaluate(mc.simplify(mc.sum(mc.softmax(X))), values) == 4
    assert mc.evaluate(mc.sum(mc.softmax(X)), values) == pytest.approx(4.0, rel=1e-12)


def test_log_of_ones_plus_exp_is_softplus() -> None:
    """log(𝟏 + exp(t)) (MatrixCalculus.org's log(exp(t) + vector(1))) is softplus(t), like
    log(1 + exp(t)): finite at t = 1000, and its gradient is σ(t)."""
    t = mc.vector("t", n)
    for f in (mc.log(mc.exp(t) + mc.ones(n)), mc.parse("log(exp(t)+vector(1))", {"t": (n,)})):
        assert mc.text(f) == "softplus(t)"
        values = {t: np.array([[-1000.0], [0.0], [1000.0]])}
        np.testing.assert_allclose(mc.evaluate(f, values).ravel(), [0.0, np.log(2.0), 1000.0])
        assert mc.text(mc.grad(mc.sum(f), t)) == "σ(t)"
