"""Named identities from the literature, each citing its source.

PH: Parr & Howard, "The Matrix Calculus You Need for Deep Learning" (2018).
MC: Petersen & Pedersen, "The Matrix Cookbook" (2012), section 2.
Nielsen: "Neural Networks and Deep Learning", chapter 2 (BP1-BP4).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, check_gradients, keyed, numeric_jacobian, spd, well_conditioned

import matcalc as mc

n, m, p = mc.dims("n m p")
w, x = mc.vector("w", n), mc.vector("x", n)
z = mc.scalar("z")
rng = np.random.default_rng(2024)


def values(**shapes):
    out = {}
    for name, shape in shapes.items():
        out[name] = shape(rng) if callable(shape) else rng.normal(size=shape)
    return out


def assert_jacobian(F, var, vals, expected_text=None):
    J = mc.jacobian(F, var)
    if expected_text is not None:
        assert str(J) == expected_text
    derived = np.asarray(mc.evaluate(J, keyed(F, vals)), dtype=float)
    expected = numeric_jacobian(F, var.name, vals)
    assert_close(derived.reshape(expected.shape), expected, what=str(F))


# -- PH section "Derivatives of vector element-wise binary operators" ---------------
PH_ELEMENTWISE = [
    ("w + x", w + x, w, "I"),
    ("w + x", w + x, x, "I"),
    ("w - x", w - x, w, "I"),
    ("w - x", w - x, x, "−I"),
    ("w ⊙ x", w * x, w, "diag(x)"),
    ("w ⊙ x", w * x, x, "diag(w)"),
    ("w ⊘ x", w / x, w, "diag(1 / x)"),
    ("w ⊘ x", w / x, x, "diag(−w / x²)"),
]


@pytest.mark.parametrize(
    "label,F,var,expected", PH_ELEMENTWISE, ids=[f"{e[0]} wrt {e[2].name}" for e in PH_ELEMENTWISE]
)
def test_parr_howard_elementwise_binary_operations(label, F, var, expected) -> None:
    vals = {"w": rng.normal(size=3), "x": rng.uniform(0.5, 2, size=3)}
    assert_jacobian(F, var, vals, expected)


# -- PH "Derivatives involving scalar expansion" -----------------------------------------
@pytest.mark.parametrize(
    "F,var,expected",
    [
        (x + z, x, "I"),
        (x + z, z, "𝟏"),
        (x - z, z, "−𝟏"),
        (z - x, x, "−I"),
        (x * z, x, "z I"),
        (x * z, z, "x"),
        (x / z, x, "(1 / z) I"),
        (x / z, z, "−x / z²"),
    ],  # fmt: skip
    ids=["x+z dx", "x+z dz", "x-z dz", "z-x dx", "xz dx", "xz dz", "x/z dx", "x/z dz"],
)
def test_parr_howard_scalar_expansion(F, var, expected) -> None:
    vals = {"x": rng.normal(size=4), "z": 1.7}
    assert_jacobian(F, var, vals, expected)


# -- PH "Vector sum reduction" -----------------------------------------------------------
def test_parr_howard_sum_reduction() -> None:
    vals = {"x": rng.normal(size=4), "z": 0.8}
    assert_jacobian(mc.sum(x), x, vals, "𝟏ᵀ")
    assert_jacobian(mc.sum(x * z), x, vals, "z 𝟏ᵀ")
    assert_jacobian(mc.sum(x * z), z, vals, "sum(x)")
    assert str(mc.grad(mc.sum(x), x)) == "𝟏"


# -- PH "The gradient of neuron activation" and "of the neural network loss function" -------
def test_parr_howard_neuron_activation() -> None:
    b = mc.scalar("b")
    activation = mc.maximum(0, mc.dot(w, x) + b)
    vals = {"w": rng.normal(size=3), "x": rng.normal(size=3), "b": 0.2}
    zval = vals["w"] @ vals["x"] + 0.2
    # PH: ∂activation/∂w = 0ᵀ if w·x + b ≤ 0, else xᵀ; ∂/∂b = 0 or 1.
    expected_w = vals["x"] if zval > 0 else np.zeros(3)
    assert_close(mc.evaluate(mc.grad(activation, w), vals).ravel(), expected_w)
    assert mc.evaluate(mc.grad(activation, b), vals) == (1.0 if zval > 0 else 0.0)
    for sign in (1, -1):
        vals["b"] = sign * 10.0  # both branches
        check_gradients(activation, vals)


def test_parr_howard_neuron_loss() -> None:
    N = mc.dims("N")
    X = mc.matrix("X", n, N)
    y = mc.vector("y", N)
    b = mc.scalar("b")
    loss = mc.sum((y - mc.maximum(0, X.T @ w + b)) ** 2) / N
    vals = {
        "w": rng.normal(size=3),
        "X": rng.normal(size=(3, 6)),
        "y": rng.normal(size=6),
        "b": 0.1,
    }
    # PH: ∂C/∂w = (2/N) Σᵢ (w·xᵢ + b − yᵢ) xᵢ over the examples with w·xᵢ + b > 0.
    zs = vals["X"].T @ vals["w"] + 0.1
    active = zs > 0
    expected = 2 / 6 * (vals["X"][:, active] @ (zs[active] - vals["y"][active]))
    assert_close(mc.evaluate(mc.grad(loss, w), vals).ravel(), expected)
    expected_b = 2 / 6 * np.sum(zs[active] - vals["y"][active])
    assert abs(mc.evaluate(mc.grad(loss, b), vals) - expected_b) < 1e-12
    check_gradients(loss, vals)


# -- MC section 2: first-order derivatives ------------------------------------------------
X = mc.matrix("X", n, n)
Xr = mc.matrix("Y", m, n)  # a rectangular X
A, B = mc.matrix("A", n, n), mc.matrix("B", n, n)
a, b = mc.vector("a", n), mc.vector("b", n)
C = mc.matrix("C", n, n)
D = mc.matrix("D", m, m)
bm, cm = mc.vector("b", n), mc.vector("c", m)
am = mc.vector("a", m)

COOKBOOK = [
    # name, f, variable, the cookbook's right-hand side, value samplers
    ("2.2 det(X)", mc.det(X), X, mc.det(X) * mc.inv(X).T, {"X": well_conditioned}),
    ("2.2 det(AXB)", mc.det(A @ X @ B), X, mc.det(A @ X @ B) * mc.inv(X).T,
     {"X": well_conditioned, "A": well_conditioned, "B": well_conditioned}),
    ("2.2 ln det(X)", mc.logdet(X), X, mc.inv(X).T, {"X": spd}),
    ("2.2 inverse aᵀX⁻¹b", a.T @ mc.inv(X) @ b, X, -mc.inv(X).T @ a @ b.T @ mc.inv(X).T,
     {"X": well_conditioned}),
    ("2.2 tr(AX⁻¹B)", mc.trace(A @ mc.inv(X) @ B), X, -(mc.inv(X) @ B @ A @ mc.inv(X)).T,
     {"X": well_conditioned}),
    ("2.4.1 aᵀXb", am.T @ Xr @ bm, Xr, am @ bm.T, {}),
    ("2.4.1 aᵀXᵀb", bm.T @ Xr.T @ am, Xr, am @ bm.T, {}),
    ("2.4.2 bᵀXᵀXc", bm.T @ Xr.T @ Xr @ mc.vector("c", n), Xr,
     Xr @ (bm @ mc.vector("c", n).T + mc.vector("c", n) @ bm.T), {}),
    ("2.4.2 (Xb + c)ᵀD(Xb + c)", (Xr @ bm + cm).T @ D @ (Xr @ bm + cm), Xr,
     (D + D.T) @ (Xr @ bm + cm) @ bm.T, {}),
    ("2.4.2 xᵀBx", x.T @ B @ x, x, (B + B.T) @ x, {}),
    ("2.5 tr(X)", mc.trace(X), X, mc.eye(n), {}),
    ("2.5 tr(XA)", mc.trace(X @ A), X, A.T, {}),
    ("2.5 tr(AXB)", mc.trace(A @ X @ B), X, A.T @ B.T, {}),
    ("2.5 tr(AXᵀB)", mc.trace(A @ X.T @ B), X, B @ A, {}),
    ("2.5 tr(XᵀA)", mc.trace(X.T @ A), X, A, {}),
    ("2.5 tr(X²)", mc.trace(X @ X), X, 2 * X.T, {}),
    ("2.5 tr(XᵀAX)", mc.trace(X.T @ A @ X), X, A @ X + A.T @ X, {}),
    ("2.5 tr(XBXᵀ)", mc.trace(X @ B @ X.T), X, X @ B.T + X @ B, {}),
    ("2.6 ‖x‖₂", mc.norm(x), x, x / mc.norm(x), {}),
    ("2.6 ‖X‖_F²", mc.norm(X) ** 2, X, 2 * X, {}),
]  # fmt: skip


@pytest.mark.parametrize("name,f,var,rhs,samplers", COOKBOOK, ids=[c[0] for c in COOKBOOK])
def test_matrix_cookbook_first_derivatives(name, f, var, rhs, samplers) -> None:
    sizes = {n: 3, m: 4}
    vals = {}
    for vname, v in mc.variables(f).items():
        shape = tuple(sizes.get(d, d) for d in v.shape)
        vals[vname] = samplers.get(vname, lambda g, s: g.normal(size=s))(rng, shape)
    derived = mc.evaluate(mc.grad(f, var), keyed(f, vals))
    expected = mc.evaluate(rhs, keyed(f, vals))
    assert_close(derived, expected, rtol=1e-9, what=name)
    check_gradients(f, vals, wrt=[var.name])


# -- Nielsen chapter 2: BP1-BP4 for a network with three weight layers ---------------------
def hand_written_backprop(weights, biases, x, y):
    """Nielsen's algorithm in plain numpy: forward, BP1, BP2, BP3, BP4."""
    sigmoid = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    activations, zs = [x], []
    for W, b in zip(weights, biases, strict=True):
        zs.append(W @ activations[-1] + b)
        activations.append(sigmoid(zs[-1]))
    prime = lambda t: sigmoid(t) * (1 - sigmoid(t))  # noqa: E731
    delta = (activations[-1] - y) * prime(zs[-1])  # BP1 with ∇ₐC = a − y
    grads_w, grads_b = [None] * 3, [None] * 3
    grads_w[-1], grads_b[-1] = delta @ activations[-2].T, delta  # BP4, BP3
    for layer in (2, 3):
        delta = (weights[-layer + 1].T @ delta) * prime(zs[-layer])  # BP2
        grads_w[-layer], grads_b[-layer] = delta @ activations[-layer - 1].T, delta
    return grads_w, grads_b


