"""Speed of the compiled backward pass against the hand-written numpy reference.

The reference is ``../shared/bench/mlp_numpy.py`` (imported from there, never
copied): textbook vectorised backprop with the exp-form sigmoid, the quadratic
cost for sigmoid nets and softmax cross-entropy for ReLU nets.  The compiled
function is ``mc.nn.Network(sizes, activation, cost).compile()``'s, which is
``mc.compile(cost, wrt=[W1, b1, …])``; the network's cost is the batch mean,
the reference's the batch total, so the compiled gradients times B are checked
against the reference's before any timing.

For every configuration, kind and dtype, in a process of its own (BLAS pinned
to one thread with threadpoolctl: two-thread timings swing 2× on this shared
machine): one gradient (forward and backward) by each contender

    reference     mlp_numpy's gradient function
    fn(**values)  the compiled function called by name, arguments checked
    fn.raw        the same code without the checks (arrays in order)
    fn.into       fn(**values) writing into result arrays reused across calls

in rounds, the contenders' order rotated each round, each a block of calls
after an untimed warm-up call; the figure is the median over rounds of
(contender's median call) / (reference's median call in the same round).
Also shown: mlp_numpy's tuned in-place sigmoid variant, for scale.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_backprop.py
    ... bench_backprop.py --quick     # fewer rounds
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent.parent / "shared" / "bench"

CONFIGS = {
    "784-30-10/B10": ([784, 30, 10], 10),
    "784-128-64-10/B128": ([784, 128, 64, 10], 128),
    "784-64x20-10/B64": ([784] + [64] * 20 + [10], 64),
    "784-512-512-10/B256": ([784, 512, 512, 10], 256),
}
KINDS = {  # network kind → (activation, cost, mlp_numpy variant)
    "sigmoid+quadratic": ("sigmoid", "quadratic", "sigmoid"),
    "relu+softmax-CE": ("relu", "cross_entropy", "relu_softmax"),
}
DTYPES = ["float64", "float32"]
CONTENDERS = ["reference", "fn(**values)", "fn.raw", "fn.into"]
# large temporaries must not be handed back to the OS (and faulted in again) on every
# call, depending on the heap's state: the same for every contender
MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}


# -- the worker: one configuration, kind and dtype ----------
def worker(config: str, kind: str, dtype_name: str, seconds: float) -> None:
    import numpy as np
    import scipy.linalg  # noqa: F401 - scipy brings a BLAS of its own: loaded before the limit
    from threadpoolctl import threadpool_info, threadpool_limits

    sys.path.insert(0, str(REFERENCE))
    import mlp_numpy as ref

    from matcalc.nn import Network

    limits = threadpool_limits(1)  # every BLAS loaded so far: one thread
    sizes, batch = CONFIGS[config]
    activation, cost, variant = KINDS[kind]
    dtype = np.dtype(dtype_name)
    weights, biases = ref.init_params(sizes, dtype=dtype)
    X, Y = ref.make_batch(sizes, batch, dtype=dtype)
    reference = ref.VARIANTS[variant][1]
    network = Network(sizes, activation=activation, cost=cost)
    _, backward = network.compile()
    fn = backward.checked  # the CompiledFunction of mc.compile(cost, wrt=parameters)
    values = {"X": X, "Y": Y}
    values.update({f"W{i + 1}": W for i, W in enumerate(weights)})
    values.update({f"b{i + 1}": b for i, b in enumerate(biases)})
    args = [values[name] for name in fn.arguments]
    out = fn.allocate(**values)
    steps = {
        "reference": lambda: reference(weights, biases, X, Y),
        "fn(**values)": lambda: fn(**values),
        "fn.raw": lambda: fn.raw(*args),
        "fn.into": lambda: fn.into(out, **values),
    }
    extra = {}
    if variant == "sigmoid":
        extra["tuned in-place reference"] = lambda: ref.grad_sigmoid_quadratic_inplace(
            weights, biases, X, Y
        )
    agree = _agree(ref, reference(weights, biases, X, Y), fn, values, out, batch, dtype)
    timed = {**steps, **extra}
    names = list(timed)
    for step in timed.values():  # warm every path (first calls build caches)
        step()
    start = time.perf_counter()
    timed["reference"]()
    once = time.perf_counter() - start
    block = max(3, min(200, int(0.02 / max(once, 1e-6))))
    times: dict[str, list[float]] = {name: [] for name in names}
    deadline = time.perf_counter() + seconds
    rounds = 0
    while rounds < 7 or (time.perf_counter() < deadline and rounds < 60):
        order = names[rounds % len(names) :] + names[: rounds % len(names)]
        for name in order:
            step = timed[name]
            step()  # untimed warm-up call for the block
            calls = []
            for _ in range(block):
                begin = time.perf_counter()
                step()
                calls.append(time.perf_counter() - begin)
            times[name].append(statistics.median(calls))
            time.sleep(0.005)
        rounds += 1
    ratios = {
        name: statistics.median(t / r for t, r in zip(times[name], times["reference"], strict=True))
        for name in names
    }
    blas = [
        {k: info.get(k) for k in ("internal_api", "architecture", "version", "num_threads")}
        for info in threadpool_info()
    ]
    del limits
    print(json.dumps({
        "ratios": ratios, "reference_ms": 1000 * statistics.median(times["reference"]),
        "agree": agree, "rounds": rounds, "block": block, "blas": blas,
    }))  # fmt: skip


def _agree(ref, expected, fn, values, out, batch: int, dtype) -> bool:
    """Every call path's cost and gradients, times B (the network's cost is the batch
    mean), against the reference's; and fn.into's arrays are the ones given."""
    import numpy as np

    cost, gw, gb = expected
    layers = len(gw)
    tolerance = 1e-4 if dtype == np.float32 else 1e-9
    ok = True
    for value, grads in (fn(**values), fn.into(out, **values)):
        by_name = {v.name: g for v, g in zip(fn.wrt, grads, strict=True)}
        mine = [by_name[f"W{i + 1}"] for i in range(layers)]
        mine += [by_name[f"b{i + 1}"] for i in range(layers)]
        ok &= abs(value * batch - float(cost)) <= tolerance * max(1.0, abs(float(cost)))
        scaled = [g * batch for g in mine]
        result = (value * batch, scaled[:layers], scaled[layers:])
        ok &= ref.max_rel_err(result, expected) < tolerance
        ok &= all(g.dtype == dtype for g in mine)
    raw = fn.raw(*[values[name] for name in fn.arguments])
    ok &= all(np.allclose(r, o, rtol=tolerance, atol=0) for r, o in zip(raw, out, strict=True))
    return bool(ok)


# -- the parent ----------
def run(config: str, kind: str, dtype: str, seconds: float) -> dict:
    env = {**os.environ, **MALLOC}
    done = subprocess.run(
        [sys.executable, __file__, "--worker", config, kind, dtype, str(seconds)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {config} {kind} {dtype} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"reference: {REFERENCE / 'mlp_numpy.py'}")
    print(
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
        f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}"
    )
    header = (
        f"{'configuration':<21} {'kind':<18} {'dtype':<8} {'ref ms':>8} "
        f"{'fn(**values)':>12} {'fn.raw':>7} {'fn.into':>7} {'tuned ref':>9}  rounds"
    )
    worst = 0.0
    shown_blas = False
    for config, (sizes, _) in CONFIGS.items():
        # the big configurations run fewer rounds in the same few seconds
        seconds = (2.0 if quick else 6.0) if sum(sizes) < 2000 else (3.0 if quick else 8.0)
        for kind in KINDS:
            for dtype in DTYPES:
                result = run(config, kind, dtype, seconds)
                if not shown_blas:
                    for pool in result["blas"]:
                        print(
                            f"BLAS: {pool['internal_api']} {pool['version']} kernel "
                            f"{pool['architecture']}, {pool['num_threads']} thread(s)"
                        )
                    print("ratio = median over rounds of compiled / reference (< 1: faster)\n")
                    print(header)
                    shown_blas = True
                r = result["ratios"]
                worst = max(worst, r["fn(**values)"], r["fn.raw"])
                tuned = r.get("tuned in-place reference")
                print(
                    f"{config:<21} {kind:<18} {dtype:<8} {result['reference_ms']:>8.3f} "
                    f"{r['fn(**values)']:>12.2f} {r['fn.raw']:>7.2f} {r['fn.into']:>7.2f} "
                    f"{'' if tuned is None else f'{tuned:.2f}':>9}  {result['rounds']}"
                    + ("" if result["agree"] else "  RESULTS DIFFER"),
                    flush=True,
                )
    print(f"\nworst compiled / reference (fn(**values) and fn.raw): {worst:.2f} (goal ≤ 1.00)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
    else:
        main()
