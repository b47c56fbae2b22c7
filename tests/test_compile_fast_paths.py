"""mc.compile's fast paths (issue 16): the value of any expression, Hessians sharing the
forward pass, in-place updates and caller-owned result arrays, the generated argument
check, float32, and the rewrites (σ's exponential form, step as sign(relu), dot products,
Gram matrices).  Correctness only: the speed is benchmarks/bench_backprop.py's and
benchmarks/bench_hessian.py's business."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from random_trees import SHAPES, trees, values_for
from scipy.special import expit

import matcalc as mc
from matcalc import codegen, lowering

n, d = mc.dims("n d")
X, w, y = mc.matrix("X", n, d), mc.vector("w", d), mc.vector("y", n)
LOGISTIC = mc.sum(mc.softplus(X @ w)) - y.T @ (X @ w)


def _logistic_values(rows: int = 40, cols: int = 6, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "X": rng.normal(size=(rows, cols)),
        "w": rng.normal(size=(cols, 1)),
        "y": (rng.random((rows, 1)) < 0.5).astype(float),
    }


# -- compile(expr): the value of any expression ----------
@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(SHAPES).flatmap(lambda shape: trees(shape, depth=3)),
    st.integers(0, 2**31),
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_compiled_value_equals_evaluate_at_any_shape(f, seed, sizes) -> None:
    values = values_for(seed, sizes)
    fn = mc.compile(f)
    given_values = {k: v for k, v in values.items() if k in fn.arguments}
    snapshot = {k: np.array(v, copy=True) for k, v in given_values.items()}
    value = fn(**given_values)
    # the sizes too: a tree may hold 𝟏 of a size no variable of it has (the compiled
    # code, simplified, may not need it)
    expected = mc.evaluate(f, {**values, "n": sizes[0], "m": sizes[1]})
    if not np.all(np.isfinite(expected)):
        return
    if f.is_scalar:
        assert isinstance(value, float)
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-9)
    else:
        assert isinstance(value, np.ndarray) and value.shape == np.shape(expected)
        assert_close(value, expected, rtol=1e-9, atol=1e-9)
        assert not any(np.shares_memory(value, v) for v in given_values.values())
    for name, array in given_values.items():  # the code never writes an argument
        np.testing.assert_array_equal(array, snapshot[name])


def test_compiled_value_against_independent_numpy() -> None:
    m = mc.dims("m")
    A, B, v = mc.matrix("A", m, n), mc.matrix("B", n, m), mc.vector("v", n)
    rng = np.random.default_rng(1)
    Av, Bv, vv = rng.normal(size=(3, 4)), rng.normal(size=(4, 3)), rng.normal(size=4)
    matrix = mc.compile(mc.sigmoid(A @ B) * 2 + mc.tanh(A) @ mc.outer(v, v) @ B)
    expected = 2 * expit(Av @ Bv) + np.tanh(Av) @ np.outer(vv, vv) @ Bv
    np.testing.assert_allclose(matrix(A=Av, B=Bv, v=vv), expected, rtol=1e-12)
    vector = mc.compile(mc.softmax(A @ v))
    z = Av @ vv
    np.testing.assert_allclose(vector(A=Av, v=vv).ravel(), np.exp(z) / np.exp(z).sum())
    scalar = mc.compile(mc.sum(mc.relu(A @ v)) + mc.logsumexp(A @ v))
    assert scalar(A=Av, v=vv) == pytest.approx(np.maximum(z, 0).sum() + np.log(np.exp(z).sum()))


# -- hessian=True ----------
def test_hessian_against_central_differences_of_the_gradient() -> None:
    values = _logistic_values()
    fn = mc.compile(LOGISTIC, wrt=[w], hessian=True)
    value, (gradient,), H = fn(**values)
    gradient_fn = mc.compile(LOGISTIC, wrt=[w])
    step = 1e-6
    numeric = np.zeros_like(H)
    for j in range(H.shape[1]):
        up, down = dict(values), dict(values)
        up["w"] = values["w"].copy()
        down["w"] = values["w"].copy()
        up["w"][j] += step
        down["w"][j] -= step
        numeric[:, j] = (gradient_fn(**up)[1][0] - gradient_fn(**down)[1][0]).ravel() / (2 * step)
    assert_close(H, numeric, rtol=1e-6, atol=1e-7)
    # and against the closed forms, with the value and gradient sharing the pass
    Xv, wv, yv = values["X"], values["w"], values["y"]
    p = expit(Xv @ wv)
    assert value == pytest.approx(np.logaddexp(0, Xv @ wv).sum() - (yv.T @ Xv @ wv).item())
    np.testing.assert_allclose(gradient, Xv.T @ (p - yv), rtol=1e-12)
    np.testing.assert_allclose(H, Xv.T @ ((p * (1 - p)) * Xv), rtol=1e-12)
    assert (H == H.T).all()  # the Gram form Zᵀ Z is exactly symmetric


def test_the_hessian_is_a_gram_matrix_when_its_weights_are_nonnegative() -> None:
    fn = mc.compile(LOGISTIC, wrt=[w], hessian=True)
    assert "sqrt(" in fn.source  # Z = √s ⊙ X, then Zᵀ Z
    body = fn.source.splitlines()
    last = next(line for line in reversed(body) if "@" in line)
    name = last.split("(")[1].split(".T")[0]
    assert f"({name}.T @ {name})" in last  # the product of an array with its own transpose
    assert "diagflat" not in fn.source and "eye" not in fn.source


def test_a_hessian_with_weights_of_either_sign_is_right() -> None:
    """tanh″ changes sign: no square root, the general Xᵀ (s ⊙ X)."""
    f = mc.sum(mc.tanh(X @ w)) + mc.sum((X @ w) ** 2)
    fn = mc.compile(f, wrt=[w], hessian=True)
    assert "sqrt(" not in fn.source
    values = _logistic_values(seed=3)
    del values["y"]
    _, _, H = fn(**values)
    t = np.tanh(values["X"] @ values["w"])
    s = -2 * t * (1 - t**2) + 2
    np.testing.assert_allclose(H, values["X"].T @ (s * values["X"]), rtol=1e-11, atol=1e-12)
    assert_close(H, mc.evaluate(mc.hessian(f, w), values), rtol=1e-11)


def test_hessian_needs_one_vector_variable() -> None:
    with pytest.raises(mc.DerivativeError, match="exactly one variable"):
        mc.compile(LOGISTIC, wrt=[w, X], hessian=True)
    with pytest.raises(mc.DerivativeError, match="exactly one variable"):
        mc.compile(LOGISTIC, hessian=True)
    with pytest.raises(mc.DerivativeError, match="column vector"):
        mc.compile(mc.sum(X * X), wrt=[X], hessian=True)


# -- results: never the caller's memory, the same numbers call after call ----------
def test_results_never_alias_the_arguments() -> None:
    m = mc.dims("m")
    a, b = mc.vector("a", m), mc.vector("b", m)
    A, B = mc.matrix("A", m, m), mc.matrix("B", m, m)
    cases = [
        (mc.sum(a * b), [a, b]),  # ∂/∂a = b, ∂/∂b = a: the arguments themselves
        (mc.trace(A @ B), [A, B]),  # Bᵀ and Aᵀ: views of the arguments
        (mc.sum(a) + mc.sum(b), [a, b]),  # two equal ones vectors
        (mc.sum(a + b), [a, b]),  # one gradient, twice
    ]
    rng = np.random.default_rng(2)
    values = {"a": rng.normal(size=(3, 1)), "b": rng.normal(size=(3, 1))}
    values |= {"A": rng.normal(size=(3, 3)), "B": rng.normal(size=(3, 3))}
    for f, wrt in cases:
        fn = mc.compile(f, wrt=wrt)
        given = {k: v for k, v in values.items() if k in fn.arguments}
        _, grads = fn(**given)
        raw = fn.raw(*[given[k] for k in fn.arguments])
        for g in [*grads, *raw[1:]]:
            assert g.flags.writeable
            assert not any(np.shares_memory(g, v) for v in given.values())
        for g, h in zip(grads, grads[1:], strict=False):
            assert not np.shares_memory(g, h)
        for var, g in zip(wrt, grads, strict=True):
            assert_close(g, mc.evaluate(mc.grad(f, var), {**given, "m": 3}), rtol=1e-12)


def test_repeated_calls_give_the_same_numbers_and_leave_the_arguments_alone() -> None:
    network = mc.nn.Network([5, 4, 3], activation="sigmoid", cost="quadratic")
    fn = mc.compile(network.cost, wrt=network.parameters)
    rng = np.random.default_rng(4)
    values = {p.name: rng.normal(size=p.shape) for p in network.parameters}
    values["X"], values["Y"] = rng.normal(size=(5, 7)), rng.random((3, 7))
    snapshot = {k: v.copy() for k, v in values.items()}
    first = fn(**values)
    out = fn.allocate(**values)
    for _ in range(3):
        again = fn(**values)
        into = fn.into(out, **values)
        assert again[0] == first[0] == into[0]
        for g0, g1, g2, o in zip(first[1], again[1], into[1], out[1:], strict=True):
            np.testing.assert_array_equal(g0, g1)
            np.testing.assert_array_equal(g0, g2)
            assert g2 is o  # the caller's arrays, written in place
    for name, array in values.items():
        np.testing.assert_array_equal(array, snapshot[name])


def test_into_refuses_result_arrays_it_cannot_write() -> None:
    fn = mc.compile(LOGISTIC, wrt=[w], hessian=True)
    values = _logistic_values()
    out = fn.allocate(**values)
    assert [a.shape for a in out] == [(1, 1), (6, 1), (6, 6)]
    fn.into(out, **values)
    with pytest.raises(mc.EvaluationError, match="out must be a list of 3 arrays"):
        fn.into(out[:2], **values)
    with pytest.raises(mc.EvaluationError, match=r"out\[2\] must be a float64 array of shape"):
        fn.into([out[0], out[1], np.empty((6, 5))], **values)
    with pytest.raises(mc.EvaluationError, match=r"out\[1\] must be a float64"):
        fn.into([out[0], out[1].astype(np.float32), out[2]], **values)
    read_only = out[2].copy()
    read_only.flags.writeable = False
    with pytest.raises(mc.EvaluationError, match="read-only"):
        fn.into([out[0], out[1], read_only], **values)
    with pytest.raises(mc.EvaluationError, match="shares memory with an argument"):
        fn.into([out[0], values["w"], out[2]], **values)  # the gradient into w itself
    with pytest.raises(mc.EvaluationError, match="shares memory"):
        fn.into([out[0], out[2][:, :1], out[2]], **values)  # two results in one array
    # a view of a larger array is fine when it overlaps nothing
    big = np.empty((7, 7))
    _, (gradient,), H = fn.into([out[0], big[:6, 6:], big[:6, :6]], **values)
    np.testing.assert_array_equal(H, fn(**values)[2])
    np.testing.assert_array_equal(gradient, fn(**values)[1][0])


# -- the argument check ----------
def test_the_generated_check_takes_plain_float_arrays_and_refuses_the_rest() -> None:
    fn = mc.compile(LOGISTIC, wrt=[w])
    values = _logistic_values()
    assert fn._fast(values) is not None  # the microsecond path
    assert fn._fast({**values, "w": values["w"].ravel()}) is None  # a 1-D vector: converted
    value, (gradient,) = fn(**{**values, "w": values["w"].ravel().tolist()})
    assert value == pytest.approx(fn(**values)[0], rel=1e-15)
    with pytest.raises(mc.ShapeError, match="dimension d is 6 from X but 5 from w"):
        fn(**{**values, "w": np.ones((5, 1))})
    with pytest.raises(mc.ShapeError, match="X is"):
        fn(**{**values, "X": np.ones(6)})
    with pytest.raises(mc.EvaluationError, match="has 3 axes"):
        fn(**{**values, "X": np.ones((40, 6, 1))})
    with pytest.raises(mc.EvaluationError, match="value of y is complex"):
        fn(**{**values, "y": values["y"] + 0j})
    with pytest.raises(mc.EvaluationError, match="not numeric"):
        fn(**{**values, "y": np.array([["a"]] * 40)})
    with pytest.raises(mc.EvaluationError, match="missing argument y"):
        fn(X=values["X"], w=values["w"])
    with pytest.raises(mc.EvaluationError, match="unknown argument z"):
        fn(**values, z=np.ones(3))


def test_float32_stays_float32_and_anything_else_is_float64() -> None:
    fn = mc.compile(LOGISTIC, wrt=[w], hessian=True)
    values = _logistic_values()
    single = {k: v.astype(np.float32) for k, v in values.items()}
    value, (gradient,), H = fn(**single)
    assert gradient.dtype == H.dtype == np.float32 and isinstance(value, float)
    value64, (gradient64,), H64 = fn(**values)
    assert value == pytest.approx(value64, rel=1e-5)
    np.testing.assert_allclose(gradient, gradient64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(H, H64, rtol=1e-4, atol=1e-5)
    mixed = {**single, "w": values["w"]}  # one float64 argument: all of it in float64
    _, (gradient_mixed,), H_mixed = fn(**mixed)
    assert gradient_mixed.dtype == H_mixed.dtype == np.float64
    integers = {**values, "y": values["y"].astype(np.int64)}
    assert fn(**integers)[1][0].dtype == np.float64
    # a zero gradient (a constant result) takes the arguments' type too
    c = mc.scalar("c")
    constant = mc.compile(mc.sum(X @ w) + 0 * c, wrt=[c, w])
    _, (dc, _) = constant(X=single["X"], w=single["w"], c=np.ones((1, 1), np.float32))
    assert dc.dtype == np.float32 and dc.shape == (1, 1) and not dc.any()


# -- the rewrites ----------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("size", [5, 1 << 15])
def test_sigmoid_kernels_match_expit_everywhere_without_warnings(dtype, size) -> None:
    """The exponential form (large arrays) and expit (small ones): the same numbers,
    0 and 1 at ±1000 with no overflow warning, NaN for NaN."""
    rng = np.random.default_rng(5)
    z = (rng.normal(size=(size, 1)) * 30).astype(dtype)
    z[:4, 0] = [-1000.0, 1000.0, np.nan, -np.inf]
    b = rng.normal(size=(1, 1)).astype(dtype)
    tolerance = 4e-16 if dtype == np.float64 else 4e-7
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = lowering.sigmoid(z)
        got_sum = lowering.sigmoid_of_sum(z, b)
        in_place = z.copy()
        lowering.sigmoid(in_place, out=in_place)
    for value, expected in [(got, expit(z)), (got_sum, expit(z + b)), (in_place, expit(z))]:
        assert value.dtype == dtype
        np.testing.assert_allclose(value, expected, rtol=tolerance, atol=0)
        assert value[0, 0] == 0.0 and value[1, 0] == 1.0 and np.isnan(value[2, 0])


def test_step_is_sign_of_relu_exactly() -> None:
    """heaviside(z, 0) and sign(max(z, 0)) agree at every z, NaN and ±0 included."""
    z = mc.vector("z", n)
    v = mc.vector("v", n)
    f = mc.sum(mc.step(z) * v)
    fn = mc.compile(mc.step(z) * v)
    assert "heaviside" not in fn.source and "sign" in fn.source
    points = np.array([-np.inf, -2.0, -0.0, 0.0, 1e-310, 3.0, np.inf, np.nan]).reshape(-1, 1)
    weights = np.full_like(points, 2.0)
    got = fn(z=points, v=weights)
    np.testing.assert_array_equal(got, np.heaviside(points, 0.0) * weights)
    relu_net = mc.sum(mc.relu(z) * v)
    value, (gradient,) = mc.compile(relu_net, wrt=[z])(z=points, v=weights)
    np.testing.assert_array_equal(gradient, np.heaviside(points, 0.0) * weights)
    assert np.isnan(value)
    assert mc.evaluate(f, {"z": points[:-1], "v": weights[:-1]}) == 6.0


def test_sums_by_blas_and_dot_products_are_right() -> None:
    A = mc.matrix("A", n, d)
    fn = mc.compile(
        mc.sum(A * A) + mc.sum(mc.sum(A, axis=1) ** 2) + mc.sum(mc.sum(A, axis=0)) + mc.sum(A)
    )
    assert "vdot" in fn.source
    Av = np.random.default_rng(6).normal(size=(5, 3))
    expected = (Av**2).sum() + (Av.sum(axis=1) ** 2).sum() + 2 * Av.sum()
    assert fn(A=Av) == pytest.approx(expected, rel=1e-13)


@settings(max_examples=25, deadline=None)
@given(trees(), st.integers(0, 2**31), st.tuples(st.integers(1, 3), st.integers(1, 3)))
def test_into_gives_the_fresh_results_on_random_trees(f, seed, sizes) -> None:
    """The into kernel writes each result where it is computed, or copies it there:
    the same numbers as the fresh one, in the caller's arrays, arguments untouched."""
    values = values_for(seed, sizes)
    wrt = sorted(mc.variables(f).values(), key=lambda v: v.name)
    fn = mc.compile(f, wrt=wrt)
    given = {k: v for k, v in values.items() if k in fn.arguments}
    snapshot = {k: v.copy() for k, v in given.items()}
    value, grads = fn(**given)
    out = fn.allocate(**given)
    value_into, grads_into = fn.into(out, **given)
    np.testing.assert_array_equal(value_into, value)
    for g, h, o in zip(grads, grads_into, out[1:], strict=True):
        np.testing.assert_array_equal(h, g)
        assert h is o
    for name, array in given.items():
        np.testing.assert_array_equal(array, snapshot[name])


def test_the_into_kernel_is_written_on_first_use_from_the_shared_lowering() -> None:
    """compile writes fn.raw alone; fn.into_source (planned from the same lowering as
    fn.source) is written when first asked for, and is the source a separate lowering
    gives."""
    x, y = mc.vector("x", "n"), mc.vector("y", "m")
    W = mc.matrix("W", "m", "n")
    f = mc.sum((mc.sigmoid(W @ x) - y) ** 2) / 2
    fn = mc.compile(f, wrt=[W, x])
    assert fn._into is None  # not written yet
    _, fresh, _ = codegen._generate(fn.results, fn.variables, qualified=False, into=True)
    assert fn.into_source == fresh
    assert fn.raw_into is fn.raw_into  # written once