def test_nielsen_bp1_to_bp4_three_layers() -> None:
    sizes = [4, 5, 3, 2]
    d = mc.dims("d0 d1 d2 d3")
    Ws = [mc.matrix(f"W{i + 1}", d[i + 1], d[i]) for i in range(3)]
    bs = [mc.vector(f"b{i + 1}", d[i + 1]) for i in range(3)]
    x_in, y_out = mc.vector("x", d[0]), mc.vector("y", d[3])
    a = x_in
    for W, b in zip(Ws, bs, strict=True):
        a = mc.sigmoid(W @ a + b)
    cost = mc.sum((a - y_out) ** 2) / 2
    weights = [rng.normal(size=(sizes[i + 1], sizes[i])) for i in range(3)]
    biases = [rng.normal(size=(sizes[i + 1], 1)) for i in range(3)]
    xv, yv = rng.normal(size=(4, 1)), rng.uniform(size=(2, 1))
    vals = {"x": xv, "y": yv}
    vals.update({f"W{i + 1}": weights[i] for i in range(3)})
    vals.update({f"b{i + 1}": biases[i] for i in range(3)})
    derived = mc.grad(cost, Ws + bs)
    expected_w, expected_b = hand_written_backprop(weights, biases, xv, yv)
    for got, want in zip(derived, expected_w + expected_b, strict=True):
        assert_close(mc.evaluate(got, vals), want, rtol=1e-12)
    # BP4 in its compact form: ∂C/∂W¹ = δ¹ xᵀ, an outer product with xᵀ.
    assert str(derived[0]).endswith(" xᵀ")
    # BP3: ∂C/∂bˡ = δˡ, the same expression as the left factor of BP4.
    for W_grad, b_grad in zip(derived[:3], derived[3:], strict=True):
        assert W_grad.a is b_grad
