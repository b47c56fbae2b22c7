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
    jit(vg)       jax.jit(jax.value_and_grad(loss, argnums=(0, 1))): loss is
                  mlp_numpy's cost written in jax.numpy line for line (exp-form
                  sigmoid and quadratic cost; ReLU, max-shifted log-softmax and
                  cross-entropy), the batch total as the reference's, so its
                  cost and gradients are checked against the reference's as
                  they are; differentiated w.r.t. every W and b
    jax fn        mc.compile(cost, wrt=[W1, b1, …], backend="jax") — the
                  network's cost, the batch mean, checked as fn(**values) is —
                  called as fn(**values), arguments checked

in rounds, the contenders' order rotated each round, each a block of calls
after an untimed warm-up call; the figure is the median over rounds of
(contender's median call) / (reference's median call in the same round).
Also shown: mlp_numpy's tuned in-place sigmoid variant, for scale, and the JAX
backend's fn.raw (its jitted kernel, arrays in order, no checks: what jax fn
costs without its per-call checking).

The JAX contenders take jax arrays made once (jax.numpy.asarray, on the CPU
device) before any timing, and every timed call waits for its results
(jax.block_until_ready).  JAX computes float64 with its 64-bit mode on
(jax.config.update("jax_enable_x64", True) in the worker before any array is
made); the float32 workers leave it off, and every contender's gradients must
come back in the dtype given.

One core for every contender: the BLAS pin alone does not hold JAX, so each
worker process is pinned to one CPU (os.sched_setaffinity, the highest-numbered
one it may use, before anything is imported; JAX sizes its thread pool by the
affinity, and a JAX maintainer calls task affinity the way to limit its CPU use,
jax-ml/jax#1539).  In its environment also XLA_FLAGS=--xla_cpu_multi_thread_eigen=false
(Eigen's matmuls on one thread: a 2048² matmul chain runs at 1.7 cores' CPU time
per wall second without it, 1.0 with it, jax 0.10.2 on two cores) and
OMP_NUM_THREADS=1.  Those flags alone are not enough: without the affinity
pin, jit(vg) on 784-512-512-10/B256 still took 1.7–1.9 cores in some rounds
(XLA's CPU runtime, it seems, running independent ops side by side on its
thread pool, or its idle threads spinning).  The often quoted extra word
"intra_op_parallelism_threads=1" is not an XLA flag: XLA skips it after a
flag and dies on it when it stands alone.  The summary gives each contender's
highest CPU time per wall second over its timed blocks: ≤ 1.0 with the pin,
≈ 1.0 when the core was the worker's alone.  Without jax installed the JAX
contenders are skipped, with a note.

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
JAX_CONTENDERS = ["jit(vg)", "jax fn", "jax fn.raw"]
TUNED = "tuned in-place reference"
# large temporaries must not be handed back to the OS (and faulted in again) on every
# call, depending on the heap's state: the same for every contender
MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
# JAX on one thread, as BLAS is (module docstring)
JAX_ONE_THREAD = {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false", "OMP_NUM_THREADS": "1"}


# -- the worker: one configuration, kind and dtype ----------
def worker(config: str, kind: str, dtype_name: str, seconds: float) -> None:
    cpu = _pin_to_one_cpu()  # first: every thread started from here on inherits it
    import numpy as np
    import scipy.linalg  # noqa: F401 - scipy brings a BLAS of its own: loaded before the limit
    from threadpoolctl import threadpool_info, threadpool_limits

    try:
        import jax
    except ImportError:
        jax = None
    if jax is not None and dtype_name == "float64":
        jax.config.update("jax_enable_x64", True)  # before any jax array is made

    sys.path.insert(0, str(REFERENCE))
    import mlp_numpy as ref

    import matcalc as mc
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
        extra[TUNED] = lambda: ref.grad_sigmoid_quadratic_inplace(weights, biases, X, Y)
    expected = reference(weights, biases, X, Y)
    agree = {"numpy": _agree(ref, expected, fn, values, out, batch, dtype)}
    if jax is not None:
        jnp = jax.numpy
        jweights = [jnp.asarray(W) for W in weights]  # on the device, once
        jbiases = [jnp.asarray(b) for b in biases]
        jX, jY = jnp.asarray(X), jnp.asarray(Y)
        jvalues = {"X": jX, "Y": jY}
        jvalues.update({f"W{i + 1}": W for i, W in enumerate(jweights)})
        jvalues.update({f"b{i + 1}": b for i, b in enumerate(jbiases)})
        vg = jax.jit(jax.value_and_grad(_jax_loss(jnp, variant), argnums=(0, 1)))
        jfn = mc.compile(network.cost, wrt=network.parameters, backend="jax")
        ready = jax.block_until_ready
        steps["jit(vg)"] = lambda: ready(vg(jweights, jbiases, jX, jY))
        steps["jax fn"] = lambda: ready(jfn(**jvalues))
        jargs = [jvalues[name] for name in jfn.arguments]
        extra["jax fn.raw"] = lambda: ready(jfn.raw(*jargs))
        value, (gw, gb) = steps["jit(vg)"]()
        agree["jit(vg)"] = _close(ref, expected, value, list(gw), list(gb), 1, dtype)
        value, grads = steps["jax fn"]()
        by_name = {v.name: g for v, g in zip(jfn.wrt, grads, strict=True)}
        gw = [by_name[f"W{i + 1}"] for i in range(len(weights))]
        gb = [by_name[f"b{i + 1}"] for i in range(len(weights))]
        agree["jax fn"] = _close(ref, expected, value, gw, gb, batch, dtype)
        raw = extra["jax fn.raw"]()
        agree["jax fn.raw"] = all(
            np.allclose(np.asarray(r), np.asarray(o), rtol=_tolerance(dtype), atol=0)
            for r, o in zip(raw[1:], grads, strict=True)
        )
    timed = {**steps, **extra}
    names = list(timed)
    for step in timed.values():  # warm every path (first calls build caches, JAX compiles)
        step()
    start = time.perf_counter()
    timed["reference"]()
    once = time.perf_counter() - start
    block = max(3, min(200, int(0.02 / max(once, 1e-6))))
    times: dict[str, list[float]] = {name: [] for name in names}
    cores: dict[str, list[float]] = {name: [] for name in names}  # CPU time / wall time
    deadline = time.perf_counter() + seconds
    rounds = 0
    while rounds < 7 or (time.perf_counter() < deadline and rounds < 60):
        order = names[rounds % len(names) :] + names[: rounds % len(names)]
        for name in order:
            step = timed[name]
            step()  # untimed warm-up call for the block
            calls = []
            used, wall = time.process_time(), time.perf_counter()
            for _ in range(block):
                begin = time.perf_counter()
                step()
                calls.append(time.perf_counter() - begin)
            cores[name].append((time.process_time() - used) / (time.perf_counter() - wall))
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
        "cores": {name: max(c) for name, c in cores.items()},
        "jax": None if jax is None else jax.__version__, "cpu": cpu,
    }))  # fmt: skip


