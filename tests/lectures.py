"""The lecture's derivations, built once for the golden and LaTeX tests."""

from __future__ import annotations

import numpy as np

import matcalc as mc


def neuron(detail: str = "compact"):
    """(a) Parr & Howard's neuron: activation max(0, w·x + b) and its squared-error loss."""
    n, N = mc.dims("n N")
    w, x, b = mc.vector("w", n), mc.vector("x", n), mc.scalar("b")
    X, y = mc.matrix("X", n, N), mc.vector("y", N)
    activation = mc.maximum(0, mc.dot(w, x) + b)
    loss = mc.sum((y - mc.maximum(0, X.T @ w + b)) ** 2) / N
    rng = np.random.default_rng(1)
    values = {"w": rng.normal(size=3), "x": rng.normal(size=3), "b": 0.3,
              "X": rng.normal(size=(3, 5)), "y": rng.normal(size=5)}  # fmt: skip
    return {
        "activation": mc.derive(activation, [w, b], name="activation", detail=detail),
        "loss": mc.derive(loss, [w, b], name="C", detail=detail),
    }, values


def one_layer(detail: str = "compact"):
    """(b) C = ½‖σ(Wx + b) − y‖²."""
    n, m = mc.dims("n m")
    x, W, b, y = mc.vector("x", n), mc.matrix("W", m, n), mc.vector("b", m), mc.vector("y", m)
    cost = mc.sum((mc.sigmoid(W @ x + b) - y) ** 2) / 2
    rng = np.random.default_rng(2)
    values = {"x": rng.normal(size=3), "W": rng.normal(size=(2, 3)), "b": rng.normal(size=2),
              "y": rng.uniform(size=2)}  # fmt: skip
    return {"one layer": mc.derive(cost, [W, b], name="C", detail=detail)}, values


def network(layers: int = 3, detail: str = "compact"):
    """(c) an L-layer sigmoid network with the quadratic cost, all weights and biases."""
    d = mc.dims(" ".join(f"d{i}" for i in range(layers + 1)))
    Ws = [mc.matrix(f"W{i + 1}", d[i + 1], d[i]) for i in range(layers)]
    bs = [mc.vector(f"b{i + 1}", d[i + 1]) for i in range(layers)]
    a, y = mc.vector("x", d[0]), mc.vector("y", d[-1])
    for W, b in zip(Ws, bs, strict=True):
        a = mc.sigmoid(W @ a + b)
    cost = mc.sum((a - y) ** 2) / 2
    params = [p for pair in zip(Ws, bs, strict=True) for p in pair]
    rng = np.random.default_rng(3)
    sizes = [4, 3, 3, 2, 2, 2][: layers + 1]
    values = {"x": rng.normal(size=sizes[0]), "y": rng.uniform(size=sizes[-1])}
    for i in range(layers):
        values[f"W{i + 1}"] = rng.normal(size=(sizes[i + 1], sizes[i]))
        values[f"b{i + 1}"] = rng.normal(size=sizes[i + 1])
    return {f"{layers}-layer network": mc.derive(cost, params, name="C", detail=detail)}, values
