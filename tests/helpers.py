"""Shared test helpers: random sizes and values, and central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import sympy

import matcalc as mc
from matcalc.expr import Expr, Variable
from matcalc.functions import ElementwiseFunction

Sampler = Callable[[np.random.Generator, tuple[int, int]], np.ndarray]


def normal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.normal(size=shape)


def positive(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.uniform(0.5, 2.0, size=shape)


def away_from_zero(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Both signs, at least 0.3 from 0: kinks of relu, abs and max are far."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.3, 1.5, size=shape)


def sampler_for(entry: ElementwiseFunction) -> Sampler:
    """Values inside the function's domain, at least 0.3 from each of its kinks."""

    def sample(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        if entry.domain in ("positive", "nonnegative"):
            values = positive(rng, shape)
        elif entry.domain == "nonzero":
            values = away_from_zero(rng, shape)
        else:
            values = rng.uniform(-2.0, 2.0, size=shape)
        for kink in entry.kinks:
            near = np.abs(values - kink) < 0.3
            values = np.where(near, kink + np.sign(values - kink + 1e-12) * 0.3, values)
        return values

    return sample


def well_conditioned(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A square matrix near 2I: invertible with positive determinant."""
    n = shape[0]
    return 2.0 * np.eye(n) + 0.3 * rng.uniform(-1, 1, size=shape)


def spd(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    n = shape[0]
    a = rng.normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


def draw_sizes(expr: Expr, rng: np.random.Generator, low: int = 1, high: int = 4) -> dict:
    symbols = sorted(
        {d for v in mc.variables(expr).values() for d in v.shape if isinstance(d, sympy.Symbol)},
        key=str,
    )
    return {d: int(rng.integers(low, high + 1)) for d in symbols}


def concrete_shape(var: Variable, sizes: Mapping) -> tuple[int, int]:
    return tuple(d if isinstance(d, int) else sizes[d] for d in var.shape)  # type: ignore[return-value]


def sample_values(
    expr: Expr,
    rng: np.random.Generator,
    samplers: Mapping[str, Sampler] | None = None,
    sizes: Mapping | None = None,
) -> dict[str, np.ndarray]:
    sizes = draw_sizes(expr, rng) if sizes is None else sizes
    samplers = samplers or {}
    return {
        name: samplers.get(name, normal)(rng, concrete_shape(var, sizes))
        for name, var in mc.variables(expr).items()
    }


def numeric_gradient(f: Expr, name: str, values: Mapping[str, np.ndarray], step: float = 1e-6):
    """Central differences of the scalar f w.r.t. the variable called name."""
    base = np.array(values[name], dtype=float)
    grad = np.zeros_like(base)
    for index in np.ndindex(base.shape):
        h = step * max(1.0, abs(base[index]))
        for sign in (1, -1):
            moved = base.copy()
            moved[index] += sign * h
            grad[index] += sign * mc.evaluate(f, {**values, name: moved})
        grad[index] /= 2 * h
    return grad


def numeric_jacobian(F: Expr, name: str, values: Mapping[str, np.ndarray], step: float = 1e-6):
    """Central-difference Jacobian (numerator layout) of a vector F w.r.t. a vector."""
    base = np.array(values[name], dtype=float)
    columns = []
    for index in np.ndindex(base.shape):
        h = step * max(1.0, abs(base[index]))
        moved_up, moved_down = base.copy(), base.copy()
        moved_up[index] += h
        moved_down[index] -= h
        up = np.asarray(mc.evaluate(F, {**values, name: moved_up}), dtype=float).reshape(-1)
        down = np.asarray(mc.evaluate(F, {**values, name: moved_down}), dtype=float).reshape(-1)
        columns.append((up - down) / (2 * h))
    return np.stack(columns, axis=1)


def assert_close(derived, expected, rtol: float = 1e-5, atol: float = 1e-6, what: str = "") -> None:
    derived = np.asarray(derived, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert derived.shape == expected.shape, f"{what}: shape {derived.shape} vs {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    gap = float(np.max(np.abs(derived - expected))) if expected.size else 0.0
    assert gap <= atol + rtol * scale, f"{what}: max gap {gap:.3e} (scale {scale:.3e})"


def check_gradients(f: Expr, values: Mapping[str, np.ndarray], wrt=None, rtol=1e-5) -> None:
    """Every derived gradient of the scalar f equals central finite differences."""
    names = wrt or sorted(mc.variables(f))
    variables = mc.variables(f)
    by_variable = {variables[k]: v for k, v in values.items() if k in variables}
    for name in names:
        derived = mc.evaluate(mc.grad(f, variables[name]), by_variable)
        expected = numeric_gradient(f, name, values)
        derived = np.asarray(derived, dtype=float).reshape(expected.shape)
        assert_close(derived, expected, rtol=rtol, what=f"∂f/∂{name} of {f}")


def keyed(expr: Expr, values: Mapping[str, object]) -> dict:
    """values keyed by expr's variables, so a derivative that no longer mentions a
    variable (the 𝟏 of ∂sum(X)/∂X) still gets its sizes unambiguously."""
    variables = mc.variables(expr)
    return {variables.get(k, k): v for k, v in values.items()}