def _pin_to_one_cpu() -> int | None:
    """This process (and the threads it starts later: BLAS's, XLA's pool, sized by the
    affinity) on the highest-numbered CPU it may use; None where there is no affinity."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def _jax_loss(jnp, variant: str):
    """mlp_numpy's cost (cost_sigmoid_quadratic or cost_relu_softmax) in jax.numpy, line
    for line: the batch total, biases (n, 1) broadcast over the batch's columns."""
    if variant == "sigmoid":

        def loss(Ws, bs, X, Y):
            a = X
            for W, b in zip(Ws, bs, strict=True):
                a = 1.0 / (1.0 + jnp.exp(-(W @ a + b)))
            d = a - Y
            return 0.5 * jnp.sum(d * d)

    else:

        def loss(Ws, bs, X, Y):
            a = X
            for W, b in zip(Ws[:-1], bs[:-1], strict=True):
                a = jnp.maximum(W @ a + b, 0.0)
            z = Ws[-1] @ a + bs[-1]
            zmax = z.max(axis=0, keepdims=True)
            logp = z - zmax - jnp.log(jnp.exp(z - zmax).sum(axis=0, keepdims=True))
            return -jnp.sum(Y * logp)

    return loss


def _tolerance(dtype) -> float:
    import numpy as np

    return 1e-4 if dtype == np.float32 else 1e-9


def _close(ref, expected, value, gw: list, gb: list, scale: int, dtype) -> bool:
    """One call's cost and gradients (W1…, b1…), times scale (B for the network's batch
    mean), against the reference's, every gradient in the given dtype."""
    import numpy as np

    cost = float(expected[0])
    tolerance = _tolerance(dtype)
    gw = [np.asarray(g) for g in gw]
    gb = [np.asarray(g) for g in gb]
    value = float(np.asarray(value).reshape(())) * scale
    ok = abs(value - cost) <= tolerance * max(1.0, abs(cost))
    scaled = (value, [g * scale for g in gw], [g * scale for g in gb])
    ok &= ref.max_rel_err(scaled, expected) < tolerance
    ok &= all(
        g.dtype == dtype and g.shape == e.shape
        for g, e in zip(gw + gb, expected[1] + expected[2], strict=True)
    )
    return bool(ok)


