"""The elementwise function table.

One entry per scalar function f applied entry by entry: its printed names,
its scalar sympy form (for the independent oracle and for code generation),
its numerically stable numpy lowering, and its derivative f′ written as a
matcalc expression of the argument z and of the node f(z) itself, so that
σ′(z) = σ(z) ⊙ (1 − σ(z)) reuses σ(z).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import sympy

if TYPE_CHECKING:
    from .expr import Expr


@dataclass(frozen=True)
class ElementwiseFunction:
    name: str
    text: str
    latex: str
    numpy: Callable[[np.ndarray], np.ndarray]
    scalar: Callable[[sympy.Expr], sympy.Expr]
    # f′ as an expression of (z, f(z)); None means f′ = 0 wherever it exists.
    derivative: Callable[[Expr, Expr], Expr] | None
    derivative_text: str
    # numpy predicate that an argument array is inside the domain.
    domain: Callable[[np.ndarray], bool] | None = None
    domain_text: str = ""


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # σ(x) = exp(−log(1 + e^{−x})): no overflow for any finite x.
    return np.exp(-np.logaddexp(0.0, -x))


def _step(x: np.ndarray) -> np.ndarray:
    return (x > 0).astype(np.result_type(x, np.float64))


def _ops():  # the simplifying constructors, imported late to keep imports one-way
    from . import simplifier as simplify

    return simplify


def _d_exp(z: Expr, fz: Expr) -> Expr:
    return fz


def _d_log(z: Expr, fz: Expr) -> Expr:
    s = _ops()
    return s.div(s.const(1), z)


def _d_sigmoid(z: Expr, fz: Expr) -> Expr:
    s = _ops()
    return s.mul(fz, s.sub(s.const(1), fz))


def _d_tanh(z: Expr, fz: Expr) -> Expr:
    s = _ops()
    return s.sub(s.const(1), s.power(fz, s.const(2)))


def _d_relu(z: Expr, fz: Expr) -> Expr:
    return _ops().apply("step", z)


def _d_sin(z: Expr, fz: Expr) -> Expr:
    return _ops().apply("cos", z)


def _d_cos(z: Expr, fz: Expr) -> Expr:
    s = _ops()
    return s.neg(s.apply("sin", z))


def _d_sqrt(z: Expr, fz: Expr) -> Expr:
    s = _ops()
    return s.div(s.const(sympy.Rational(1, 2)), fz)


def _d_abs(z: Expr, fz: Expr) -> Expr:
    return _ops().apply("sign", z)


def _d_softplus(z: Expr, fz: Expr) -> Expr:
    return _ops().apply("sigmoid", z)


FUNCTIONS: dict[str, ElementwiseFunction] = {
    f.name: f
    for f in [
        ElementwiseFunction("exp", "exp", r"\exp", np.exp, sympy.exp, _d_exp, "exp′(z) = exp(z)"),
        ElementwiseFunction(
            "log",
            "log",
            r"\log",
            np.log,
            sympy.log,
            _d_log,
            "log′(z) = 1 / z",
            domain=lambda x: bool(np.all(x > 0)),
            domain_text="positive entries",
        ),
        ElementwiseFunction(
            "sigmoid",
            "σ",
            r"\sigma",
            _sigmoid,
            lambda t: 1 / (1 + sympy.exp(-t)),
            _d_sigmoid,
            "σ′(z) = σ(z) ⊙ (1 − σ(z))",
        ),
        ElementwiseFunction(
            "tanh",
            "tanh",
            r"\tanh",
            np.tanh,
            sympy.tanh,
            _d_tanh,
            "tanh′(z) = 1 − tanh(z)²",
        ),
        ElementwiseFunction(
            "relu",
            "relu",
            r"\operatorname{relu}",
            lambda x: np.maximum(x, 0.0),
            lambda t: sympy.Max(0, t),
            _d_relu,
            "relu′(z) = step(z)",
        ),
        ElementwiseFunction("sin", "sin", r"\sin", np.sin, sympy.sin, _d_sin, "sin′(z) = cos(z)"),
        ElementwiseFunction("cos", "cos", r"\cos", np.cos, sympy.cos, _d_cos, "cos′(z) = −sin(z)"),
        ElementwiseFunction(
            "sqrt",
            "sqrt",
            r"\sqrt",
            np.sqrt,
            sympy.sqrt,
            _d_sqrt,
            "sqrt′(z) = 1 / (2 sqrt(z))",
            domain=lambda x: bool(np.all(x >= 0)),
            domain_text="non-negative entries",
        ),
        ElementwiseFunction(
            "abs",
            "abs",
            r"\operatorname{abs}",
            np.abs,
            sympy.Abs,
            _d_abs,
            "abs′(z) = sign(z)",
        ),
        ElementwiseFunction(
            "step",
            "step",
            r"\operatorname{step}",
            _step,
            sympy.Heaviside,
            None,
            "step′(z) = 0 (z ≠ 0)",
        ),
        ElementwiseFunction(
            "sign",
            "sign",
            r"\operatorname{sign}",
            np.sign,
            sympy.sign,
            None,
            "sign′(z) = 0 (z ≠ 0)",
        ),
        ElementwiseFunction(
            "softplus",
            "softplus",
            r"\operatorname{softplus}",
            lambda x: np.logaddexp(0.0, x),
            lambda t: sympy.log(1 + sympy.exp(t)),
            _d_softplus,
            "d/dz log(1 + exp(z)) = σ(z)",
        ),
    ]
}
