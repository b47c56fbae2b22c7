"""Structure all the way down: evaluate and check's numeric stage never build a dense
diagonal, outer-product or softmax Jacobian unless the result itself is that matrix.

The large cases run at n = 10⁶ in one child process whose address space is capped
(RLIMIT_AS, a few hundred MB above what the imports take): a dense n×n table of
floats is 8 TB there, so any materialisation fails at once, and the values are
compared with numpy's O(n) formula.  At a small n each case is compared with the
dense numpy formula, and random expressions of diagonal, identity, all-ones and
low-rank matrices are compared node for node with the evaluator's dense rules.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import matcalc as mc
from matcalc import evaluator
from matcalc import expr as E

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/statm are Linux's"
)

N = 10**6  # large cases: a dense n×n table would be 8 TB
N_CHECK = 10**5  # check's cases evaluate f, its Jacobian and each candidate fix: 75 GB dense
HEADROOM = 600 * 2**20  # bytes the child may map beyond what it has after its imports

# Each case: the expression, and numpy's O(n) formula for its value, from the same
# arrays.  Shared by the child (at N) and by the small-n tests (with numpy's dense
# formula beside it).
CASES = textwrap.dedent(
    """
    import numpy as np
    import matcalc as mc

    def arrays(n, seed=0):
        rng = np.random.default_rng(seed)
        return {
            "x": rng.normal(size=(n, 1)), "y": rng.normal(size=(n, 1)),
            "c": rng.normal(size=(n, 1)), "b": rng.normal(size=(n, 1)),
            "A": rng.normal(size=(n, 4)) / 2, "w": rng.normal(size=(4, 1)),
        }

    def softmax(z):
        e = np.exp(z - z.max())
        return e / e.sum()

    def cases(n):
        x, y, c, b = (mc.vector(name, n) for name in "xycb")
        A, w = mc.matrix("A", n, 4), mc.vector("w", 4)

        def lse_hessian(v):
            p = softmax(v["A"] @ v["w"] + v["b"])
            # Aᵀ (diag(p) − p pᵀ) A
            return (v["A"] * p).T @ v["A"] - (v["A"].T @ p) @ (p.T @ v["A"])

        def softmax_jacobian(v):
            p = softmax(v["A"] @ v["w"])
            return p * v["A"] - p @ (p.T @ v["A"])  # (diag(p) − p pᵀ) A

        def softmax_hessian(v):
            # f = cᵀ softmax(z), z = A w: H_z = diag(g) − g pᵀ − p gᵀ, g = p ⊙ (c − pᵀc)
            p = softmax(v["A"] @ v["w"])
            g = p * (v["c"] - p.T @ v["c"])
            At = v["A"].T
            return (v["A"] * g).T @ v["A"] - (At @ g) @ (p.T @ v["A"]) - (At @ p) @ (g.T @ v["A"])

        return {
            "trace(diag(x))": (mc.trace(mc.diag(x)), lambda v: v["x"].sum()),
            "sum(diag(x))": (mc.sum(mc.diag(x)), lambda v: v["x"].sum()),
            "trace(outer(x, y))": (mc.trace(mc.outer(x, y)), lambda v: (v["x"].T @ v["y"]).item()),
            "trace(I + outer(x, y))": (
                mc.trace(mc.eye(n) + mc.outer(x, y)), lambda v: n + (v["x"].T @ v["y"]).item()
            ),
            "diag part of outer(x, y)": (mc.diag(mc.outer(x, y)), lambda v: v["x"] * v["y"]),
            "sum(outer(x, y))": (mc.sum(mc.outer(x, y)), lambda v: v["x"].sum() * v["y"].sum()),
            "trace(diag(x) outer(y, x))": (
                mc.trace(mc.diag(x) @ mc.outer(y, x)), lambda v: float(np.sum(v["x"] ** 2 * v["y"]))
            ),
            "grad of sum(outer(x, y))": (
                mc.grad(mc.sum(mc.outer(x, y)), x), lambda v: np.full((n, 1), v["y"].sum())
            ),
            "logsumexp Hessian": (mc.hessian(mc.logsumexp(A @ w + b), w), lse_hessian),
            "softmax Jacobian": (mc.jacobian(mc.softmax(A @ w), w), softmax_jacobian),
            "softmax Hessian": (mc.hessian(c.T @ mc.softmax(A @ w), w), softmax_hessian),
        }
    """
)

CHILD = CASES + textwrap.dedent(
    """
    import json, os, resource, sys, time
    n, n_check, headroom = (int(a) for a in sys.argv[1:4])
    built = cases(n)
    values = arrays(n)
    A, w = mc.matrix("A", n_check, 4), mc.vector("w", 4)
    p = mc.softmax(A @ w)
    checks = {  # check's numeric stage: claims whose canonical forms differ from the truth
        "check: an equal claim": (p * A - p @ (p.T @ A), p, w),
        "check: a missing term": (mc.diag(p) @ A, p, w),
    }
    mc.evaluate(mc.trace(mc.diag(mc.vector("v", 3))), {"v": [1.0, 2.0, 3.0]})  # warm up
    pages = int(open("/proc/self/statm").read().split()[0])
    limit = pages * os.sysconf("SC_PAGE_SIZE") + headroom
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # the peak resident size from here on (ru_maxrss would count the building of the
    # inputs too, which may have been freed again before the limit was read)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    results = {}
    for name, (expr, formula) in built.items():
        start = time.perf_counter()
        try:
            got = np.asarray(mc.evaluate(expr, values), dtype=float)
            want = np.asarray(formula(values), dtype=float)
            scale = max(float(np.max(np.abs(want))), 1e-300)
            results[name] = {"error": float(np.max(np.abs(got - want))) / scale,
                             "shape": list(got.shape)}
        except MemoryError as error:
            results[name] = {"memory": str(error)[:200]}
        results[name]["seconds"] = time.perf_counter() - start
    for name, (claim, f, x) in checks.items():
        try:
            verdict = mc.check(claim, f, x)
            results[name] = {"method": verdict.method, "ok": verdict.ok,
                             "diagnosis": verdict.diagnosis}
        except MemoryError as error:
            results[name] = {"memory": str(error)[:200]}
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    peak = int(status["VmHWM"].split()[0]) * 1024
    print(json.dumps({"results": results, "peak": peak, "limit": limit}))
    """
)


@pytest.fixture(scope="module")
def large() -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(N), str(N_CHECK), str(HEADROOM)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def _namespace() -> dict:
    namespace: dict = {}
    exec(CASES, namespace)
    return namespace


CASE_NAMES = list(_namespace()["cases"](3))


@pytest.mark.parametrize("name", CASE_NAMES)
def test_large_case_in_linear_memory(large: dict, name: str) -> None:
    result = large["results"][name]
    assert "memory" not in result, f"{name} ran out of memory at n = {N:,}: {result['memory']}"
    assert result["error"] < 1e-9, result


@pytest.mark.parametrize("name", ["check: an equal claim", "check: a missing term"])
def test_check_numeric_stage_in_linear_memory(large: dict, name: str) -> None:
    result = large["results"][name]
    assert "memory" not in result, f"{name} ran out of memory at n = {N_CHECK:,}"
    assert result["method"] == "numeric"
    if name == "check: an equal claim":
        assert result["ok"]
    else:
        assert not result["ok"] and result["diagnosis"] == "missing term"


def test_the_child_stayed_within_its_cap(large: dict) -> None:
    assert large["peak"] < large["limit"]


# -- small n: the same cases against numpy's dense formulas ------------------------------
def _dense_formulas(v: dict, n: int) -> dict:
    x, y, c, b, A, w = (v[k] for k in ("x", "y", "c", "b", "A", "w"))

    def softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max())
        return e / e.sum()

    def jac(p: np.ndarray) -> np.ndarray:
        return np.diag(p[:, 0]) - np.outer(p, p)

    p_lse, p = softmax(A @ w + b), softmax(A @ w)
    # the softmax Hessian entry by entry: ∂²(cᵀ p)/∂zᵢ∂zⱼ = Σₖ cₖ ∂²pₖ/∂zᵢ∂zⱼ, with
    # ∂²pₖ/∂zᵢ∂zⱼ = pₖ((δₖᵢ − pᵢ)(δₖⱼ − pⱼ) − pᵢ(δᵢⱼ − pⱼ))
    q, eye = p[:, 0], np.eye(n)
    second = np.einsum("k,ki,kj->ij", c[:, 0] * q, eye - q[None, :], eye - q[None, :]) - np.sum(
        c[:, 0] * q
    ) * (np.diag(q) - np.outer(q, q))
    return {
        "trace(diag(x))": np.trace(np.diag(x[:, 0])),
        "sum(diag(x))": np.sum(np.diag(x[:, 0])),
        "trace(outer(x, y))": np.trace(np.outer(x, y)),
        "trace(I + outer(x, y))": np.trace(np.eye(n) + np.outer(x, y)),
        "diag part of outer(x, y)": np.diagonal(np.outer(x, y)).reshape(-1, 1),
        "sum(outer(x, y))": np.sum(np.outer(x, y)),
        "trace(diag(x) outer(y, x))": np.trace(np.diag(x[:, 0]) @ np.outer(y, x)),
        "grad of sum(outer(x, y))": np.ones((n, n)) @ y,
        "logsumexp Hessian": A.T @ jac(p_lse) @ A,
        "softmax Jacobian": jac(p) @ A,
        "softmax Hessian": A.T @ second @ A,
    }


@pytest.mark.parametrize("n", [1, 2, 7])
def test_small_cases_equal_dense_numpy(n: int) -> None:
    namespace = _namespace()
    values = namespace["arrays"](n, seed=n)
    dense = _dense_formulas(values, n)
    linear = {name: formula for name, (_, formula) in namespace["cases"](n).items()}
    for name, (expr, _) in namespace["cases"](n).items():
        got = np.asarray(mc.evaluate(expr, values), dtype=float)
        want = np.asarray(dense[name], dtype=float).reshape(got.shape)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(  # the O(n) formula the large case is checked against
            np.asarray(linear[name](values), dtype=float).reshape(got.shape), want,
            rtol=1e-10, atol=1e-12, err_msg=name,
        )  # fmt: skip


# -- random structured expressions against the evaluator's dense rules --------------------
n_dim, m_dim = mc.dims("n m")
x, y = mc.vector("x", n_dim), mc.vector("y", n_dim)
M, R = mc.matrix("M", n_dim, n_dim), mc.matrix("R", n_dim, m_dim)


class Trees:
    """Random raw (unsimplified) expressions whose intermediates are diagonal, identity,
    all-ones, zero and low-rank n×n matrices, their sums, products and reductions."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def vector(self, depth: int) -> E.Expr:
        pick = self.rng.randrange(7 if depth > 0 else 2)
        if pick < 2:
            return [x, y][pick]
        if pick == 2:
            return E.MatMul.make(self.square(depth - 1), self.vector(depth - 1))
        if pick == 3:
            return E.DiagPart.make(self.square(depth - 1))
        if pick == 4:
            return E.Sum.make(self.square(depth - 1), 1)
        if pick == 5:
            return E.Transpose.make(E.Sum.make(self.square(depth - 1), 0))
        return E.MatMul.make(E.Transpose.make(self.square(depth - 1)), self.vector(depth - 1))

    def square(self, depth: int) -> E.Expr:
        leaves = [
            lambda: E.Diag.make(self.vector(depth - 1)),
            lambda: E.Identity.make(n_dim),
            lambda: E.Ones.make(n_dim, n_dim),
            lambda: E.Zero.make(n_dim, n_dim),
            lambda: E.MatMul.make(self.vector(depth - 1), E.Transpose.make(self.vector(depth - 1))),
            lambda: E.Add.make(self.vector(depth - 1), E.Transpose.make(self.vector(depth - 1))),
            lambda: E.MatMul.make(R, E.Transpose.make(R)),
            lambda: M,
        ]
        combinations = [
            lambda: E.Add.make(self.square(depth - 1), self.square(depth - 1)),
            lambda: E.Sub.make(self.square(depth - 1), self.square(depth - 1)),
            lambda: E.MatMul.make(self.square(depth - 1), self.square(depth - 1)),
            lambda: E.Transpose.make(self.square(depth - 1)),
            lambda: E.Neg.make(self.square(depth - 1)),
            lambda: E.Mul.make(self.scalar(depth - 1), self.square(depth - 1)),
            lambda: E.Mul.make(self.square(depth - 1), self.vector(depth - 1)),
            lambda: E.Mul.make(E.Transpose.make(self.vector(depth - 1)), self.square(depth - 1)),
            lambda: E.Mul.make(self.square(depth - 1), self.square(depth - 1)),
            lambda: E.Div.make(self.square(depth - 1), mc.scalar("s")),
            lambda: E.Add.make(self.square(depth - 1), self.vector(depth - 1)),
            lambda: E.Sub.make(E.Transpose.make(self.vector(depth - 1)), self.square(depth - 1)),
            lambda: E.Add.make(self.square(depth - 1), mc.scalar("s")),
            lambda: E.MatMul.make(E.MatMul.make(self.square(depth - 1), R), E.Transpose.make(R)),
            lambda: E.Inv.make(E.Diag.make(E.Apply.make("exp", self.vector(depth - 1)))),
            lambda: E.Apply.make("tanh", self.square(depth - 1)),
        ]
        options = leaves if depth <= 0 else leaves + combinations
        return self.rng.choice(options)()

    def scalar(self, depth: int) -> E.Expr:
        if depth <= 0:
            return mc.scalar("s")
        options = [
            lambda: E.Trace.make(self.square(depth - 1)),
            lambda: E.Sum.make(self.square(depth - 1), None),
            lambda: E.Norm.make(self.square(depth - 1)),
            lambda: E.Det.make(E.Diag.make(self.vector(depth - 1))),
            lambda: E.LogDet.make(E.Diag.make(E.Apply.make("exp", self.vector(depth - 1)))),
            lambda: E.MatMul.make(E.Transpose.make(self.vector(depth - 1)), self.vector(depth - 1)),
        ]
        return self.rng.choice(options)()


