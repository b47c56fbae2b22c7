"""Speed of the compiled backward pass against hand-written vectorized numpy.

One gradient of the total cost w.r.t. all W and b (forward plus backward),
per configuration, each contender in its own worker process (thread pools
must not fight over the two cores), rounds interleaved with the order
rotated and a pause between blocks; the figure is the median of the
per-round ratios (contender / hand-written numpy), after checking that both
give the same gradients.  Also: peak traced memory of one call (tracemalloc sees numpy's arrays, not
torch's), and the
derive+compile time for L-layer networks.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_backprop.py [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

CONFIGS = {
    "784-30-10/b10": ([784, 30, 10], 10),
    "784-128-64-10/b128": ([784, 128, 64, 10], 128),
    "784-512-512-10/b256": ([784, 512, 512, 10], 256),
    "784-64x20-10/b64": ([784] + [64] * 20 + [10], 64),
}
FLOAT32 = {"784-512-512-10/b256", "784-64x20-10/b64"}
KINDS = [("sigmoid", "quadratic"), ("relu", "cross_entropy")]
CONTENDERS = ["numpy", "matcalc", "torch", "jax", "autograd"]


# -- the workers ----------
def problem(config: str, activation: str, cost: str, dtype: str):
    import numpy as np

    sizes, batch = CONFIGS[config]
    rng = np.random.default_rng(0)
    weights = [
        (rng.normal(size=(sizes[i + 1], sizes[i])) / np.sqrt(sizes[i])).astype(dtype)
        for i in range(len(sizes) - 1)
    ]
    biases = [np.zeros((sizes[i + 1], 1), dtype=dtype) for i in range(len(sizes) - 1)]
    X = rng.uniform(size=(sizes[0], batch)).astype(dtype)
    Y = np.zeros((sizes[-1], batch), dtype=dtype)
    Y[rng.integers(0, sizes[-1], size=batch), np.arange(batch)] = 1
    return sizes, weights, biases, X, Y


def make_step(name: str, config: str, activation: str, cost: str, dtype: str):
    """A zero-argument function computing (cost, gradients), and the gradients it gives."""
    from handwritten import backprop

    sizes, weights, biases, X, Y = problem(config, activation, cost, dtype)
    if name == "numpy":

        def step():
            return backprop(weights, biases, X, Y, activation, cost)

        _, gw, gb = step()
        return step, gw + gb
    if name == "matcalc":
        from matcalc.nn import Network

        network = Network(sizes, activation=activation, cost=cost)
        _, backward = network.compile()
        raw = backward.checked.raw
        arrays = {"X": X, "Y": Y}
        arrays.update({f"W{i + 1}": W for i, W in enumerate(weights)})
        arrays.update({f"b{i + 1}": b for i, b in enumerate(biases)})
        args = [arrays[n] for n in backward.checked.arguments]

        def step():
            return raw(*args)

        out = step()[1:]
        names = [p.name for p in network.parameters]
        grads = dict(zip(names, out, strict=True))
        layers = len(weights)
        return step, [grads[f"W{i + 1}"] for i in range(layers)] + [
            grads[f"b{i + 1}"] for i in range(layers)
        ]
    if name == "autograd":
        return autograd_step(sizes, weights, biases, X, Y, activation, cost)
    if name == "torch":
        return torch_step(weights, biases, X, Y, activation, cost)
    if name == "jax":
        return jax_step(weights, biases, X, Y, activation, cost)
    raise ModuleNotFoundError(name)


def autograd_step(sizes, weights, biases, X, Y, activation, cost):
    """HIPS autograd: value_and_grad of the same cost written with autograd.numpy."""
    import autograd.numpy as anp
    from autograd import value_and_grad

    def act(z):
        if activation == "sigmoid":
            return 0.5 + 0.5 * anp.tanh(0.5 * z)
        return anp.tanh(z) if activation == "tanh" else anp.maximum(z, 0.0)

    def loss(params):
        ws, bs = params
        a = X
        for i, (W, b) in enumerate(zip(ws, bs, strict=True)):
            z = anp.dot(W, a) + b
            a = z if (i == len(ws) - 1 and cost == "cross_entropy") else act(z)
        if cost == "quadratic":
            return 0.5 * anp.sum((a - Y) ** 2) / X.shape[1]
        top = anp.max(a, axis=0, keepdims=True)
        lse = top + anp.log(anp.sum(anp.exp(a - top), axis=0, keepdims=True))
        return (anp.sum(lse) - anp.sum(Y * a)) / X.shape[1]

    step_fn = value_and_grad(loss)
    params = (list(weights), list(biases))

    def step():
        return step_fn(params)

    _, (gw, gb) = step()
    return step, list(gw) + list(gb)


def torch_step(weights, biases, X, Y, activation, cost):
    """torch eager on the CPU: forward, backward, the same cost."""
    import torch

    torch.set_num_threads(2)
    ws = [torch.tensor(W, requires_grad=True) for W in weights]
    bs = [torch.tensor(b, requires_grad=True) for b in biases]
    tx, ty = torch.tensor(X), torch.tensor(Y)

    def act(z):
        if activation == "sigmoid":
            return torch.sigmoid(z)
        return torch.tanh(z) if activation == "tanh" else torch.relu(z)

    def step():
        for t in ws + bs:
            t.grad = None
        a = tx
        for i, (W, b) in enumerate(zip(ws, bs, strict=True)):
            z = W @ a + b
            a = z if (i == len(ws) - 1 and cost == "cross_entropy") else act(z)
        if cost == "quadratic":
            value = 0.5 * ((a - ty) ** 2).sum() / tx.shape[1]
        else:
            value = (torch.logsumexp(a, dim=0).sum() - (ty * a).sum()) / tx.shape[1]
        value.backward()
        return value, [t.grad for t in ws + bs]

    _, grads = step()
    return step, [g.numpy() for g in grads]


def jax_step(weights, biases, X, Y, activation, cost):
    """JAX jit(value_and_grad) on the CPU."""
    import jax
    import jax.numpy as jnp

    if weights[0].dtype.name == "float64":
        jax.config.update("jax_enable_x64", True)

    def act(z):
        if activation == "sigmoid":
            return jax.nn.sigmoid(z)
        return jnp.tanh(z) if activation == "tanh" else jax.nn.relu(z)

    def loss(params):
        ws, bs = params
        a = X
        for i, (W, b) in enumerate(zip(ws, bs, strict=True)):
            z = W @ a + b
            a = z if (i == len(ws) - 1 and cost == "cross_entropy") else act(z)
        if cost == "quadratic":
            return 0.5 * jnp.sum((a - Y) ** 2) / X.shape[1]
        return (jnp.sum(jax.nn.logsumexp(a, axis=0)) - jnp.sum(Y * a)) / X.shape[1]

    fn = jax.jit(jax.value_and_grad(loss))
    params = ([jnp.asarray(W) for W in weights], [jnp.asarray(b) for b in biases])

    def step():
        value, grads = fn(params)
        jax.block_until_ready(grads)
        return value, grads

    _, (gw, gb) = step()
    return step, [np.asarray(g) for g in list(gw) + list(gb)]


def worker(name: str, config: str, activation: str, cost: str, dtype: str) -> None:
    import tracemalloc

    import numpy as np
    from handwritten import backprop

    try:
        step, grads = make_step(name, config, activation, cost, dtype)
    except ModuleNotFoundError:
        print(json.dumps({"missing": True}), flush=True)
        return
    _, weights, biases, X, Y = problem(config, activation, cost, dtype)
    _, rw, rb = backprop(weights, biases, X, Y, activation, cost)
    tolerance = 1e-4 if dtype == "float32" else 1e-9
    agree = all(
        np.allclose(g, r, rtol=tolerance, atol=tolerance * 1e-2)
        for g, r in zip(grads, rw + rb, strict=True)
    )
    step()
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({"agree": bool(agree), "peak": peak}), flush=True)
    for line in sys.stdin:
        count = int(line)
        step()  # one untimed warm-up call per block
        times = []
        for _ in range(count):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        print(json.dumps({"median": statistics.median(times)}), flush=True)


# -- the parent ----------
def spawn(args: list[str]) -> subprocess.Popen:
    env = dict(os.environ)
    env.update({"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"})
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def compare(config: str, activation: str, cost: str, dtype: str, rounds: int, block: int) -> dict:
    workers = {name: spawn([name, config, activation, cost, dtype]) for name in CONTENDERS}
    ready = {name: json.loads(w.stdout.readline()) for name, w in workers.items()}
    live = [name for name in CONTENDERS if not ready[name].get("missing")]
    for name in CONTENDERS:
        if name not in live:
            workers[name].wait()
    times: dict[str, list[float]] = {name: [] for name in live}
    for r in range(rounds):
        order = live[r % len(live) :] + live[: r % len(live)]
        for name in order:
            workers[name].stdin.write(f"{block}\n")
            workers[name].stdin.flush()
            times[name].append(json.loads(workers[name].stdout.readline())["median"])
            time.sleep(0.1)
    for name in live:
        workers[name].stdin.close()
        workers[name].wait()
    ratios = {
        name: statistics.median(t / h for t, h in zip(times[name], times["numpy"], strict=True))
        for name in live
    }
    return {
        "numpy_ms": 1000 * statistics.median(times["numpy"]),
        "ratios": ratios,
        "agree": {name: ready[name]["agree"] for name in live},
        "memory": {name: ready[name]["peak"] / ready["numpy"]["peak"] for name in live},
        "missing": [name for name in CONTENDERS if name not in live],
    }


DERIVE = r"""
import json, sys, time
from matcalc.nn import Network
import matcalc as mc
layers = int(sys.argv[1])
start = time.perf_counter()
network = Network([32] * layers + [10], activation="sigmoid", cost="quadratic")
fn = mc.compile(network.cost, wrt=network.parameters)
print(json.dumps({"seconds": time.perf_counter() - start, "lines": fn.source.count(" = ")}))
"""


def blas() -> str:
    try:
        import numpy  # noqa: F401
        from threadpoolctl import threadpool_info

        info = [
            f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
            f"x{i.get('num_threads')}"
            for i in threadpool_info()
        ]
        return "; ".join(info) or "no BLAS thread pool found"
    except ImportError:
        return "threadpoolctl not installed"


def main() -> None:
    quick = "--quick" in sys.argv
    rounds, block = (4, 3) if quick else (10, 5)
    print(f"BLAS: {blas()}   OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(
        f"{rounds} rounds × {block} timed calls; ratio = median over rounds of contender / numpy\n"
    )
    header = "{:<22} {:<22} {:<8} {:>9} {:>8} {:>7}".format(
        "configuration", "kind", "dtype", "numpy ms", "matcalc", "memory"
    )
    print(header + "  others")
    worst = 0.0
    for config in CONFIGS:
        for activation, cost in KINDS:
            for dtype in ["float64"] + (["float32"] if config in FLOAT32 else []):
                result = compare(config, activation, cost, dtype, rounds, block)
                ratio = result["ratios"]["matcalc"]
                worst = max(worst, ratio)
                others = ", ".join(
                    f"{k} {v:.2f}"
                    for k, v in result["ratios"].items()
                    if k not in ("numpy", "matcalc")
                )
                if result["missing"]:
                    others += f" ({', '.join(result['missing'])} not installed)"
                check = "" if all(result["agree"].values()) else "  GRADIENTS DIFFER"
                memory = result["memory"]["matcalc"]
                print(
                    f"{config:<22} {activation + '+' + cost:<22} {dtype:<8} "
                    f"{result['numpy_ms']:>9.3f} {ratio:>8.2f} {memory:>7.2f}  {others}{check}",
                    flush=True,
                )
    print(f"\nworst matcalc / numpy ratio: {worst:.2f} (target ≤ 1.05)")
    print("\nderive + compile (fresh process each):")
    for layers in (2, 10, 50, 100):
        out = subprocess.run(
            [sys.executable, "-c", DERIVE, str(layers)], capture_output=True, text=True, check=True
        )
        record = json.loads(out.stdout)
        print(f"  L = {layers:>3}: {record['seconds']:.3f} s   ({record['lines']} generated lines)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:7])
    else:
        main()
