"""mc.compile(..., backend="jax" | "torch"): the same derived code on JAX and PyTorch.

Every backend's values, gradients and Hessians are compared with numpy's compiled
function (itself checked against the reference evaluator and central differences
in test_compile.py), and one gradient per backend against central differences of
the backend's own value, on the CPU."""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import jax
import numpy as np
import pytest
import torch
from helpers import assert_close, sample_values
from hypothesis import given, settings
from hypothesis import strategies as st
from operation_specs import SPECS
from random_trees import trees, values_for

import matcalc as mc
from matcalc.backends import BACKENDS, Backend, compile_for
from matcalc.functions import FUNCTIONS

jax.config.update("jax_enable_x64", True)  # float64 compared with numpy's float64

LIBRARIES = ("jax", "torch")
ROOT = Path(__file__).resolve().parents[1]


def as_numpy(result):
    """A backend's results (arrays, tuples of them) as numpy arrays."""
    if isinstance(result, tuple):
        return tuple(as_numpy(r) for r in result)
    if isinstance(result, torch.Tensor):
        return result.detach().cpu().numpy()
    return np.asarray(result)


def assert_same_results(f, wrt, values, backend, hessian=False, rtol=1e-9) -> None:
    """The backend's fn(**values) equals numpy's, result by result, in shape and number."""
    values = {k: v for k, v in values.items() if k in mc.variables(f)}
    expected = mc.compile(f, wrt=wrt, hessian=hessian)(**values)
    got = as_numpy(mc.compile(f, wrt=wrt, hessian=hessian, backend=backend)(**values))
    if not wrt:
        expected, got = (expected,), (got,)
    for e, g in zip(_flat(expected), _flat(got), strict=True):
        e = np.asarray(e)
        assert g.shape == e.shape  # a scalar value is 0-d, as float(value) reads it
        assert_close(g, e, rtol=rtol)


def _flat(results):
    for r in results:
        yield from (_flat(r) if isinstance(r, tuple) else [r])


def network(activation: str, cost: str, sizes=(4, 5, 3), batch=None):
    """(cost, its parameters): an mc.nn-style network on a column x or a batch X."""
    dims = mc.dims(" ".join(f"d{i}" for i in range(len(sizes))))
    a = mc.matrix("X", dims[0], batch) if batch else mc.vector("x", dims[0])
    y = mc.matrix("Y", dims[-1], batch) if batch else mc.vector("y", dims[-1])
    params = []
    for i in range(len(sizes) - 1):
        W, b = mc.matrix(f"W{i}", dims[i + 1], dims[i]), mc.vector(f"b{i}", dims[i + 1])
        z = W @ a + (b @ mc.ones(1, batch) if batch else b)
        last = i == len(sizes) - 2
        a = mc.softmax(z) if last and cost == "ce" else getattr(mc, activation)(z)
        params += [W, b]
    C = -mc.sum(y * mc.log(a)) if cost == "ce" else mc.sum((a - y) ** 2) / 2
    return C, params


def network_values(C, seed=0):
    rng = np.random.default_rng(seed)
    sizes = dict(zip(mc.dims("d0 d1 d2 B"), (4, 5, 3, 6), strict=True))
    values = sample_values(C, rng, sizes=sizes)
    for name in ("y", "Y"):
        if name in values:  # a probability vector per column for the cross-entropy
            values[name] = np.abs(values[name]) / np.abs(values[name]).sum(axis=0)
    return values


@pytest.mark.parametrize("backend", LIBRARIES)
@pytest.mark.parametrize(
    ("activation", "cost", "batch"),
    [("sigmoid", "quadratic", None), ("relu", "ce", None), ("tanh", "ce", "B"),
     ("sigmoid", "quadratic", "B")],
)  # fmt: skip
def test_network_gradients_equal_numpy(backend, activation, cost, batch) -> None:
    C, params = network(activation, cost, batch=batch)
    values = network_values(C)
    assert_same_results(C, params, values, backend)