def _dense_reference(expr: E.Expr, arrays: dict, sizes: dict) -> np.ndarray:
    """Every node by the evaluator's dense rules, each result made a dense table."""
    done: dict[int, np.ndarray] = {}
    for node in E.postorder(expr):
        args = [done[id(a)] for a in node.args]
        with np.errstate(all="ignore"):
            value = evaluator.numeric(node, args, (arrays, sizes))
        if isinstance(value, evaluator.Structured):
            value = value.dense()
        done[id(node)] = np.asarray(value, dtype=float)
    return done[id(expr)]


@pytest.mark.parametrize("seed", range(8))
def test_structured_rules_equal_the_dense_rules(seed: int) -> None:
    trees = Trees(seed)
    rng = np.random.default_rng(seed)
    n, m = 8, 2  # m (n + n) < n n: R Rᵀ and the products through R stay low-rank
    sizes = {n_dim: n, m_dim: m}
    arrays = {
        "x": rng.normal(size=(n, 1)) / 2, "y": rng.normal(size=(n, 1)) / 2,
        "M": rng.normal(size=(n, n)) / 3, "R": rng.normal(size=(n, m)) / 2,
        "s": np.full((1, 1), 1.5),
    }  # fmt: skip
    kinds = [trees.square, trees.vector, trees.scalar]
    structured_seen = 0
    for index in range(60):
        expr = kinds[index % 3](3)
        want = _dense_reference(expr, arrays, sizes)
        got = evaluator.evaluate_arrays(expr, arrays, sizes)
        assert got.shape == want.shape, mc.text(expr)
        both = np.isfinite(want) & np.isfinite(got)
        assert np.array_equal(np.isfinite(want), np.isfinite(got)), mc.text(expr)
        scale = max(1.0, float(np.max(np.abs(want[both]), initial=0.0)))
        assert np.max(np.abs(got[both] - want[both]), initial=0.0) <= 1e-9 * scale, mc.text(expr)
        structured_seen += any(
            isinstance(node, E.Diag | E.Identity | E.Ones) for node in E.postorder(expr)
        )
    assert structured_seen > 20  # the trees do exercise the structured rules


