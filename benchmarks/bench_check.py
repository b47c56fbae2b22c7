"""Time of mc.check against network depth: a tanh network's first-layer gradient,
checked right and checked wrong (twice the gradient), L = 2 … 20 layers.

The symbolic stage is bounded (canonical.MAX_TERMS), so a deep claim falls back
to numbers instead of growing exponentially; the target is close to linear
growth, and 20 layers well under a second.  The baseline of the per-layer ratio
is L = 2 in the same run.

    python benchmarks/bench_check.py
"""

from __future__ import annotations

import time

import matcalc as mc


def network(layers: int) -> tuple[mc.Expr, mc.Variable]:
    sizes = mc.dims(" ".join(f"d{i}" for i in range(layers + 1)))
    a = mc.vector("x", sizes[0])
    weights = [mc.matrix(f"W{i + 1}", sizes[i + 1], sizes[i]) for i in range(layers)]
    for W in weights:
        a = mc.tanh(W @ a)
    return mc.sum((a - mc.vector("y", sizes[-1])) ** 2) / 2, weights[0]


def main() -> None:
    print(
        f"{'layers':>7} {'right (s)':>10} {'wrong (s)':>10} {'method':>9} {'per layer vs L=2':>17}"
    )
    base = 0.0
    for layers in (2, 5, 10, 15, 20):
        f, W = network(layers)
        g = mc.grad(f, W)
        start = time.perf_counter()
        right = mc.check(g, f, W)
        middle = time.perf_counter()
        wrong = mc.check(2 * g, f, W)
        end = time.perf_counter()
        assert right.ok and not wrong.ok
        per_layer = (end - start) / layers
        base = base if base else per_layer
        print(
            f"{layers:>7} {middle - start:>10.3f} {end - middle:>10.3f} {right.method:>9} "
            f"{per_layer / base:>17.2f}"
        )


if __name__ == "__main__":
    main()
