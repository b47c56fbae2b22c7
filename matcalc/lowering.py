"""matcalc nodes → sympy expressions over array symbols, and their numpy text.

Each matcalc node is lowered to a sympy function application over symbols
that stand for arrays (so sympy never reorders a matrix product), and a
NumPy printer that knows every node prints it: ``@`` for matrix products,
ufuncs for elementwise functions (from the catalogue), trace, det, logdet,
inv, and broadcasting for ones vectors and diag(v) products, which are never
materialised.  Every node is one assignment of its own (leaves, views of
leaves and diag(v) excepted) with its shape, so the code generator
(``codegen``) can decide which array each line may overwrite.

Rewrites made here, each exact (the same numbers up to the order of rounding):

* σ(t) = 1/(1 + e^{−t}) through :func:`sigmoid` (scipy's expit for small arrays,
  numpy's vectorised exponential for large ones), and σ(x + b) through
  :func:`sigmoid_of_sum`, which never forms x + b when nothing else reads it;
* step(z) = sign(relu(z)), reusing a ReLU network's activation;
* row and column sums A 𝟏 and 𝟏ᵀ A as BLAS matrix-vector products with a ones
  vector kept from call to call (:func:`summing_ones`);
* Σᵢⱼ aᵢⱼ² and Σᵢⱼ aᵢⱼ bᵢⱼ as one dot product (no temporary a ⊙ b), a constant
  factor applied to the scalar;
* Aᵀ diag(s) A with s ≥ 0 known (σ(t) ⊙ (1 − σ(t)), squares, exponentials…)
  as the Gram matrix Zᵀ Z of Z = diag(√s) A: a symmetric rank-k update,
  half the multiplications of Aᵀ (s ⊙ A), and exactly symmetric;
* log σ(t) = −softplus(−t), log(1 − σ(t)) = −softplus(t);
* softmax and logsumexp of one argument share max, e^{a − max} and Σ.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Mapping, Sequence
from functools import cache, singledispatch
from types import ModuleType
from typing import ClassVar

import numpy as np
import sympy
from sympy.core.function import AppliedUndef
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import AbstractPythonCodePrinter

from . import expr as E
from .errors import EvaluationError
from .functions import FUNCTIONS
from .structure_rewrite import keep_structure

Shape = tuple[object, object]


# -- runtime kernels the generated code calls ----------
@cache
def special() -> ModuleType:
    """scipy.special, imported by the first compile that needs it (importing it takes
    about 0.3 s, which ``import matcalc`` need not pay; lambdify did the same)."""
    return importlib.import_module("scipy.special")


def expit(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """scipy.special.expit: σ(z) in one ufunc pass."""
    return special().expit(z, out=out)  # type: ignore[no-any-return]


# σ by scipy's expit is one ufunc pass, but a scalar exponential per entry; numpy's
# exponential is vectorised, so for large arrays 1/(1 + e^{−z}) in four in-place passes
# is faster (measured: float32 from a few thousand entries, float64 only for the
# largest).  The sizes below are where the exponential form starts to win here.
EXP_FORM_FROM = {np.dtype(np.float64): 1 << 14, np.dtype(np.float32): 1 << 11}


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(z) = 1/(1 + e^{−z}) entry by entry, into out when given (out may be z).

    Stable at every z: e^{−z} overflows to inf for z < −709 (float64), and 1/(1 + inf)
    is 0, the correctly rounded σ there; NaN stays NaN."""
    if not isinstance(z, np.ndarray) or z.size < EXP_FORM_FROM.get(z.dtype, sys.maxsize):
        return expit(z, out=out)
    # the overflow to inf is the intended value, not an error to report
    with np.errstate(over="ignore"):
        t = np.negative(z, out=out)
        np.exp(t, out=t)
        t += 1.0
        return np.reciprocal(t, out=t)


