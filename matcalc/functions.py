"""The catalogue of elementwise functions: everything about each f, in one entry.

An entry holds the function's names (the constructor's and parser's name,
its printed text and LaTeX), its scalar sympy form (for constant folding and
the tests' independent oracle), its numerically stable numpy lowering (the
evaluator), the code template the generated numpy uses, its derivative f′
(an expression of z and of the node f(z) itself, so that σ′(z) = σ(z) ⊙
(1 − σ(z)) reuses σ(z)), its domain and its kinks.  Every other module reads
the entry; adding a function is adding an entry here and one constructor
line in ``constructors.py`` (``tests/test_catalogue.py`` fails until every
part works).

Source of the derivatives: Parr & Howard, "The Matrix Calculus You Need for
Deep Learning", §4.2 (elementwise functions, ∂f(z)/∂z = diag(f′(z))).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import sympy

from .expr import Expr

Domain = Literal["real", "positive", "nonnegative", "nonzero"]

DOMAIN_WORDS: dict[Domain, str] = {
    "real": "real entries",
    "positive": "positive entries",
    "nonnegative": "non-negative entries",
    "nonzero": "non-zero entries",
}


class Constructors(Protocol):
    """The simplifying constructors a derivative is built from (``simplifier``
    implements them); passed in, so this catalogue imports no algebra."""

    def const(self, value: object) -> Expr: ...
    def sub(self, a: Expr, b: Expr) -> Expr: ...
    def mul(self, a: Expr, b: Expr) -> Expr: ...
    def div(self, a: Expr, b: Expr) -> Expr: ...
    def power(self, a: Expr, b: Expr) -> Expr: ...
    def neg(self, a: Expr) -> Expr: ...
    def apply(self, fn: str, a: Expr) -> Expr: ...


# f′ as an expression of (z, f(z)), built with the constructors given.
Derivative = Callable[[Constructors, Expr, Expr], Expr]


@dataclass(frozen=True, kw_only=True)
class ElementwiseFunction:
    """One scalar function f applied entry by entry."""

    name: str  # the constructor's and the parser's name: mc.sigmoid, "sigmoid(x)"
    doc: str  # its definition, in the lecture's notation (the constructor's docstring)
    text: str  # printed name in text: σ
    latex: str  # printed name in LaTeX: \sigma
    scalar: Callable[[sympy.Expr], sympy.Expr]  # f of one sympy scalar
    numpy: Callable[[np.ndarray], np.ndarray]  # the evaluator's stable lowering
    code: str  # the generated code for f({0}), names spelled numpy.xxx or scipy.special.xxx
    # PyTorch's code for f({0}) where `code` in torch's names is not it (torch's binary
    # functions take no Python number: torch.maximum(z, 0.0) is an error)
    torch_code: str = ""
    derivative: Derivative | None  # None: f′ = 0 wherever it exists (step, sign)
    domain: Domain = "real"  # where f is defined (the evaluator refuses other entries)
    kinks: tuple[float, ...] = ()  # where f or f′ jumps (check samples both sides)
    aliases: tuple[str, ...] = ()  # other names the parser reads
    text_form: str = ""  # printed form when not "name(arg)": "|{0}|"
    latex_form: str = ""  # the same in LaTeX: r"\left|{0}\right|"
    named_derivative: bool = False  # f′(z) prints as σ′(z) rather than spelled out
    # For the elementwise algebra (algebra.py), with v = f(t) as a sympy symbol:
    reflection: Callable[[sympy.Expr], sympy.Expr] | None = None  # f(−t) from v
    derivative_of_value: Callable[[sympy.Expr], sympy.Expr] | None = None  # f′(t) from v

    def in_domain(self, values: np.ndarray) -> bool:
        """Whether every entry of values is inside the domain."""
        if self.domain == "positive":
            return bool(np.all(values > 0))
        if self.domain == "nonnegative":
            return bool(np.all(values >= 0))
        if self.domain == "nonzero":
            return bool(np.all(values != 0))
        return True

    def text_of(self, argument: str) -> str:
        return self.text_form.format(argument) if self.text_form else f"{self.text}({argument})"

    def latex_of(self, argument: str) -> str:
        if self.latex_form:
            return self.latex_form.format(argument)
        return rf"{self.latex}\left({argument}\right)"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # σ(x) = exp(−log(1 + e^{−x})): no overflow for any finite x.
    return np.exp(-np.logaddexp(0.0, -x))


def _step(x: np.ndarray) -> np.ndarray:
    # step(0) = 0 (relu′(0) = 0), and NaN stays NaN.
    return np.heaviside(x, 0.0)


def _d_exp(c: Constructors, z: Expr, fz: Expr) -> Expr:
    """exp′(z) = exp(z)."""
    return fz


def _d_log(c: Constructors, z: Expr, fz: Expr) -> Expr:
    """log′(z) = 1 / z."""
    return c.div(c.const(1), z)


def _d_sigmoid(c: Constructors, z: Expr, fz: Expr) -> Expr:
    """σ′(z) = σ(z) ⊙ (1 − σ(z))."""
    return c.mul(fz, c.sub(c.const(1), fz))


def _d_tanh(c: Constructors, z: Expr, fz: Expr) -> Expr:
    """tanh′(z) = 1 − tanh(z)²."""
    return c.sub(c.const(1), c.power(fz, c.const(2)))


def _d_relu(c: Constructors, z: Expr, fz: Expr) -> Expr:
    """relu′(z) = step(z) (0 at z = 0)."""
    return c.apply("step", z)


def _d_sin(c: Constructors, z: Expr, fz: Expr) -> Expr:
    """sin′(z) = cos(z)."""
    return c.apply("cos", z)


def _d_cos(c: Constructors, z: Expr, fz: Expr) -> Expr:
    """cos′(z) = −sin(z)."""
    return c.neg(c.apply("sin", z))


def _d_sqrt(c: Constructors, z: Expr, fz: Expr) -> Expr:
    """sqrt′(z) = 1 / (2 sqrt(z))."""
    return c.div(c.const(sympy.Rational(1, 2)), fz)


def _d_abs(c: Constructors, z: Expr, fz: Expr) -> Expr:
    """abs′(z) = sign(z)."""
    return c.apply("sign", z)


CATALOGUE: tuple[ElementwiseFunction, ...] = (
    ElementwiseFunction(
        name="exp",
        doc="exp(x), elementwise.",
        text="exp",
        latex=r"\exp",
        scalar=sympy.exp,
        numpy=np.exp,
        code="numpy.exp({0})",
        derivative=_d_exp,
    ),
    ElementwiseFunction(
        name="log",
        doc="log(x), the natural logarithm, elementwise (x > 0).",
        text="log",
        latex=r"\log",
        scalar=sympy.log,
        numpy=np.log,
        code="numpy.log({0})",
        derivative=_d_log,
        domain="positive",
    ),
    ElementwiseFunction(
        name="sigmoid",
        doc="σ(x) = 1 / (1 + exp(−x)), elementwise.",
        text="σ",
        latex=r"\sigma",
        scalar=lambda t: 1 / (1 + sympy.exp(-t)),
        numpy=_sigmoid,
        # scipy's expit: one ufunc, no overflow, and σ(−37) ≈ 8.5e−17 to the last bits
        # (0.5 + 0.5 tanh(z/2) loses every digit below 1e−16).
        code="scipy.special.expit({0})",
        derivative=_d_sigmoid,
        named_derivative=True,
        reflection=lambda v: 1 - v,  # σ(−t) = 1 − σ(t)
        derivative_of_value=lambda v: v * (1 - v),
    ),
    ElementwiseFunction(
        name="tanh",
        doc="tanh(x), elementwise.",
        text="tanh",
        latex=r"\tanh",
        scalar=sympy.tanh,
        numpy=np.tanh,
        code="numpy.tanh({0})",
        derivative=_d_tanh,
        named_derivative=True,
        reflection=lambda v: -v,  # tanh(−t) = −tanh(t)
        derivative_of_value=lambda v: 1 - v**2,
    ),
    ElementwiseFunction(
        name="relu",
        doc="relu(x) = max(0, x), elementwise.",
        text="relu",
        latex=r"\operatorname{relu}",
        scalar=lambda t: sympy.Max(0, t),
        numpy=lambda x: np.maximum(x, 0.0),
        code="numpy.maximum({0}, 0.0)",
        torch_code="torch.relu({0})",
        derivative=_d_relu,
        kinks=(0.0,),
    ),
    ElementwiseFunction(
        name="sin",
        doc="sin(x), elementwise.",
        text="sin",
        latex=r"\sin",
        scalar=sympy.sin,
        numpy=np.sin,
        code="numpy.sin({0})",
        derivative=_d_sin,
    ),
    ElementwiseFunction(
        name="cos",
        doc="cos(x), elementwise.",
        text="cos",
        latex=r"\cos",
        scalar=sympy.cos,
        numpy=np.cos,
        code="numpy.cos({0})",
        derivative=_d_cos,
    ),
    ElementwiseFunction(
        name="sqrt",
        doc="The square root √x, elementwise (x ≥ 0).",
        text="sqrt",
        latex=r"\sqrt",
        latex_form=r"\sqrt{{{0}}}",
        scalar=sympy.sqrt,
        numpy=np.sqrt,
        code="numpy.sqrt({0})",
        derivative=_d_sqrt,
        domain="nonnegative",
    ),
    ElementwiseFunction(
        name="abs",
        doc="|x|, elementwise.",
        text="abs",
        latex=r"\operatorname{abs}",
        text_form="|{0}|",
        latex_form=r"\left|{0}\right|",
        scalar=sympy.Abs,
        numpy=np.abs,
        code="numpy.abs({0})",
        derivative=_d_abs,
        kinks=(0.0,),
    ),
    ElementwiseFunction(
        name="softplus",
        doc="softplus(x) = log(1 + exp(x)), elementwise, computed without overflow.",
        text="softplus",
        latex=r"\operatorname{softplus}",
        scalar=lambda t: sympy.log(1 + sympy.exp(t)),
        numpy=lambda x: np.logaddexp(0.0, x),
        code="numpy.logaddexp(0.0, {0})",
        torch_code="torch.logaddexp({0}, torch.zeros((), dtype={0}.dtype, device={0}.device))",
        derivative=lambda c, z, fz: c.apply("sigmoid", z),  # softplus′(z) = σ(z)
    ),
    ElementwiseFunction(
        name="step",
        doc="step(x) = 1 for x > 0, else 0 (the derivative of relu), elementwise.",
        text="step",
        latex=r"\operatorname{step}",
        scalar=lambda t: sympy.Heaviside(t, 0),
        numpy=_step,
        code="numpy.heaviside({0}, 0.0)",
        torch_code="torch.heaviside({0}, torch.zeros((), dtype={0}.dtype, device={0}.device))",
        derivative=None,
        kinks=(0.0,),
    ),
    ElementwiseFunction(
        name="sign",
        doc="sign(x) ∈ {−1, 0, 1} (the derivative of |x|), elementwise.",
        text="sign",
        latex=r"\operatorname{sign}",
        scalar=sympy.sign,
        numpy=np.sign,
        code="numpy.sign({0})",
        derivative=None,
        kinks=(0.0,),
    ),
)

FUNCTIONS: dict[str, ElementwiseFunction] = {f.name: f for f in CATALOGUE}
