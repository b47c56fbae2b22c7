"""Value, gradient and Hessian of logistic regression, compiled, against hand-written
numpy and jax.hessian under jit.

    f(w) = Σᵢ softplus(xᵢᵀ w) − yᵀ X w,   ∇f = Xᵀ (σ(X w) − y),
    ∇²f = Xᵀ diag(s) X  with  s = σ(X w) ⊙ (1 − σ(X w)) ≥ 0,

n = 1000 samples and d = 100, 300, 1000 features, float64.  ``mc.compile(f,
wrt=[w], hessian=True)`` computes the three sharing the forward pass, and the
Hessian as the Gram matrix Zᵀ Z of Z = √s ⊙ X (numpy's matmul of an array with
its transpose is BLAS's symmetric rank-k update: half the multiplications).
Contenders, each a ratio to the hand-written value, gradient and Hessian
(``X.T @ (s[:, None] * X)``, the form the issue names):

    fn(**values)  the compiled function called by name (value, gradient, Hessian)
    fn.raw        the same code without the argument checks
    H alone       the hand-written Hessian line by itself (p, s and Xᵀ (s ⊙ X))
    jax.hessian   jax.jit(jax.hessian(f)), the Hessian alone
    jax v+g+H     jax.jit of (f, ∇f, ∇²f) together
    jax backend   mc.compile(f, wrt=[w], hessian=True, backend="jax")(**values)

Each d in its own processes (numpy in one, JAX in another: their thread pools must
not fight over the two cores), BLAS and XLA pinned to one thread; rounds with the
order rotated, the median over rounds of per-round ratios.  Without jax installed
its columns are skipped with a note.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/bench_hessian.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

SIZES = [100, 300, 1000]
SAMPLES = 1000
NUMPY = ["hand-written", "fn(**values)", "fn.raw", "H alone"]
JAX = ["jax.hessian", "jax v+g+H", "jax backend"]
MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
# XLA on one thread, like the BLAS the numpy contenders use
XLA = {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false", "OMP_NUM_THREADS": "1"}


def data(d: int):
    import numpy as np

    rng = np.random.default_rng(d)
    X = rng.normal(size=(SAMPLES, d)) / np.sqrt(d)
    w = rng.normal(size=(d, 1))
    y = (rng.random((SAMPLES, 1)) < 0.5).astype(float)
    return X, w, y


def numpy_steps(d: int):
    import numpy as np
    from scipy.special import expit

    import matcalc as mc

    X, w, y = data(d)
    n_, d_ = mc.dims("n d")
    Xs, ws, ys = mc.matrix("X", n_, d_), mc.vector("w", d_), mc.vector("y", n_)
    f = mc.sum(mc.softplus(Xs @ ws)) - ys.T @ (Xs @ ws)
    fn = mc.compile(f, wrt=[ws], hessian=True)
    values = {"X": X, "w": w, "y": y}
    args = [values[name] for name in fn.arguments]

    def hand_written():
        t = X @ w
        p = expit(t)
        value = np.sum(np.logaddexp(0.0, t)) - (y.T @ t).item()
        gradient = X.T @ (p - y)
        s = (p * (1.0 - p)).ravel()
        return value, gradient, X.T @ (s[:, None] * X)

    def hessian_alone():
        p = expit(X @ w)
        s = (p * (1.0 - p)).ravel()
        return X.T @ (s[:, None] * X)

    value, (gradient,), H = fn(**values)
    ref_value, ref_gradient, ref_H = hand_written()
    agree = (
        abs(value - ref_value) <= 1e-9 * abs(ref_value)
        and np.allclose(gradient, ref_gradient, rtol=1e-9, atol=1e-12)
        and np.allclose(H, ref_H, rtol=1e-9, atol=1e-12)
        and bool((H == H.T).all())
    )
    steps = {
        "hand-written": hand_written,
        "fn(**values)": lambda: fn(**values),
        "fn.raw": lambda: fn.raw(*args),
        "H alone": hessian_alone,
    }
    return steps, agree, ref_H


def jax_steps(d: int):
    import jax
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    X, w, y = (jnp.asarray(a) for a in data(d))

    def f(v):
        t = X @ v
        return jnp.sum(jnp.logaddexp(0.0, t)) - jnp.sum(y * t)

    hessian = jax.jit(jax.hessian(f))
    together = jax.jit(lambda v: (f(v), jax.grad(f)(v), jax.hessian(f)(v)))

    def run_hessian():
        return hessian(w).block_until_ready()

    def run_together():
        return jax.block_until_ready(together(w))

    import matcalc as mc

    n, dim = mc.dims("n d")
    Xv, wv, yv = mc.matrix("X", n, dim), mc.vector("w", dim), mc.vector("y", n)
    compiled = mc.compile(
        mc.sum(mc.softplus(Xv @ wv)) - yv.T @ (Xv @ wv), wrt=[wv], hessian=True, backend="jax"
    )

    def run_backend():
        return jax.block_until_ready(compiled(X=X, w=w, y=y))

    _, _, ref_H = numpy_steps(d)
    H = np.asarray(run_hessian()).reshape(d, d)
    backend_H = np.asarray(run_backend()[2])
    agree = bool(np.allclose(H, ref_H, rtol=1e-9, atol=1e-12)) and bool(
        np.allclose(backend_H, ref_H, rtol=1e-9, atol=1e-12)
    )
    run_together()
    steps = {"jax.hessian": run_hessian, "jax v+g+H": run_together, "jax backend": run_backend}
    return steps, agree


def worker(kind: str, d: int) -> None:
    """Reads block sizes "name count" from stdin, answers the median call time."""
    import numpy  # noqa: F401 - loaded first, so that threadpoolctl sees its BLAS
    import scipy.linalg  # noqa: F401 - scipy brings a BLAS of its own
    from threadpoolctl import threadpool_info, threadpool_limits

    import matcalc  # noqa: F401

    limits = threadpool_limits(1)  # every BLAS loaded so far: one thread
    try:
        if kind == "numpy":
            steps, agree, _ = numpy_steps(d)
        else:
            steps, agree = jax_steps(d)
    except ModuleNotFoundError as error:
        print(json.dumps({"missing": str(error)}), flush=True)
        return
    for step in steps.values():
        step()
    blas = [
        f"{i.get('internal_api')} {i.get('version')} kernel {i.get('architecture')}, "
        f"{i.get('num_threads')} thread(s)"
        for i in threadpool_info()
    ]
    print(json.dumps({"names": list(steps), "agree": agree, "blas": blas}), flush=True)
    assert limits is not None
    for line in sys.stdin:
        name, count = line.split("\t")
        step = steps[name]
        step()  # an untimed warm-up call per block
        times = []
        for _ in range(int(count)):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        print(json.dumps({"median": statistics.median(times)}), flush=True)


def spawn(kind: str, d: int) -> subprocess.Popen:
    env = {**os.environ, **MALLOC, **(XLA if kind == "jax" else {})}
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", kind, str(d)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def compare(d: int, rounds: int) -> dict:
    workers = {kind: spawn(kind, d) for kind in ("numpy", "jax")}
    ready = {kind: json.loads(w.stdout.readline()) for kind, w in workers.items()}
    owner = {}
    for kind, info in ready.items():
        if "missing" in info:
            workers[kind].wait()
        else:
            owner.update({name: kind for name in info["names"]})
    names = list(owner)
    times: dict[str, list[float]] = {name: [] for name in names}
    block = {100: 20, 300: 6, 1000: 3}[d]
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            worker = workers[owner[name]]
            assert worker.stdin is not None and worker.stdout is not None
            worker.stdin.write(f"{name}\t{block}\n")
            worker.stdin.flush()
            times[name].append(json.loads(worker.stdout.readline())["median"])
            time.sleep(0.02)
    for kind, worker in workers.items():
        if "missing" not in ready[kind]:
            assert worker.stdin is not None
            worker.stdin.close()
            worker.wait()
    ratios = {
        name: statistics.median(
            t / h for t, h in zip(times[name], times["hand-written"], strict=True)
        )
        for name in names
    }
    return {
        "ratios": ratios,
        "hand_ms": 1000 * statistics.median(times["hand-written"]),
        "agree": {kind: info.get("agree") for kind, info in ready.items()},
        "missing": {kind: info["missing"] for kind, info in ready.items() if "missing" in info},
        "blas": ready["numpy"]["blas"],
    }


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"logistic regression, n = {SAMPLES}, float64; ratio to the hand-written value,")
    print("gradient and Hessian (X.T @ (s[:, None] * X)), median over rounds (< 1: faster)")
    header = f"{'d':>5} {'hand ms':>8}" + "".join(f" {name:>13}" for name in NUMPY[1:] + JAX)
    shown = False
    for d in SIZES:
        result = compare(d, rounds=(5 if quick else 11) if d < 1000 else (3 if quick else 7))
        if not shown:
            for pool in result["blas"]:
                print(f"BLAS: {pool}")
            if "jax" in result["missing"]:
                print(f"note: jax is not installed ({result['missing']['jax']}); its columns "
                      "are skipped (pip install jax to add them)")  # fmt: skip
            print(header)
            shown = True
        r = result["ratios"]
        cells = "".join(
            f" {r[name]:>13.2f}" if name in r else f" {'—':>13}" for name in NUMPY[1:] + JAX
        )
        wrong = [kind for kind, ok in result["agree"].items() if ok is False]
        note = f"  RESULTS DIFFER ({', '.join(wrong)})" if wrong else ""
        print(f"{d:>5} {result['hand_ms']:>8.2f}{cells}{note}", flush=True)
    print("\ngoal: fn(**values) ≤ 0.80 of hand-written and below jax.hessian at every d")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]))
    else:
        main()