@pytest.mark.parametrize("backend", LIBRARIES)
def test_hessians_equal_numpy(backend) -> None:
    n, m = mc.dims("n m")
    x, A, b = mc.vector("x", n), mc.matrix("A", m, n), mc.vector("b", m)
    rng = np.random.default_rng(3)
    values = {"x": rng.normal(size=(4, 1)), "A": rng.normal(size=(6, 4)),
              "b": rng.normal(size=(6, 1))}  # fmt: skip
    for f in (
        mc.logsumexp(A @ x + b),
        mc.sum(mc.softplus(A @ x)) + mc.norm(x) ** 2 / 2,  # logistic regression, regularised
        mc.sum(mc.sigmoid(A @ x) ** 2),
    ):
        assert_same_results(f, [x], values, backend, hessian=True)


@pytest.mark.parametrize("backend", LIBRARIES)
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_every_operation_equals_numpy(backend, spec) -> None:
    """Every operation of the catalogue of specs, its value and its gradients."""
    f = spec.scalar
    rng = np.random.default_rng(5)
    values = sample_values(f, rng, {**spec.samplers, "R": lambda g, s: g.normal(size=s)})
    wrt = spec.wrt
    assert_same_results(f, wrt, values, backend, rtol=1e-8)
    if not spec.expr.is_scalar:  # the value alone, of any shape
        plain = {k: v for k, v in values.items() if k != "R"}
        assert_same_results(spec.expr, [], plain, backend, rtol=1e-8)


@pytest.mark.parametrize("backend", LIBRARIES)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_catalogue_function_equals_numpy(backend, name) -> None:
    """Each elementwise function's code for the backend (its numpy template in the
    library's names, or the entry's torch_code): a missing spelling fails here."""
    x = mc.vector("x", "n")
    f = mc.sum(getattr(mc, name)(x) * x)
    domain = FUNCTIONS[name].domain
    entries = np.array([[-3.0], [-0.4], [0.7], [2.5], [40.0], [-800.0]])
    if domain != "real":
        entries = np.abs(entries) + 0.1
    assert_same_results(f, [x], {"x": entries}, backend)
    assert_same_results(getattr(mc, name)(x), [], {"x": entries}, backend)


@settings(max_examples=15, deadline=None)
@given(trees(), st.integers(0, 2**31), st.sampled_from(LIBRARIES))
def test_random_trees_equal_numpy(f, seed, backend) -> None:
    values = values_for(seed, (2, 3))
    wrt = sorted(mc.variables(f).values(), key=lambda v: v.name)
    expected_value, _ = mc.compile(f, wrt=wrt)(**{k: values[k] for k in mc.variables(f)})
    if not np.isfinite(expected_value):
        return
    assert_same_results(f, wrt, {k: values[k] for k in mc.variables(f)}, backend, rtol=1e-8)


@pytest.mark.parametrize("backend", LIBRARIES)
def test_gradient_against_central_differences_of_the_backend(backend) -> None:
    """Numbers numpy's code did not produce: the backend's gradient against
    (f(W + h E) − f(W − h E)) / 2h of the backend's own value."""
    C, params = network("sigmoid", "quadratic")
    values = network_values(C, seed=7)
    fn = mc.compile(C, wrt=params, backend=backend)
    value_only = mc.compile(C, backend=backend)
    _, grads = fn(**values)
    W = values["W0"]
    numeric = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        moved = [W.copy(), W.copy()]
        moved[0][index] += 1e-6
        moved[1][index] -= 1e-6
        up, down = (float(value_only(**{**values, "W0": m})) for m in moved)
        numeric[index] = (up - down) / 2e-6
    assert_close(as_numpy(grads[params.index(mc.variables(C)["W0"])]), numeric, rtol=1e-6)


@pytest.mark.parametrize("backend", LIBRARIES)
def test_float32_stays_float32(backend) -> None:
    C, params = network("sigmoid", "quadratic", batch="B")
    values = network_values(C)
    single = {k: v.astype(np.float32) for k, v in values.items()}
    value, grads = mc.compile(C, wrt=params, backend=backend)(**single)
    expected_value, expected = mc.compile(C, wrt=params)(**values)
    for g, e in zip(grads, expected, strict=True):
        assert as_numpy(g).dtype == np.float32
        assert_close(as_numpy(g), e, rtol=1e-4)
    assert as_numpy(value).dtype == np.float32