def sigmoid_of_sum(x: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(x + y), y broadcast against x (a layer's W a + b): as :func:`sigmoid`, but the
    exponential form starts from −y − x, which is −(x + y) exactly, so the sum and its
    negation are one pass instead of two."""
    if not isinstance(x, np.ndarray) or x.size < EXP_FORM_FROM.get(x.dtype, sys.maxsize):
        t = np.add(x, y, out=out)
        return expit(t, out=t)
    small, large = (y, x) if np.size(y) <= x.size else (x, y)
    with np.errstate(over="ignore"):
        t = np.subtract(np.negative(small), large, out=out)
        np.exp(t, out=t)
        t += 1.0
        return np.reciprocal(t, out=t)


def logdet(a: np.ndarray) -> np.ndarray:
    """log det A as a 1×1 array: from slogdet (no overflow of det A), and NaN where
    det A ≤ 0, where the real log det is not defined (slogdet's value is log |det A|)."""
    sign, value = np.linalg.slogdet(a)
    return np.asarray(value if sign > 0 else np.nan, dtype=a.dtype).reshape(1, 1)


_ONES: dict[tuple[int, int, np.dtype], np.ndarray] = {}


def summing_ones(rows: int, cols: int, like: object = None) -> np.ndarray:
    """A read-only ones array of this shape and like's float type, kept from call to call:
    the vector a sum is computed with (A 𝟏, 𝟏ᵀ A) is a constant, and making it anew
    costs more than the sum on small arrays."""
    key = (rows, cols, float_type(like))
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 256:  # sizes come and go with batch sizes: keep the table small
            _ONES.clear()
        ones = np.ones((rows, cols), dtype=key[2])
        ones.flags.writeable = False
        _ONES[key] = ones
    return ones


def float_type(array: object) -> np.dtype:
    """The floating type of the generated code's constant arrays: float32 when the
    arguments are float32 (so a float32 computation stays float32), else float64."""
    dtype = getattr(array, "dtype", None)
    return np.dtype(np.float32) if dtype == np.float32 else np.dtype(np.float64)


# -- sympy stand-ins for matcalc operations ----------
class ArrayOp(sympy.Function):
    """An operation on arrays; sympy treats it as an opaque function."""

    is_commutative = False


class ElementwiseBase(ArrayOp):
    """A catalogue function f applied entry by entry; printed from its code template.

    (sympy's printer skips the base classes of a Function subclass when it looks
    for a ``_print_`` method, except those whose name ends in "Base".)"""

    nargs = 1
    function: str = ""


def _op(name: str, arity: object) -> type[ArrayOp]:
    return type(name, (ArrayOp,), {"nargs": arity})


# mc_ones, mc_zeros, mc_eye and mc_full take an optional last argument: the argument
# whose floating type the constant array takes (float_type above).
OPS = {
    name: _op(name, arity)
    for name, arity in [
        ("mc_add", 2), ("mc_sub", 2), ("mc_mul", 2), ("mc_div", 2), ("mc_pow", 2),
        ("mc_maximum", 2), ("mc_neg", 1), ("mc_matmul", 2), ("mc_transpose", 1),
        ("mc_sum", 1), ("mc_sum0", 1), ("mc_sum1", 1), ("mc_trace", 1), ("mc_det", 1),
        ("mc_logdet", 1), ("mc_inv", 1), ("mc_diag", 1), ("mc_diagpart", 1), ("mc_norm", 1),
        ("mc_ones", (2, 3)), ("mc_zeros", (2, 3)), ("mc_eye", (1, 2)),
        ("mc_dscale", 2), ("mc_scaled", 2), ("mc_rowbroadcast", 2), ("mc_colbroadcast", 2),
        ("mc_dim", 2), ("mc_colmax", 1), ("mc_full", (3, 4)), ("mc_vdot", (2, 3)),
        ("mc_sigmoid", 1), ("mc_sigmoid_sum", 2), ("mc_copy", 1), ("mc_summing_ones", (2, 3)),
    ]
}  # fmt: skip
# One sympy function per catalogue function, named after it (its code is the entry's).
ELEMENTWISE: dict[str, type[ElementwiseBase]] = {
    name: type(f"mc_fn_{name}", (ElementwiseBase,), {"function": name}) for name in FUNCTIONS
}
_MODULE_NAME = re.compile(r"(?:numpy|scipy)(?:\.\w+)+")
_CALL = re.compile(r"(?P<name>[\w.]+)\((?P<args>.*)\)", re.DOTALL)

# How each kind of line relates to its operands' memory (codegen's in-place planning).
UFUNCS = {
    "mc_add": "numpy.add", "mc_sub": "numpy.subtract", "mc_mul": "numpy.multiply",
    "mc_div": "numpy.divide", "mc_maximum": "numpy.maximum", "mc_neg": "numpy.negative",
    "mc_dscale": "numpy.multiply", "mc_scaled": "numpy.multiply",
}  # fmt: skip
AUGMENTED = {"mc_add": "+=", "mc_sub": "-=", "mc_mul": "*=", "mc_div": "/=", "mc_pow": "**="}
COMMUTATIVE = {"mc_add", "mc_mul", "mc_dscale"}
VIEWS = {"mc_transpose"}  # a writable view of its operand
READ_ONLY_VIEWS = {"mc_rowbroadcast", "mc_colbroadcast", "mc_diagpart"}
CONSTANTS = {"mc_summing_ones"}  # read-only arrays shared from call to call
REDUCTIONS = {"mc_sum", "mc_sum0", "mc_sum1"}


@cache
def ufunc_of_template(template: str) -> bool:
    """Whether a catalogue code template is one call of a numpy ufunc (so it takes out=)."""
    match = _CALL.fullmatch(template)
    if match is None:
        return False
    module, _, name = match["name"].rpartition(".")
    owner = importlib.import_module(module) if module in ("numpy", "scipy.special") else None
    return isinstance(getattr(owner, name, None), np.ufunc)


def elementwise(value: sympy.Basic) -> bool:
    """A line computed entry by entry into an array of its result's shape (out= allowed)."""
    name = type(value).__name__
    if isinstance(value, ElementwiseBase):
        return ufunc_of_template(FUNCTIONS[value.function].code)
    return name in UFUNCS or name in ("mc_pow", "mc_sigmoid", "mc_sigmoid_sum")


class ArrayOpsPrinter(AbstractPythonCodePrinter):
    """Code for the array operations (sympy 1.14's printers know none of them), written
    once with numpy's names and mixed into a sympy printer per array library.

    Each library's printer spells the names its own way (``SPELLINGS``: numpy.exp is
    jax.numpy.exp, torch.exp) and overrides the few calls whose signatures differ.
    ``kernels`` prints σ as this module's :func:`sigmoid` (numpy's compiled
    functions); without it σ is the library's expit, so a standalone script needs
    only numpy and scipy."""

    # numpy name prefix → this library's, longest first (numpy's printer: none)
    SPELLINGS: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, settings: dict | None = None, kernels: bool = False) -> None:
        super().__init__(settings or {})
        self.kernels = kernels
        # each temporary → the name holding it in the generated code (planning's choice;
        # printing through it spares rebuilding every line with its operands renamed)
        self.storage: Mapping[sympy.Basic, str] = {}

    def _print_Symbol(self, expr: sympy.Symbol) -> str:  # noqa: N802 - sympy's protocol
        name = self.storage.get(expr)
        return name if name is not None else super()._print_Symbol(expr)  # type: ignore[no-any-return]

    def _module_format(self, fqn: str, register: bool = True) -> str:
        for numpy_prefix, own in self.SPELLINGS:
            if fqn.startswith(numpy_prefix):
                fqn = own + fqn[len(numpy_prefix) :]
                break
        return super()._module_format(fqn, register)  # type: ignore[no-any-return]

    def _p(self, expr: sympy.Basic) -> str:
        return self._print(expr)

    def _array(self, expr: sympy.Basic) -> str:
        """An operand that needs array methods: a constant becomes a 1×1 array."""
        if expr.is_Number:
            return f"{self._module_format('numpy.full')}((1, 1), {self._p(expr)})"
        return self._p(expr)

    def _print_ElementwiseBase(self, e: ElementwiseBase) -> str:  # noqa: N802 - sympy's protocol
        """f(z) from the catalogue's code template, its numpy names as this printer spells them."""
        template = FUNCTIONS[e.function].code  # numpy.xxx and scipy.special.xxx names
        code = _MODULE_NAME.sub(lambda m: self._module_format(m.group(0)), template)
        return code.format(self._p(e.args[0]))

    def _print_mc_sigmoid(self, e: sympy.Basic) -> str:
        name = "matcalc.lowering.sigmoid" if self.kernels else "scipy.special.expit"
        return f"{self._module_format(name)}({self._p(e.args[0])})"

    def _print_mc_sigmoid_sum(self, e: sympy.Basic) -> str:
        x, y = (self._p(a) for a in e.args)
        if self.kernels:
            return f"{self._module_format('matcalc.lowering.sigmoid_of_sum')}({x}, {y})"
        return f"{self._module_format('scipy.special.expit')}(({x} + {y}))"

    def _dtype(self, args: Sequence[sympy.Basic], count: int) -> str:
        """The dtype= keyword of a constant array whose last argument names its type's source."""
        if len(args) <= count or not self.kernels:
            return ""  # the standalone script computes in float64 only
        return f", dtype={self._module_format('matcalc.lowering.float_type')}({self._p(args[-1])})"

    def _print_mc_full(self, e: sympy.Basic) -> str:
        value, rows, cols = e.args[:3]
        shape = f"({self._size(rows)}, {self._size(cols)})"
        dtype = self._dtype(e.args, 3)
        return f"{self._module_format('numpy.full')}({shape}, {self._p(value)}{dtype})"

    def _infix(self, expr: sympy.Basic, op: str) -> str:
        a, b = expr.args
        return f"({self._p(a)} {op} {self._p(b)})"

    def _print_mc_add(self, e: sympy.Basic) -> str:
        return self._infix(e, "+")

    def _print_mc_sub(self, e: sympy.Basic) -> str:
        return self._infix(e, "-")

    def _print_mc_mul(self, e: sympy.Basic) -> str:
        return self._infix(e, "*")

    def _print_mc_div(self, e: sympy.Basic) -> str:
        return self._infix(e, "/")

    def _print_mc_pow(self, e: sympy.Basic) -> str:
        return self._infix(e, "**")

    def _print_mc_matmul(self, e: sympy.Basic) -> str:
        # (numpy.dot costs less per call on small arrays but measured 2–3 % slower on
        # the large products that dominate the time)
        return self._infix(e, "@")

    def _print_mc_neg(self, e: sympy.Basic) -> str:
        return f"(-{self._p(e.args[0])})"

    def _print_mc_transpose(self, e: sympy.Basic) -> str:
        return f"{self._array(e.args[0])}.T"

    def _print_mc_copy(self, e: sympy.Basic) -> str:
        """A fresh copy (a result must never be the caller's array or a read-only view)."""
        return f"{self._module_format('numpy.array')}({self._p(e.args[0])})"

    def _call(self, e: sympy.Basic, fn: str) -> str:
        return f"{self._module_format(fn)}({', '.join(self._p(a) for a in e.args)})"

    def _print_mc_maximum(self, e: sympy.Basic) -> str:
        return self._call(e, "numpy.maximum")

    def _print_mc_sum(self, e: sympy.Basic) -> str:
        return f"{self._array(e.args[0])}.sum(keepdims=True)"

    def _print_mc_sum0(self, e: sympy.Basic) -> str:
        return f"{self._array(e.args[0])}.sum(axis=0, keepdims=True)"

    def _print_mc_sum1(self, e: sympy.Basic) -> str:
        return f"{self._array(e.args[0])}.sum(axis=1, keepdims=True)"

    def _print_mc_vdot(self, e: sympy.Basic) -> str:
        """Σᵢⱼ aᵢⱼ bᵢⱼ as one dot product (BLAS), a 1×1 array; c Σᵢⱼ aᵢⱼ bᵢⱼ with a third
        argument c, multiplied while still a scalar."""
        vdot = self._module_format("numpy.vdot")
        a, b = (self._p(x) for x in e.args[:2])
        if len(e.args) > 2:
            return f"({self._p(e.args[2])} * {vdot}({a}, {b})).reshape(1, 1)"
        return f"{vdot}({a}, {b}).reshape(1, 1)"

    def _print_mc_trace(self, e: sympy.Basic) -> str:
        return f"{self._module_format('numpy.trace')}({self._p(e.args[0])}).reshape(1, 1)"

    def _print_mc_det(self, e: sympy.Basic) -> str:
        return f"{self._module_format('numpy.linalg.det')}({self._p(e.args[0])}).reshape(1, 1)"

    def _print_mc_logdet(self, e: sympy.Basic) -> str:
        """log det X where det X > 0, NaN elsewhere (never log |det X|, which is not it)."""
        x = self._p(e.args[0])
        if self.kernels:
            return f"{self._module_format('matcalc.lowering.logdet')}({x})"
        slogdet, where = (
            self._module_format("numpy.linalg.slogdet"),
            self._module_format("numpy.where"),
        )
        nan = self._module_format("numpy.nan")
        return f"{where}({slogdet}({x})[0] > 0, {slogdet}({x})[1], {nan}).reshape(1, 1)"

    def _print_mc_inv(self, e: sympy.Basic) -> str:
        return self._call(e, "numpy.linalg.inv")

    def _print_mc_diag(self, e: sympy.Basic) -> str:
        return self._call(e, "numpy.diagflat")

    def _print_mc_diagpart(self, e: sympy.Basic) -> str:
        return f"{self._module_format('numpy.diagonal')}({self._p(e.args[0])}).reshape(-1, 1)"

    def _print_mc_norm(self, e: sympy.Basic) -> str:
        sqrt = self._module_format("numpy.sqrt")
        a = self._p(e.args[0])
        return f"{sqrt}(({a} * {a}).sum(keepdims=True))"

    def _size(self, size: sympy.Basic) -> str:
        return str(int(size)) if size.is_Integer else self._p(size)

    def _print_mc_ones(self, e: sympy.Basic) -> str:
        rows, cols = (self._size(a) for a in e.args[:2])
        return f"{self._module_format('numpy.ones')}(({rows}, {cols}){self._dtype(e.args, 2)})"

    def _print_mc_summing_ones(self, e: sympy.Basic) -> str:
        rows, cols = (self._size(a) for a in e.args[:2])
        if not self.kernels:
            return self._print_mc_ones(e)
        like = f", {self._p(e.args[2])}" if len(e.args) > 2 else ""
        return f"{self._module_format('matcalc.lowering.summing_ones')}({rows}, {cols}{like})"

    def _print_mc_zeros(self, e: sympy.Basic) -> str:
        rows, cols = (self._size(a) for a in e.args[:2])
        return f"{self._module_format('numpy.zeros')}(({rows}, {cols}){self._dtype(e.args, 2)})"

    def _print_mc_eye(self, e: sympy.Basic) -> str:
        size = self._size(e.args[0])
        return f"{self._module_format('numpy.eye')}({size}{self._dtype(e.args, 1)})"

    def _print_mc_dscale(self, e: sympy.Basic) -> str:
        """diag(v) M = v ⊙ M (v a column): no n×n matrix."""
        v, m = e.args
        return f"({self._p(v)} * {self._p(m)})"

    def _print_mc_scaled(self, e: sympy.Basic) -> str:
        """M diag(v) = M ⊙ vᵀ."""
        m, v = e.args
        return f"({self._p(m)} * {self._p(v)}.T)"

    def _print_mc_rowbroadcast(self, e: sympy.Basic) -> str:
        """𝟏 g for a row g: the row repeated down r rows, as a broadcast view."""
        rows, g = e.args
        g_text = self._p(g)
        broadcast = self._module_format("numpy.broadcast_to")
        return f"{broadcast}({g_text}, ({self._size(rows)}, {g_text}.shape[1]))"

    def _print_mc_colbroadcast(self, e: sympy.Basic) -> str:
        """g 𝟏ᵀ for a column g: the column repeated across c columns."""
        g, cols = e.args
        g_text = self._p(g)
        broadcast = self._module_format("numpy.broadcast_to")
        return f"{broadcast}({g_text}, ({g_text}.shape[0], {self._size(cols)}))"

    def _print_mc_colmax(self, e: sympy.Basic) -> str:
        if self.kernels:  # the ufunc's own reduction: .max's Python wrapper costs more here
            reduce = self._module_format("numpy.maximum")
            return f"{reduce}.reduce({self._array(e.args[0])}, axis=0, keepdims=True)"
        return f"{self._array(e.args[0])}.max(axis=0, keepdims=True)"

    def _print_mc_dim(self, e: sympy.Basic) -> str:
        array, axis = e.args
        return f"{self._p(array)}.shape[{int(axis)}]"

    def _print_Rational(self, e: sympy.Rational) -> str:  # noqa: N802 - sympy's printer protocol
        return repr(float(e))

    def _print_Integer(self, e: sympy.Integer) -> str:  # noqa: N802
        return f"{int(e)}.0" if abs(int(e)) < 2**53 else repr(float(e))

    def _print_Float(self, e: sympy.Float) -> str:  # noqa: N802
        return repr(float(e))

    # -- writing a line's value into an existing array ----------
    def into(self, value: sympy.Basic, target: str) -> str | None:
        """A statement writing value into the array named target (which may be one of
        value's operands: numpy's ufuncs read each entry before writing it), or None
        when the operation takes no out=.  ``t += b`` is numpy.add(t, b, out=t)."""
        name = type(value).__name__
        args = value.args
        texts = [self._p(a) for a in args]
        if name == "mc_scaled":
            texts[1] = f"{texts[1]}.T"
        if name in AUGMENTED and texts[0] == target:
            return f"{target} {AUGMENTED[name]} {texts[1]}"
        if name in COMMUTATIVE and texts[1] == target:
            return f"{target} {AUGMENTED.get(name, '*=')} {texts[0]}"
        if name in UFUNCS:
            return f"{self._module_format(UFUNCS[name])}({', '.join(texts)}, out={target})"
        if name == "mc_matmul":
            return f"{self._module_format('numpy.matmul')}({', '.join(texts)}, out={target})"
        if name in REDUCTIONS:
            axis = {"mc_sum": "", "mc_sum0": "axis=0, ", "mc_sum1": "axis=1, "}[name]
            return f"{self._array(args[0])}.sum({axis}keepdims=True, out={target})"
        if name == "mc_sigmoid_sum" and not self.kernels:
            return None  # expit((x + y)) has no out= of its own
        if (
            name in ("mc_sigmoid", "mc_sigmoid_sum")
            or isinstance(value, ElementwiseBase)
            and (elementwise(value))
        ):
            call = self._p(value)
            return f"{call[:-1]}, out={target})"
        return None


class MatcalcNumPyPrinter(ArrayOpsPrinter, NumPyPrinter):
    """NumPy code for the array operations, through sympy's NumPy printer."""


# -- lowering ----------
# Generated code never spells a user's name: the i-th argument (in sorted name
# order) is _v{i}, the k-th dimension symbol _d{k}, an intermediate _t{j}.  A name
# is data (it may be "numpy", "tanh", "_t0", a fullwidth twin of another name or
# any text at all); these internal names are the only identifiers in the code.
VARIABLE_PREFIX, DIMENSION_PREFIX, TEMPORARY_PREFIX = "_v", "_d", "_t"


class Lowering:
    """matcalc nodes → sympy expressions over array symbols, one assignment per node."""

    def __init__(self, variables: Mapping[str, E.Variable]) -> None:
        self.names = sorted(variables)  # the arguments' order: fn.arguments
        self.symbols = {
            name: sympy.Symbol(f"{VARIABLE_PREFIX}{i}") for i, name in enumerate(self.names)
        }
        self.variables = variables
        self.assignments: list[tuple[sympy.Symbol, sympy.Basic]] = []
        self.temporaries: set[sympy.Symbol] = set()
        # the symbols standing for arrays: the arguments and every temporary (kept as
        # lines are assigned, so is_array is a membership test, not a union per call)
        self.arrays: set[sympy.Symbol] = set(self.symbols.values())
        self.shapes: dict[sympy.Symbol, Shape] = {}  # every temporary's and argument's shape
        self.values: dict[sympy.Basic, sympy.Basic] = {}  # every temporary's line
        for name, symbol in self.symbols.items():
            self.shapes[symbol] = variables[name].shape
        self.column_exps: dict[int, tuple[sympy.Basic, sympy.Basic, sympy.Basic]] = {}
        self.ones_lines: dict[tuple[object, object], sympy.Symbol] = {}
        self.parents: dict[int, int] = {}  # node id → how many nodes (and outputs) read it
        self.done: dict[int, sympy.Basic] = {}  # node id → its lowered value
        # each dimension symbol: read from the first argument (by name) that has it
        self.dim_sources: dict[sympy.Symbol, sympy.Basic] = {}
        for name in self.names:
            for axis, dim in enumerate(variables[name].shape):
                if isinstance(dim, sympy.Symbol) and dim not in self.dim_sources:
                    self.dim_sources[dim] = OPS["mc_dim"](self.symbols[name], axis)
        self.dim_symbols: dict[sympy.Symbol, sympy.Symbol] = {}
        self.dim_lines: list[tuple[sympy.Symbol, sympy.Basic]] = []
        # constant arrays take the floating type of the first argument (float32 stays float32)
        self.like: tuple[sympy.Basic, ...] = (self.symbols[self.names[0]],) if self.names else ()

    def assign(self, value: sympy.Basic, shape: Shape) -> sympy.Symbol:
        """A line of its own for value (an array of shape); its symbol."""
        symbol = sympy.Symbol(f"{TEMPORARY_PREFIX}{len(self.temporaries)}")
        self.temporaries.add(symbol)
        self.arrays.add(symbol)
        self.shapes[symbol] = shape
        self.values[symbol] = value
        self.assignments.append((symbol, value))
        return symbol

    def ones(self, rows: object, cols: object) -> sympy.Symbol:
        """One ones array of this shape for the whole function (a line of its own)."""
        key = (rows, cols)
        if key not in self.ones_lines:
            value = OPS["mc_summing_ones"](self.size(rows), self.size(cols), *self.like)
            self.ones_lines[key] = self.assign(value, key)
        return self.ones_lines[key]

    def column_exp(
        self, arg_node: E.Expr, arg: sympy.Basic
    ) -> tuple[sympy.Basic, sympy.Basic, sympy.Basic]:
        """(max, exp(a − max), Σ exp) per column, shared by softmax(a) and logsumexp(a):
        the exponentials are computed once, as hand-written code does."""
        if id(arg_node) not in self.column_exps:
            row = (1, arg_node.cols)
            top = self.assign(OPS["mc_colmax"](arg), row)
            shifted = self.assign(OPS["mc_sub"](arg, top), arg_node.shape)
            exps = self.assign(ELEMENTWISE["exp"](shifted), arg_node.shape)
            total = self.assign(OPS["mc_matmul"](self.ones(1, arg_node.rows), exps), row)
            self.column_exps[id(arg_node)] = (top, exps, total)
        return self.column_exps[id(arg_node)]

    def size(self, dim: object) -> sympy.Basic:
        """A size in the code: a literal int, or _dk, read once from an argument's shape."""
        if isinstance(dim, bool) or not isinstance(dim, int | sympy.Symbol):
            raise EvaluationError(f"compile: {dim!r} is not a size")
        if isinstance(dim, int):
            return sympy.Integer(int(dim))
        if dim not in self.dim_sources:
            raise EvaluationError(f"compile: the size {dim} is not the size of any argument")
        if dim not in self.dim_symbols:
            symbol = sympy.Symbol(f"{DIMENSION_PREFIX}{len(self.dim_symbols)}")
            self.dim_symbols[dim] = symbol
            self.dim_lines.append((symbol, self.dim_sources[dim]))
        return self.dim_symbols[dim]

    def constant(self, value: sympy.Expr) -> sympy.Basic:
        """A constant with its dimension symbols replaced by _dk; only numbers,
        arithmetic and sympy's own functions of them may remain (nothing whose text
        is a user's)."""
        sizes = set(self.dim_symbols.values())  # symbols already in the code's names
        if value.free_symbols - sizes:
            value = value.xreplace({d: self.size(d) for d in value.free_symbols - sizes})
        for part in sympy.preorder_traversal(value):
            if not _safe_constant_part(part, set(self.dim_symbols.values())):
                raise EvaluationError(f"compile: cannot generate code for the constant {value}")
        return value

    def is_array(self, value: sympy.Basic) -> bool:
        """Whether a lowered value is an array (not a number or an expression of sizes)."""
        return not self.arrays.isdisjoint(value.free_symbols) or bool(value.atoms(ArrayOp))


def _safe_constant_part(part: sympy.Basic, sizes: set[sympy.Symbol]) -> bool:
    if isinstance(part, sympy.Symbol):
        return part in sizes
    if isinstance(part, AppliedUndef) or part.is_number and not part.is_extended_real:
        return False  # an undefined function's name is text; complex constants are refused
    return isinstance(
        part, sympy.Number | sympy.NumberSymbol | sympy.Add | sympy.Mul | sympy.Pow
    ) or (isinstance(part, sympy.Function) and type(part).__module__.startswith("sympy."))


# One lowering per node type: the node, its lowered arguments → a sympy expression.
@singledispatch
def lower_node(node: E.Expr, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    raise TypeError(f"no numeric lowering for {type(node).__name__}")


@lower_node.register
def _(node: E.Variable, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return lowering.symbols[node.name]


@lower_node.register
def _(node: E.Const, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return lowering.constant(node.value)


@lower_node.register
def _(node: E.Ones, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return OPS["mc_ones"](lowering.size(node.rows), lowering.size(node.cols), *lowering.like)


@lower_node.register
def _(node: E.Zero, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return OPS["mc_zeros"](lowering.size(node.rows), lowering.size(node.cols), *lowering.like)


@lower_node.register
def _(node: E.Identity, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return OPS["mc_eye"](lowering.size(node.n), *lowering.like)


@lower_node.register
def _(node: E.Apply, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    if not lowering.is_array(args[0]):  # f of a number (or of sizes): a number, exactly
        return lowering.constant(FUNCTIONS[node.fn].scalar(args[0]))
    stable = _log_sigmoid(node, lowering)
    if stable is not None:
        return stable
    if node.fn == "sigmoid":
        (a,) = node.args
        if isinstance(a, E.Add) and lowering.parents.get(id(a)) == 1 and a.a.shape == a.shape:
            # σ(x + y) where nothing else reads x + y: the sum need not be an array
            return OPS["mc_sigmoid_sum"](lowering.done[id(a.a)], lowering.done[id(a.b)])
        return OPS["mc_sigmoid"](*args)
    if node.fn == "step":
        return _step(node, lowering)
    return ELEMENTWISE[node.fn](*args)


def _step(node: E.Apply, lowering: Lowering) -> sympy.Basic:
    """step(z) = sign(relu(z)), exactly: relu(z) = max(z, 0) is 0, positive or NaN, and
    sign maps those to 0, 1 and NaN, as numpy.heaviside(z, 0) does.  numpy's sign is
    vectorised and heaviside is not (about ten times faster here), and relu(z) is
    usually computed already: a ReLU network's activation, reused by its backward pass
    (its pre-activation z is then dead after the forward pass, and overwritten)."""
    (z,) = node.args
    relu = E.Apply.make("relu", z)
    active = lowering.done.get(id(relu))
    if active is None:
        active = lowering.assign(ELEMENTWISE["relu"](lowering.done[id(z)]), z.shape)
    return ELEMENTWISE["sign"](active)


def _log_sigmoid(node: E.Apply, lowering: Lowering) -> sympy.Basic | None:
    """log σ(t) = −softplus(−t) and log(1 − σ(t)) = −softplus(t), exact for every t
    (log of a rounded σ(t) loses every digit once σ(t) or 1 − σ(t) is below ~1e−16).
    The simplifier hands codegen these forms already; this keeps any unsimplified
    output stable too."""
    (a,) = node.args
    if node.fn != "log":
        return None
    neg, softplus = OPS["mc_neg"], ELEMENTWISE["softplus"]
    if isinstance(a, E.Apply) and a.fn == "sigmoid":
        inner = lowering.assign(neg(lowering.done[id(a.a)]), a.shape)
        return neg(lowering.assign(softplus(inner), a.shape))
    if (
        isinstance(a, E.Sub)
        and isinstance(a.a, E.Const)
        and a.a.value == 1
        and isinstance(a.b, E.Apply)
        and a.b.fn == "sigmoid"
        and a.b.shape == a.shape
    ):
        return neg(lowering.assign(softplus(lowering.done[id(a.b.a)]), a.shape))
    return None


def nonnegative(node: E.Expr) -> bool:
    """Whether every entry of node is ≥ 0 (or NaN) whatever its arguments, in floating
    point too: σ(t), 1 − σ(t) and softmax(t) lie in [0, 1], products, sums and quotients of such
    entries, even powers, e^t, softplus, |t|, √t, relu and step.  Conservative: False
    when unsure."""
    stack, seen = [node], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, E.Const):
            if not (item.value.is_number and item.value >= 0):
                return False
        elif isinstance(item, E.Apply):
            if item.fn not in ("sigmoid", "exp", "softplus", "abs", "sqrt", "relu", "step"):
                return False
        elif isinstance(item, E.Sub):
            # 1 − σ(t): σ(t) ≤ 1 holds for the rounded σ as well
            one = isinstance(item.a, E.Const) and item.a.value == 1
            if not (one and isinstance(item.b, E.Apply) and item.b.fn == "sigmoid"):
                return False
        elif isinstance(item, E.Pow):
            b = item.b
            even = isinstance(b, E.Const) and b.value.is_integer and b.value.is_even
            if not even:
                return False
        elif isinstance(item, E.Softmax):
            continue  # e^{aᵢ − max} / Σⱼ e^{aⱼ − max} ∈ [0, 1] whatever a is
        elif isinstance(item, E.Mul | E.Add | E.Div):
            stack.extend(item.args)
        else:
            return False
    return True


def _gram(node: E.MatMul, lowering: Lowering) -> sympy.Basic | None:
    """Aᵀ diag(s) A with s ≥ 0 as Zᵀ Z, Z = √s ⊙ A (a column √s scales A's rows).

    (Aᵀ diag(s) A)ᵢⱼ = Σₖ Aₖᵢ sₖ Aₖⱼ = Σₖ (√sₖ Aₖᵢ)(√sₖ Aₖⱼ).  numpy's matmul of an
    array with its own transpose is BLAS's symmetric rank-k update (syrk): half the
    multiplications of Aᵀ (s ⊙ A), and the result is exactly symmetric."""
    factors = E.matmul_factors(node)
    if len(factors) != 3:
        return None
    left, middle, right = factors
    if not (
        isinstance(left, E.Transpose)
        and left.a is right
        and isinstance(middle, E.Diag)
        and nonnegative(middle.a)
    ):
        return None
    s = lowering.done[id(middle.a)]
    root = lowering.assign(ELEMENTWISE["sqrt"](s), middle.a.shape)
    z = lowering.assign(OPS["mc_dscale"](root, lowering.done[id(right)]), right.shape)
    return OPS["mc_matmul"](OPS["mc_transpose"](z), z)


@lower_node.register
def _(node: E.MatMul, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    a, b = node.args
    gram = _gram(node, lowering)
    if gram is not None:
        return gram
    if isinstance(a, E.Diag):
        return OPS["mc_dscale"](args[0].args[0], args[1])
    if isinstance(b, E.Diag):
        return OPS["mc_scaled"](args[0], args[1].args[0])
    if isinstance(a, E.Ones) and a.cols == 1:
        return OPS["mc_rowbroadcast"](lowering.size(a.rows), args[1])
    if isinstance(b, E.Ones) and b.rows == 1:
        return OPS["mc_colbroadcast"](args[0], lowering.size(b.cols))
    return OPS["mc_matmul"](*args)


@lower_node.register
def _(node: E.Sum, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    """Row sums A 𝟏 and column sums 𝟏ᵀ A as BLAS matrix-vector products with one ones
    vector per size (numpy's reduction along an axis is two to four times slower here);
    a vector's total the same way, and Σ a ⊙ b as a dot product."""
    (a,) = node.args
    if node.axis is None:
        dot = _dot(a, lowering)
        if dot is not None:
            return dot
    if not lowering.is_array(args[0]):
        return OPS[{None: "mc_sum", 0: "mc_sum0", 1: "mc_sum1"}[node.axis]](*args)
    if node.axis == 1 or node.axis is None and a.rows == 1:
        return OPS["mc_matmul"](args[0], lowering.ones(a.cols, 1))
    if node.axis == 0 or node.axis is None and a.cols == 1:
        return OPS["mc_matmul"](lowering.ones(1, a.rows), args[0])
    return OPS["mc_sum"](*args)


def _dot(summand: E.Expr, lowering: Lowering) -> sympy.Basic | None:
    """Σᵢⱼ aᵢⱼ² = ⟨a, a⟩ and Σᵢⱼ aᵢⱼ bᵢⱼ = ⟨a, b⟩ (same shapes) as one dot product: no
    temporary a ⊙ b, and one pass instead of two."""
    if isinstance(summand, E.Pow) and isinstance(summand.b, E.Const) and summand.b.value == 2:
        a = lowering.done[id(summand.a)]
        return OPS["mc_vdot"](a, a) if lowering.is_array(a) else None
    if isinstance(summand, E.Mul) and summand.a.shape == summand.b.shape:
        a, b = lowering.done[id(summand.a)], lowering.done[id(summand.b)]
        return OPS["mc_vdot"](a, b) if lowering.is_array(a) and lowering.is_array(b) else None
    return None


@lower_node.register
def _(node: E.Softmax, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    _, exps, total = lowering.column_exp(node.a, args[0])
    return OPS["mc_div"](exps, total)


@lower_node.register
def _(node: E.LogSumExp, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    top, _, total = lowering.column_exp(node.a, args[0])
    return OPS["mc_add"](top, ELEMENTWISE["log"](total))


# The node types that lower to one array operation of their arguments.
ONE_OPERATION: dict[type[E.Expr], str] = {
    E.Add: "mc_add", E.Sub: "mc_sub", E.Mul: "mc_mul", E.Div: "mc_div", E.Pow: "mc_pow",
    E.Maximum: "mc_maximum", E.Neg: "mc_neg", E.Transpose: "mc_transpose",
    E.Trace: "mc_trace", E.Det: "mc_det", E.LogDet: "mc_logdet", E.Inv: "mc_inv",
    E.Diag: "mc_diag", E.DiagPart: "mc_diagpart", E.Norm: "mc_norm",
}  # fmt: skip


def _one_operation(node: E.Expr, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    return OPS[ONE_OPERATION[type(node)]](*args)


for _node_type in ONE_OPERATION:
    lower_node.register(_node_type)(_one_operation)


@lower_node.register
def _(node: E.Mul, args: list[sympy.Basic], lowering: Lowering) -> sympy.Basic:
    """a ⊙ b; c ⟨a, b⟩ (a constant times a dot product, such as ½ ‖a − y‖²) is one line,
    the product taken on the scalar before it becomes a 1×1 array."""
    for k, (const, other) in enumerate([(node.a, node.b), (node.b, node.a)]):
        if isinstance(const, E.Const) and lowering.parents.get(id(other)) == 1:
            dot = lowering.values.get(args[1 - k])
            if dot is not None and type(dot).__name__ == "mc_vdot" and len(dot.args) == 2:
                return OPS["mc_vdot"](*dot.args, args[k])
    return OPS["mc_mul"](*args)


def _inline(node: E.Expr) -> bool:
    """Nodes written where they are used rather than on a line of their own:
    leaves, xᵀ of a leaf (a view) and diag(v) (only ever printed inside a product).
    Every other node is one line, so no line nests deeper than one node's code."""
    if not node.args:
        return True
    if isinstance(node, E.Transpose) and not node.a.args:
        return True
    return isinstance(node, E.Diag)


Lines = list[tuple[sympy.Symbol, sympy.Basic]]


def lower(outputs: Sequence[E.Expr], variables: Mapping[str, E.Variable]) -> tuple[
    list[sympy.Basic], Lines, Lowering
]:  # fmt: skip
    """The lowered outputs and the assignments (symbol, expression), one line per
    node in an order that computes each node after its children (an iterative walk:
    any depth), only the lines some output needs.  The sizes read from the
    arguments are ``lowering.dim_lines``."""
    outputs = keep_structure(outputs)  # no dense diag(v), I, outer product, … in between
    lowering = Lowering(variables)
    order = E.postorder(*outputs)
    for node in order:
        for child in node.args:
            lowering.parents[id(child)] = lowering.parents.get(id(child), 0) + 1
    for output in outputs:
        lowering.parents[id(output)] = lowering.parents.get(id(output), 0) + 1
    for node in order:
        value = lower_node(node, [lowering.done[id(c)] for c in node.args], lowering)
        lowering.done[id(node)] = value if _inline(node) else lowering.assign(value, node.shape)
    lowered = [lowering.done[id(o)] for o in outputs]
    # a constant result (a zero gradient, a fixed value) is still an array of its shape
    lowered = [
        value
        if lowering.is_array(value)
        else OPS["mc_full"](value, lowering.size(o.rows), lowering.size(o.cols), *lowering.like)
        for o, value in zip(outputs, lowered, strict=True)
    ]
    return lowered, drop_unused(lowering.assignments, lowered), lowering


def drop_unused(assignments: Lines, outputs: list[sympy.Basic]) -> Lines:
    """The lines some output depends on (a stable form bypasses the line of σ(t))."""
    needed: set[sympy.Basic] = set().union(*(value.free_symbols for value in outputs))
    kept = []
    for symbol, value in reversed(assignments):
        if symbol in needed:
            kept.append((symbol, value))
            needed |= value.free_symbols
    return kept[::-1]