def _agree(ref, expected, fn, values, out, batch: int, dtype) -> bool:
    """Every call path's cost and gradients, times B (the network's cost is the batch
    mean), against the reference's; and fn.into's arrays are the ones given."""
    import numpy as np

    layers = len(expected[1])
    ok = True
    for value, grads in (fn(**values), fn.into(out, **values)):
        by_name = {v.name: g for v, g in zip(fn.wrt, grads, strict=True)}
        gw = [by_name[f"W{i + 1}"] for i in range(layers)]
        gb = [by_name[f"b{i + 1}"] for i in range(layers)]
        ok &= _close(ref, expected, value, gw, gb, batch, dtype)
    raw = fn.raw(*[values[name] for name in fn.arguments])
    tolerance = _tolerance(dtype)
    ok &= all(np.allclose(r, o, rtol=tolerance, atol=0) for r, o in zip(raw, out, strict=True))
    return bool(ok)


# -- the parent ----------
def run(config: str, kind: str, dtype: str, seconds: float) -> dict:
    env = {**os.environ, **MALLOC, **JAX_ONE_THREAD}
    if os.environ.get("XLA_FLAGS"):  # the caller's own XLA flags, and one thread
        env["XLA_FLAGS"] = f"{os.environ['XLA_FLAGS']} {JAX_ONE_THREAD['XLA_FLAGS']}"
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


def _cell(ratios: dict, name: str, width: int) -> str:
    return f"{ratios[name]:>{width}.2f}" if name in ratios else f"{'–':>{width}}"


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"reference: {REFERENCE / 'mlp_numpy.py'}")
    print(
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
        f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}"
    )
    header = (
        f"{'configuration':<21} {'kind':<18} {'dtype':<8} {'ref ms':>8} "
        f"{'fn(**values)':>12} {'fn.raw':>7} {'fn.into':>7} {'tuned ref':>9} "
        f"{'jit(vg)':>8} {'jax fn':>7} {'jax raw':>7}  rounds"
    )
    worst = 0.0
    worst_jax = dict.fromkeys(JAX_CONTENDERS, 0.0)
    cores: dict[str, float] = {}
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
                    if result["cpu"] is not None:
                        print(f"every worker pinned to CPU {result['cpu']} (sched_setaffinity)")
                    if result["jax"]:
                        print(f"JAX {result['jax']} on CPU, {JAX_ONE_THREAD}")
                    else:
                        print("jax is not installed: the JAX contenders are skipped (–)")
                    print(
                        "ratio = median over rounds of contender / reference (< 1: faster); "
                        "jit(vg) = jax.jit(jax.value_and_grad(loss)), "
                        'jax fn = mc.compile(..., backend="jax")(**values), '
                        "jax raw = its fn.raw (the jitted kernel, no checks)\n"
                    )
                    print(header)
                    shown_blas = True
                r = result["ratios"]
                worst = max(worst, r["fn(**values)"], r["fn.raw"])
                for name in JAX_CONTENDERS:
                    if name in r:
                        worst_jax[name] = max(worst_jax[name], r[name])
                for name, c in result["cores"].items():
                    cores[name] = max(cores.get(name, 0.0), c)
                tuned = r.get(TUNED)
                differ = [name for name, ok in result["agree"].items() if not ok]
                print(
                    f"{config:<21} {kind:<18} {dtype:<8} {result['reference_ms']:>8.3f} "
                    f"{r['fn(**values)']:>12.2f} {r['fn.raw']:>7.2f} {r['fn.into']:>7.2f} "
                    f"{'' if tuned is None else f'{tuned:.2f}':>9} "
                    f"{_cell(r, 'jit(vg)', 8)} {_cell(r, 'jax fn', 7)} "
                    f"{_cell(r, 'jax fn.raw', 7)}  {result['rounds']}"
                    + (f"  RESULTS DIFFER: {', '.join(differ)}" if differ else ""),
                    flush=True,
                )
    print(f"\nworst compiled / reference (fn(**values) and fn.raw): {worst:.2f} (goal ≤ 1.00)")
    if any(name in cores for name in JAX_CONTENDERS):
        print(
            f"worst jit(vg) / reference: {worst_jax['jit(vg)']:.2f}; "
            f"worst jax fn / reference: {worst_jax['jax fn']:.2f} "
            f"(its fn.raw: {worst_jax['jax fn.raw']:.2f})"
        )
    print(
        "worst CPU time per wall second in a timed block (1.0 = one core): "
        + ", ".join(f"{name} {c:.2f}" for name, c in cores.items())
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
    else:
        main()