@pytest.mark.parametrize("backend", LIBRARIES)
def test_arguments_are_checked(backend) -> None:
    n, m = mc.dims("n m")
    x, W = mc.vector("x", n), mc.matrix("W", m, n)
    fn = mc.compile(mc.sum(W @ x), wrt=[W], backend=backend)
    value, (gW,) = fn(W=np.ones((2, 3)), x=np.ones(3))  # a vector may be 1-D
    assert float(value) == 6.0 and tuple(gW.shape) == (2, 3)
    with pytest.raises(mc.EvaluationError, match="missing argument x"):
        fn(W=np.ones((2, 3)))
    with pytest.raises(mc.EvaluationError, match="unknown argument z"):
        fn(W=np.ones((2, 3)), x=np.ones(3), z=1.0)
    with pytest.raises(mc.ShapeError, match="dimension n is 3 from W but 4 from x"):
        fn(W=np.ones((2, 3)), x=np.ones(4))
    with pytest.raises(mc.ShapeError, match=r"W is \(m, n\) but its value has shape \(2, 3, 1\)"):
        fn(W=np.ones((2, 3, 1)), x=np.ones(3))
    with pytest.raises(mc.EvaluationError, match="complex"):
        fn(W=np.ones((2, 3)) * 1j, x=np.ones(3))
    with pytest.raises(mc.EvaluationError, match="not an array of numbers"):
        fn(W=[[1, 2], [3]], x=np.ones(3))
    S = mc.matrix("S", n, n, symmetric=True)
    sym = mc.compile(mc.trace(S), wrt=[S], backend=backend)
    with pytest.raises(mc.EvaluationError, match="declared symmetric"):
        sym(S=np.arange(4.0).reshape(2, 2))


def test_unknown_backend_is_refused() -> None:
    x = mc.vector("x", 3)
    with pytest.raises(mc.EvaluationError, match="unknown backend 'tensorflow'.*'jax', 'torch'"):
        mc.compile(mc.sum(x), wrt=[x], backend="tensorflow")


def test_jax_without_64_bit_mode_refuses_float64_rather_than_rounding() -> None:
    x = mc.vector("x", 3)
    fn = mc.compile(mc.sum(mc.exp(x)), wrt=[x], backend="jax")
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(mc.EvaluationError, match="64-bit mode is off"):
            fn(x=np.ones(3))
        value, (g,) = fn(x=np.ones(3, dtype=np.float32))  # float32 is what JAX computes
        assert g.dtype == np.float32 and abs(float(value) - 3 * np.e) < 1e-5
    finally:
        jax.config.update("jax_enable_x64", True)


def test_jax_arrays_stay_on_device_and_the_kernel_composes_with_jit() -> None:
    C, params = network("sigmoid", "quadratic", batch="B")
    values = network_values(C)
    fn = mc.compile(C, wrt=params, backend="jax")
    on_device = {k: jax.numpy.asarray(v) for k, v in values.items()}
    value, grads = fn(**on_device)
    assert all(isinstance(g, jax.Array) for g in grads) and value.shape == ()
    # the bare kernel inside the caller's own jit (a training step)
    arrays = [on_device[name] for name in fn.arguments]
    step = jax.jit(lambda *a: fn.kernel(*a)[1])
    assert_close(np.asarray(step(*arrays)), np.asarray(grads[0]), rtol=1e-12)
    assert "jax.numpy" in fn.source and "numpy.ufunc" not in fn.source


def test_torch_records_no_graph_and_never_returns_an_argument() -> None:
    x = mc.vector("x", "n")
    t = torch.tensor([[1.0], [2.0]], dtype=torch.float64, requires_grad=True)
    value, (g,) = mc.compile(mc.sum(x**2) / 2, wrt=[x], backend="torch")(x=t)
    assert not g.requires_grad and torch.equal(g, t.detach())
    out = mc.compile(x, backend="torch")(x=t)
    assert out.data_ptr() != t.data_ptr()  # a copy: writing to it leaves x as it was