def test_structured_values_stay_structured() -> None:
    """The intermediates themselves: O(n) parts, not tables."""
    n = 6
    v = np.arange(1.0, n + 1).reshape(-1, 1)
    d = evaluator.diagonal(v)
    outer = evaluator._matmul(v, v.T)
    assert isinstance(outer, evaluator.Structured) and outer.rank == 1
    jac = evaluator._summed(d, outer, -1.0)  # diag(v) − v vᵀ
    assert isinstance(jac, evaluator.Structured) and jac.rank == 1
    np.testing.assert_allclose(jac.dense(), np.diag(v[:, 0]) - v @ v.T)
    both = evaluator._matmul(jac, jac)
    assert isinstance(both, evaluator.Structured)
    np.testing.assert_allclose(both.dense(), jac.dense() @ jac.dense())
    np.testing.assert_allclose(
        evaluator._sum_of(jac, 0), np.sum(jac.dense(), axis=0, keepdims=True)
    )
    np.testing.assert_allclose(
        evaluator._sum_of(jac, 1), np.sum(jac.dense(), axis=1, keepdims=True)
    )


def test_errors_keep_their_words() -> None:
    """A singular diagonal, a non-positive log det and a mismatched product are refused
    as before, though no dense table is made."""
    v = mc.vector("v", 3)
    with pytest.raises(mc.EvaluationError, match="singular"):
        mc.evaluate(mc.inv(mc.diag(v)), {"v": [1.0, 0.0, 2.0]})
    with pytest.raises(mc.EvaluationError, match="det X > 0"):
        mc.evaluate(mc.logdet(mc.diag(v)), {"v": [1.0, -1.0, 2.0]})
    assert mc.evaluate(mc.logdet(mc.diag(v)), {"v": [1.0, 2.0, 4.0]}) == pytest.approx(np.log(8))
    assert mc.evaluate(mc.det(mc.diag(v)), {"v": [1.0, -2.0, 4.0]}) == pytest.approx(-8)
