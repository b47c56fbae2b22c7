"""The main job (until the network issue lands): derive gradients and show them.

Run with ``python -m matcalc.demo``.  It derives, by the engine's Jacobian
chain rule, the gradients of
1. Parr & Howard's neuron loss C = (1/N) Σᵢ (yᵢ − max(0, w·xᵢ + b))², and
2. a two-layer network's quadratic cost C = ½‖σ(W² σ(W¹x + b¹) + b²) − y‖²,
with respect to every weight and bias, prints them, checks each one against
central finite differences on random numbers, prints the two-layer
derivation step by step, and writes it as LaTeX (and PDF where pdflatex is).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import matcalc as mc


def finite_difference_check(f: mc.Expr, x: mc.Variable, values: dict, step: float = 1e-6) -> float:
    """Largest relative gap between mc.evaluate(grad) and central differences."""
    derived = np.asarray(mc.evaluate(mc.grad(f, x), values), dtype=float).reshape(-1)
    base = np.asarray(values[x.name], dtype=float)
    numeric = np.empty(base.size)
    for k in range(base.size):
        shifted = base.copy().reshape(-1)
        shifted[k] += step
        up = mc.evaluate(f, {**values, x.name: shifted.reshape(base.shape)})
        shifted[k] -= 2 * step
        down = mc.evaluate(f, {**values, x.name: shifted.reshape(base.shape)})
        numeric[k] = (up - down) / (2 * step)
    scale = max(1.0, float(np.max(np.abs(numeric))))
    return float(np.max(np.abs(derived - numeric))) / scale


def neuron() -> tuple[mc.Expr, list[mc.Variable], dict]:
    n, N = mc.dims("n N")
    w = mc.vector("w", n)
    X = mc.matrix("X", n, N)  # one example per column
    b = mc.scalar("b")
    y = mc.vector("y", N)
    activation = mc.maximum(0, X.T @ w + b)
    cost = mc.sum((y - activation) ** 2) / N
    rng = np.random.default_rng(0)
    values = {
        "w": rng.normal(size=3),
        "X": rng.normal(size=(3, 5)),
        "b": 0.1,
        "y": rng.normal(size=5),
    }
    return cost, [w, b], values


def two_layer_network() -> tuple[mc.Expr, list[mc.Variable], dict]:
    n, h, m = mc.dims("n h m")
    x = mc.vector("x", n)
    W1, b1 = mc.matrix("W1", h, n), mc.vector("b1", h)
    W2, b2 = mc.matrix("W2", m, h), mc.vector("b2", m)
    y = mc.vector("y", m)
    a1 = mc.sigmoid(W1 @ x + b1)
    a2 = mc.sigmoid(W2 @ a1 + b2)
    cost = mc.sum((a2 - y) ** 2) / 2
    rng = np.random.default_rng(1)
    values = {
        "x": rng.normal(size=4), "W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=3),
        "W2": rng.normal(size=(2, 3)), "b2": rng.normal(size=2), "y": rng.uniform(size=2),
    }  # fmt: skip
    return cost, [W1, b1, W2, b2], values


def show(title: str, cost: mc.Expr, params: list[mc.Variable], values: dict) -> float:
    print(f"== {title}")
    print(f"C = {cost}")
    worst = 0.0
    for p, g in zip(params, mc.grad(cost, params), strict=True):
        gap = finite_difference_check(cost, p, values)
        worst = max(worst, gap)
        print(f"∂C/∂{p.name} = {g}")
        print(f"    shape {mc.text_shape(g)}, finite-difference check: relative gap {gap:.1e}")
    print()
    return worst


def write_up(cost: mc.Expr, params: list[mc.Variable], out: Path) -> None:
    """Print the derivation step by step and write it as .tex (and .pdf)."""
    derivation = mc.derive(cost, params, name="C")
    print("== The two-layer derivation, step by step")
    print(derivation.text())
    print()
    tex = derivation.write_tex(out / "two_layer_derivation.tex")
    print(f"wrote {tex}")
    try:
        pdf = derivation.write_pdf(out / "two_layer_derivation.pdf")
        print(f"wrote {pdf}")
    except mc.LatexError as problem:
        print(problem)


def main(out: Path = Path("out")) -> int:
    network_cost, network_params, network_values = two_layer_network()
    worst = max(
        show("Parr & Howard's neuron: C = mean of (y − max(0, w·x + b))²", *neuron()),
        show("A two-layer network's quadratic cost", network_cost, network_params, network_values),
    )
    ok = worst < 1e-6
    print("all gradients agree with finite differences" if ok else "MISMATCH")
    print()
    write_up(network_cost, network_params, out)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