def test_import_matcalc_loads_neither_library() -> None:
    code = (
        "import sys, numpy, matcalc as mc\n"
        "x = mc.vector('x', 3)\n"
        "mc.compile(mc.sum(mc.exp(x)), wrt=[x])(x=numpy.ones(3))\n"
        "print(json.dumps(['jax' in sys.modules, 'torch' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True,
                         text=True, check=True, cwd=ROOT)  # fmt: skip
    assert json.loads(out.stdout) == [False, False]


def readme_data_parallel_block() -> str:
    """The README's data-parallel recipe: the python block after its marker comment."""
    text = (ROOT / "README.md").read_text()
    after = text.split("<!-- tests/test_backends.py runs this block on two CPU devices -->", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_data_parallel_recipe_on_two_devices() -> None:
    """README's recipe, as printed there, on two CPU devices: the batch's columns
    sharded, the parameters copied, and the value and gradients those of numpy's
    compiled function on the whole batch."""
    check = textwrap.dedent(
        """
        import json
        placed = jax.device_put(X, columns)
        value, expected = mc.compile(net.cost, wrt=net.parameters)(X=X, Y=Y, **params)
        print(json.dumps({
            "devices": len(jax.devices()),
            "shards": len({s.device for s in placed.addressable_shards}),
            "grad_shards": len(grads[0].sharding.device_set),
            "value": abs(float(cost) - value) / abs(value),
            "grads": max(float(np.max(np.abs(np.asarray(g) - e)) / np.max(np.abs(e)))
                         for g, e in zip(grads, expected)),
        }))
        """
    )
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}  # fmt: skip
    out = subprocess.run([sys.executable, "-c", readme_data_parallel_block() + check],
                         capture_output=True, text=True, env=env, cwd=ROOT)  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("2 devices, cost ")
    report = json.loads(lines[-1])
    assert report["devices"] == 2 and report["shards"] == 2 and report["grad_shards"] == 2
    assert report["value"] < 1e-5 and report["grads"] < 1e-4  # float32 against float64


def test_a_missing_library_names_the_extra_that_installs_it() -> None:
    absent = Backend("jax", ("matcalc_no_such_library",), BACKENDS["jax"].printer)
    x = mc.vector("x", 3)
    with pytest.raises(mc.EvaluationError, match=r"pip install 'matcalc-chainrule\[jax\]'"):
        compile_for(absent, mc.sum(x), [x], [mc.sum(x), mc.grad(mc.sum(x), x)], {"x": x}, False)


@pytest.mark.parametrize("backend", LIBRARIES)
def test_the_library_s_own_arrays_take_the_generated_check(backend) -> None:
    """fn(**values) with the library's 2-D arrays of the declared shapes is one generated
    def of comparisons before the call; other values go the careful way, with the
    same results."""
    C, params = network("sigmoid", "quadratic", batch="B")
    values = network_values(C)
    fn = mc.compile(C, wrt=params, backend=backend)
    source = inspect.getsource(fn._call)
    assert "_packed(" in source and "_slow(values)" in source
    native = {
        k: jax.numpy.asarray(v) if backend == "jax" else torch.from_numpy(v)
        for k, v in values.items()
    }
    fast_value, fast = fn(**native)
    slow_value, slow = fn(**{k: v.tolist() for k, v in values.items()})
    assert float(fast_value) == float(slow_value)
    for a, b in zip(as_numpy(fast), as_numpy(slow), strict=True):
        np.testing.assert_array_equal(a, b)


def test_torch_arguments_on_different_devices_are_refused() -> None:
    x, W = mc.vector("x", "n"), mc.matrix("W", "m", "n")
    fn = mc.compile(mc.sum(W @ x), wrt=[W], backend="torch")
    with pytest.raises(mc.EvaluationError, match="different devices.*x on meta"):
        fn(W=torch.ones((2, 3), dtype=torch.float64),
           x=torch.ones((3, 1), dtype=torch.float64, device="meta"))  # fmt: skip


