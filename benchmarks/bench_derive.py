"""Derivation time of the gradient of an L-layer MLP cost w.r.t. all parameters.

Each L runs in its own fresh process (the expression intern table starts
empty); the first call (cold caches) and the best of 5 are printed.  The
target is linear growth in L, and L = 100 in under 1 s.  The baseline of the
per-layer ratio is L = 2 in the same run.  Last, the cost of the textbook
forms (algebra.textbook_forms): grad against grad without that pass, in
interleaved processes, at 100 layers.

    python benchmarks/bench_derive.py
"""

from __future__ import annotations

import json
import subprocess
import sys

WORKER = r"""
import json, sys, time
import matcalc as mc

def network_cost(layers):
    sizes = mc.dims(" ".join(f"d{i}" for i in range(layers + 1)))
    x, y = mc.vector("x", sizes[0]), mc.vector("y", sizes[-1])
    params, a = [], x
    for i in range(layers):
        W = mc.matrix(f"W{i + 1}", sizes[i + 1], sizes[i])
        b = mc.vector(f"b{i + 1}", sizes[i + 1])
        a = mc.sigmoid(W @ a + b)
        params += [W, b]
    return mc.sum((a - y) ** 2) / 2, params

layers = int(sys.argv[1])
if sys.argv[2] == "raw":  # the baseline: the chain rule alone, results as the sweep leaves them
    import matcalc.engine
    matcalc.engine.textbook_forms = lambda *results: list(results)
times = []
for _ in range(5):
    cost, params = network_cost(layers)
    start = time.perf_counter()
    grads = mc.grad(cost, params)
    times.append(time.perf_counter() - start)
    del cost, params, grads
print(json.dumps({"layers": layers, "cold": times[0], "seconds": min(times)}))
"""


def measure(layers: int, mode: str = "full") -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, str(layers), mode],
        check=True,
        capture_output=True,
        text=True,
    )
    record = json.loads(out.stdout)
    return record["cold"], record["seconds"]


def textbook_overhead(layers: int = 100, rounds: int = 5) -> None:
    """grad with its textbook pass against grad without it, interleaved, same run."""
    ratios = []
    for r in range(rounds):
        order = ("full", "raw") if r % 2 == 0 else ("raw", "full")
        best = {mode: measure(layers, mode)[1] for mode in order}
        ratios.append(best["full"] / best["raw"])
    ratios.sort()
    print(
        f"textbook forms at {layers} layers: grad / grad without them = "
        f"{ratios[len(ratios) // 2]:.2f} (median of {rounds} rounds; target ≤ 1.5)"
    )


def main() -> None:
    results = {layers: measure(layers) for layers in (2, 10, 50, 100)}
    per_layer_base = results[2][0] / 2
    header = ("layers", "first (s)", "best of 5", "ms/layer", "per-layer vs L=2")
    print("{:>7} {:>10} {:>10} {:>9} {:>17}".format(*header))
    for layers, (cold, best) in results.items():
        per_layer = cold / layers
        print(
            f"{layers:>7} {cold:>10.4f} {best:>10.4f} {1000 * per_layer:>9.2f} "
            f"{per_layer / per_layer_base:>17.2f}"
        )
    verdict = "met" if results[100][0] < 1.0 else "NOT met"
    print(f"target: 100 layers under 1 s — {verdict}")
    textbook_overhead()


if __name__ == "__main__":
    main()
