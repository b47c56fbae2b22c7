"""Derivation, compile and import times of an L-layer MLP against depth L.

The network is the ``mc.nn`` one: z = W a + b, a = σ(z) per layer, the quadratic
cost C = ½ ‖a_L − y‖², differentiated w.r.t. every W and b at once.  Each
depth runs in fresh processes (the intern table and the simplifier's caches
start empty), after a 1-layer warm-up in the same process so that one-off
imports (sympy's printers, scipy) are not charged to the depth; the best of
the rounds is printed.  In one process: ``mc.derive(C, params)`` (the
step-by-step derivation, cold), then ``mc.compile(C, wrt=params)`` after it
(what a user who reads the derivation and then trains does).

What is compared is within this run: the per-layer slope (ms/layer, a least
squares fit) on the upper half of the depths against the lower half — a
linear cost has the same slope on both (ratio ≈ 1), a quadratic one a slope
that grows with depth — and t(200)/t(100) (2 when linear).  Targets: derive
at 200 layers under 1 s, derive + compile at 100 layers under 0.5 s, and
``import matcalc`` under 0.3 s (median of 5 fresh processes; the first use,
which loads numpy and sympy, is shown beside it).  Last, the cost of the
textbook forms (algebra.textbook_forms) at 100 layers: grad against grad
without that pass, in interleaved processes.

    python benchmarks/bench_derive.py            # all of it (about two minutes)
    python benchmarks/bench_derive.py --quick    # depths only up to 100, one round
    python benchmarks/bench_derive.py --cpu      # process CPU time (a loaded machine)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

DEPTHS = (2, 5, 10, 20, 50, 100, 150, 200)

NETWORK = r"""
import json, sys, time
import matcalc as mc

clock = time.process_time if "--cpu" in sys.argv else time.perf_counter

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
"""

DEPTH_WORKER = (
    NETWORK
    + r"""
layers = int(sys.argv[1])
warm, warm_params = network_cost(1)  # one-off imports and tables, not the depth's
mc.derive(warm, warm_params)
mc.compile(warm, wrt=warm_params)
cost, params = network_cost(layers)
start = clock()
mc.derive(cost, params)
derived = clock()
mc.compile(cost, wrt=params)
compiled = clock()
print(json.dumps({"derive": derived - start, "compile": compiled - derived}))
"""
)

IMPORT_WORKER = r"""
import json, sys, time
clock = time.process_time if "--cpu" in sys.argv else time.perf_counter
start = clock()
import matcalc as mc
imported = clock()
sympy_loaded = "sympy" in sys.modules
x, W = mc.vector("x", "n"), mc.matrix("W", "m", "n")
mc.grad(mc.sum(mc.sigmoid(W @ x)), W)
print(json.dumps({"import": imported - start, "first use": clock() - start,
                  "sympy": sympy_loaded}))
"""

TEXTBOOK_WORKER = (
    NETWORK
    + r"""
layers = int(sys.argv[1])
if sys.argv[2] == "raw":  # the baseline: the chain rule alone, results as the sweep leaves them
    import matcalc.engine
    matcalc.engine.textbook_forms = lambda *results: list(results)
times = []
for _ in range(5):
    cost, params = network_cost(layers)
    start = clock()
    grads = mc.grad(cost, params)
    times.append(clock() - start)
    del cost, params, grads
print(json.dumps({"seconds": min(times)}))
"""
)


def run(worker: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", worker, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def slope(points: list[tuple[int, float]]) -> float:
    """The least-squares slope of seconds against layers, in ms per layer."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return 1000 * num / sum((x - mx) ** 2 for x in xs)


def depths(flags: list[str], depth_list: tuple[int, ...], rounds: int) -> dict[int, dict]:
    best: dict[int, dict] = {}
    for _ in range(rounds):  # rounds interleaved over the depths: drift hits all alike
        for layers in depth_list:
            record = run(DEPTH_WORKER, str(layers), *flags)
            record["both"] = record["derive"] + record["compile"]
            old = best.setdefault(layers, record)
            best[layers] = {k: min(v, old[k]) for k, v in record.items()}
    return best


def report_depths(best: dict[int, dict]) -> None:
    print(f"{'layers':>7} {'derive (s)':>11} {'compile (s)':>12} {'both (s)':>9}")
    for layers, r in best.items():
        print(f"{layers:>7} {r['derive']:>11.4f} {r['compile']:>12.4f} {r['both']:>9.4f}")
    listed = sorted(best)
    half = len(listed) // 2
    lower, upper = listed[:half], listed[half:]
    print(f"\nper-layer slope (ms/layer): lower half {lower}, upper half {upper}")
    for key in ("derive", "compile", "both"):
        low = slope([(n, best[n][key]) for n in lower])
        high = slope([(n, best[n][key]) for n in upper])
        ratio = ""
        if 100 in best and 200 in best:
            ratio = f"   t(200)/t(100) = {best[200][key] / best[100][key]:.2f}"
        print(f"  {key:>8}: {low:6.2f} lower, {high:6.2f} upper (ratio {high / low:.2f}){ratio}")
    if 200 in best:
        verdict = "met" if best[200]["derive"] < 1.0 else "NOT met"
        print(f"target: derive at 200 layers under 1 s — {verdict} ({best[200]['derive']:.3f} s)")
    if 100 in best:
        verdict = "met" if best[100]["both"] < 0.5 else "NOT met"
        print(
            f"target: derive + compile at 100 layers under 0.5 s — {verdict} "
            f"({best[100]['both']:.3f} s)"
        )


def report_import(flags: list[str], processes: int = 5) -> None:
    records = [run(IMPORT_WORKER, *flags) for _ in range(processes)]
    imported = statistics.median(r["import"] for r in records)
    first = statistics.median(r["first use"] for r in records)
    verdict = "met" if imported < 0.3 else "NOT met"
    loads = "loads" if any(r["sympy"] for r in records) else "does not load"
    print(f"\nimport matcalc {loads} sympy")
    print(
        f"import matcalc: {imported:.3f} s (median of {processes} processes; target 0.3 s — "
        f"{verdict}); import + the first grad (numpy and sympy load): {first:.3f} s"
    )


def textbook_overhead(flags: list[str], layers: int = 100, rounds: int = 5) -> None:
    """grad with its textbook pass against grad without it, interleaved, same run."""
    ratios = []
    for r in range(rounds):
        order = ("full", "raw") if r % 2 == 0 else ("raw", "full")
        best = {mode: run(TEXTBOOK_WORKER, str(layers), mode, *flags)["seconds"] for mode in order}
        ratios.append(best["full"] / best["raw"])
    print(
        f"textbook forms at {layers} layers: grad / grad without them = "
        f"{statistics.median(ratios):.2f} (median of {rounds} rounds; target ≤ 1.5)"
    )


def main() -> None:
    quick = "--quick" in sys.argv
    flags = ["--cpu"] if "--cpu" in sys.argv else []
    print("clock:", "process CPU time" if flags else "wall (perf_counter)")
    depth_list = tuple(n for n in DEPTHS if n <= 100) if quick else DEPTHS
    report_depths(depths(flags, depth_list, rounds=1 if quick else 3))
    report_import(flags)
    if not quick:
        textbook_overhead(flags)


if __name__ == "__main__":
    main()