@pytest.mark.parametrize("backend", ("numpy", *LIBRARIES))
def test_a_function_of_no_variable_and_functions_of_constants(backend) -> None:
    """compile(expr) of any expression: constants alone, and f(c I), which the structure
    rewrite turns into f of a number (torch's functions take no Python number)."""
    ones = mc.compile(mc.ones(2, 2) * 3, backend=backend)()
    np.testing.assert_array_equal(as_numpy(ones), np.full((2, 2), 3.0))
    assert float(mc.compile(mc.trace(mc.eye(3)), backend=backend)()) == 3.0
    x = mc.vector("x", "n")
    f = mc.sum(mc.exp(mc.eye("n")) @ x) + mc.sum(mc.sigmoid(2 * mc.eye("n")) @ x)
    value, _ = mc.compile(f, wrt=[x], backend=backend)(x=np.ones(3))
    expected = 3 * np.e + 6 + 3 / (1 + np.exp(-2)) + 6 * 0.5
    assert float(value) == pytest.approx(expected, rel=1e-14)
    with pytest.raises(mc.EvaluationError, match=r"unknown argument x \(it takes no argument\)"):
        mc.compile(mc.ones(2, 2), backend=backend)(x=1.0)


@pytest.mark.parametrize("backend", LIBRARIES)
def test_numbers_beside_float32_arrays_keep_float32_and_odd_strides_are_read(backend) -> None:
    x, s = mc.vector("x", "n"), mc.scalar("s")
    fn = mc.compile(mc.sum(x * mc.exp(x)) * s, wrt=[x], backend=backend)
    value, (g,) = fn(x=np.arange(3, dtype=np.float32), s=2.0)
    assert as_numpy(g).dtype == np.float32 and as_numpy(value).dtype == np.float32
    reversed_ = np.arange(4.0)[::-1]  # a negative stride (torch reads numpy memory as is)
    frozen = np.broadcast_to(np.arange(4.0).reshape(4, 1), (4, 1))  # read-only
    for array in (reversed_, frozen):
        value, (g,) = fn(x=array, s=1.0)
        column = np.asarray(array, dtype=float).reshape(-1, 1)
        assert_close(as_numpy(g), np.exp(column) * (1 + column), rtol=1e-12)


def test_torch_numbers_follow_the_tensors_device() -> None:
    """A number or numpy array beside tensors on a device goes to that device (the meta
    device here: shapes without numbers, as a stand-in for CUDA)."""
    x, s = mc.vector("x", "n"), mc.scalar("s")
    fn = mc.compile(mc.sum(x) * s, wrt=[x], backend="torch")
    value, (g,) = fn(x=torch.ones((3, 1), dtype=torch.float64, device="meta"), s=1.0)
    assert g.device.type == "meta" and tuple(g.shape) == (3, 1)


def test_jax_property_checks_inside_a_transformation_say_so() -> None:
    S, x = mc.matrix("S", "n", "n", symmetric=True), mc.vector("x", "n")
    fn = mc.compile(x.T @ S @ x, wrt=[x], backend="jax")
    S_value, x_value = np.eye(2), np.ones((2, 1))
    assert float(fn(S=S_value, x=x_value)[0]) == 2.0
    with pytest.raises(mc.EvaluationError, match="S is declared symmetric.*fn.kernel"):
        jax.jit(lambda S_: fn(S=S_, x=x_value)[0])(S_value)


@pytest.mark.parametrize("backend", ("numpy", *LIBRARIES))
def test_logdet_where_det_is_not_positive_is_nan_never_log_abs_det(backend) -> None:
    """slogdet gives log |det A|; log det A is not defined for det A ≤ 0: NaN there, for
    a dense A and for diag(d) (which the structure rewrite sums as Σ log dᵢ)."""
    A, d = mc.matrix("A", "n", "n"), mc.vector("d", "n")
    dense = mc.compile(mc.logdet(A), backend=backend)
    diagonal = mc.compile(mc.logdet(mc.diag(d)), backend=backend)
    assert float(dense(A=np.diag([1.0, 2.0]))) == pytest.approx(np.log(2.0), rel=1e-15)
    assert float(diagonal(d=np.array([1.0, 2.0]))) == pytest.approx(np.log(2.0), rel=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's log of a negative entry
        assert np.isnan(float(dense(A=np.diag([-1.0, 2.0]))))
        assert np.isnan(float(diagonal(d=np.array([-1.0, 2.0]))))


@pytest.mark.parametrize("backend", ("numpy", "torch"))
def test_a_singular_inverse_is_a_matcalc_error(backend) -> None:
    """(JAX computes inf and NaN there, under jit, as XLA does.)"""
    A, x = mc.matrix("A", "n", "n"), mc.vector("x", "n")
    fn = mc.compile(x.T @ mc.inv(A) @ x, wrt=[x], backend=backend)
    assert float(fn(A=2 * np.eye(2), x=np.ones(2))[0]) == 1.0
    with pytest.raises(mc.EvaluationError, match="a matrix it inverts is singular"):
        fn(A=np.zeros((2, 2)), x=np.ones(2))


@pytest.mark.parametrize("backend", ("numpy", *LIBRARIES))
def test_float32_arrays_of_any_library_compute_in_float32(backend) -> None:
    x, b = mc.vector("x", "n"), mc.vector("b", "n")
    fn = mc.compile(mc.sum(mc.exp(x)) + mc.sum(b * x), wrt=[x], backend=backend)
    for array in (np.ones(2, np.float32), jax.numpy.ones(2, np.float32), torch.ones(2)):
        _, (g,) = fn(x=array, b=[0.0, 1.0])  # a list has no precision of its own
        assert as_numpy(g).dtype == np.float32


def test_jax_without_64_bit_mode_computes_lists_and_numbers_in_float32() -> None:
    x = mc.vector("x", 2)
    fn = mc.compile(mc.sum(mc.exp(x)), wrt=[x], backend="jax")
    jax.config.update("jax_enable_x64", False)
    try:
        value, (g,) = fn(x=[0.0, 1.0])
        assert g.dtype == np.float32 and float(value) == pytest.approx(1 + np.e, rel=1e-6)
    finally:
        jax.config.update("jax_enable_x64", True)


@pytest.mark.parametrize("backend", ("numpy", *LIBRARIES))
def test_wrt_spellings_and_calls_by_position(backend) -> None:
    """wrt=None is no gradient and wrt=b one, as mc.grad takes them; a positional call
    and a hessian that is not a bool are refused in matcalc's words."""
    x, b = mc.vector("x", "n"), mc.vector("b", "n")
    f = mc.sum(b * x)
    values = {"x": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    assert float(mc.compile(f, wrt=None, backend=backend)(**values)) == 11.0
    _, (g,) = mc.compile(f, wrt=b, backend=backend)(**values)
    np.testing.assert_array_equal(as_numpy(g).ravel(), [1.0, 2.0])
    with pytest.raises(mc.EvaluationError, match=r"give the arguments by name, fn\(b=…, x=…\)"):
        mc.compile(f, wrt=[x], backend=backend)(values["b"], values["x"])
    with pytest.raises(mc.DerivativeError, match="hessian must be True or False"):
        mc.compile(f, wrt=[x], hessian="yes", backend=backend)


@pytest.mark.parametrize("backend", LIBRARIES)
@pytest.mark.parametrize("name", ["torch", "jax", "t0", "v1", "ｔ0", "numpy", "exp"])
def test_names_are_data_in_the_backends_code(backend, name) -> None:
    """A variable may be called anything, the library's own name included: the code's
    names are only _v0, _t0, _d0, … and the library's module."""
    X = mc.matrix(name, "n", "n")
    f = mc.sum(mc.tanh(X)) + mc.logdet(X) + mc.sum(mc.exp(mc.inv(X)))
    fn = mc.compile(f, wrt=[X], backend=backend)
    tree = ast.parse(fn.source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            assert re.fullmatch(r"_[vtd][0-9]+", node.id) or node.id == backend, node.id
    value_x = np.array([[2.0, 0.5], [0.25, 1.5]])
    value, (g,) = fn(**{X.name: value_x})  # (the constructor normalises ｔ0 to t0)
    expected_value, (expected,) = mc.compile(f, wrt=[X])(**{X.name: value_x})
    assert float(value) == pytest.approx(expected_value, rel=1e-12)
    assert_close(as_numpy(g), expected, rtol=1e-10)
