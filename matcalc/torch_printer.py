"""PyTorch code for matcalc's array operations: sympy's TorchPrinter with them mixed in.

torch differs from numpy in a few signatures: reductions take ``dim=`` and
``keepdim=``, a sum over all entries keeps no axis, torch.vdot takes 1-D
tensors, and binary functions take no Python number (torch.maximum(z, 0.0) is
an error).  Those calls are written here; numpy's other calls
(``lowering.ArrayOpsPrinter``) in torch's names are torch's code.  Constant
tensors take the arguments' dtype and device, so CUDA tensors stay on their
device.  (Importing sympy's PyTorch printer imports torch.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

import sympy
from sympy.printing.pytorch import TorchPrinter

from . import lowering as L
from .functions import FUNCTIONS

_TORCH_NAME = re.compile(r"torch(?:\.\w+)+")


class MatcalcTorchPrinter(L.ArrayOpsPrinter, TorchPrinter):
    """PyTorch code for the array operations: numpy's calls in torch's names, and
    torch's own signature where it differs from numpy's."""

    SPELLINGS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("numpy.linalg.", "torch.linalg."), ("numpy.", "torch."),
        ("scipy.special.", "torch.special."),
    )  # fmt: skip

    def _print(self, expr: object, **kwargs: object) -> str:
        """A number that is not a literal (e^{−1}, √2, 1/(1 + e)) as its float: torch's
        functions take tensors, never Python numbers."""
        if (
            isinstance(expr, sympy.Expr)
            and expr.is_number
            and not expr.is_Number
            and not expr.atoms(L.ArrayOp)
        ):
            return repr(float(expr))
        return super()._print(expr, **kwargs)  # type: ignore[no-any-return]

    def into(self, value: sympy.Basic, target: str) -> str | None:
        return None  # no in-place updates (autograd may hold any tensor the code makes)

    def _dtype(self, args: Sequence[sympy.Basic], count: int) -> str:
        """A constant tensor takes the dtype and device of the argument named last
        (torch's default is float32 on the CPU); with no argument, float64."""
        if len(args) > count:
            like = self._p(args[-1])
            return f", dtype={like}.dtype, device={like}.device"
        return f", dtype={self._module_format('torch.float64')}"

    def _array(self, expr: sympy.Basic) -> str:
        if expr.is_Number:
            full = self._module_format("torch.full")
            return f"{full}((1, 1), {self._p(expr)}, dtype={self._module_format('torch.float64')})"
        return self._p(expr)

    def _print_ElementwiseBase(self, e: L.ElementwiseBase) -> str:  # noqa: N802 - sympy's protocol
        entry = FUNCTIONS[e.function]
        if not entry.torch_code:
            return super()._print_ElementwiseBase(e)
        code = _TORCH_NAME.sub(lambda m: self._module_format(m.group(0)), entry.torch_code)
        return code.format(self._p(e.args[0]))

    def _print_Pow(self, e: sympy.Pow, rational: bool = False) -> str:  # noqa: N802
        """A power of sizes or numbers (the only sympy powers lowered code holds) in
        Python's arithmetic: torch.pow takes no pair of Python numbers."""
        return f"({self._p(e.base)})**({self._p(e.exp)})"

    def _print_mc_sum(self, e: sympy.Basic) -> str:
        return f"{self._array(e.args[0])}.sum().reshape(1, 1)"

    def _print_mc_sum0(self, e: sympy.Basic) -> str:
        return f"{self._array(e.args[0])}.sum(dim=0, keepdim=True)"

    def _print_mc_sum1(self, e: sympy.Basic) -> str:
        return f"{self._array(e.args[0])}.sum(dim=1, keepdim=True)"

    def _print_mc_colmax(self, e: sympy.Basic) -> str:
        return f"{self._array(e.args[0])}.amax(dim=0, keepdim=True)"

    def _print_mc_norm(self, e: sympy.Basic) -> str:
        a = self._p(e.args[0])
        return f"{self._module_format('torch.sqrt')}(({a} * {a}).sum()).reshape(1, 1)"

    def _print_mc_vdot(self, e: sympy.Basic) -> str:
        """Σᵢⱼ aᵢⱼ bᵢⱼ as one dot product of the flattened arrays (torch.vdot takes 1-D)."""
        vdot = self._module_format("torch.vdot")
        a, b = (self._p(x) for x in e.args[:2])
        dot = f"{vdot}({a}.reshape(-1), {b}.reshape(-1))"
        if len(e.args) > 2:
            dot = f"({self._p(e.args[2])} * {dot})"
        return f"{dot}.reshape(1, 1)"

    def _print_mc_maximum(self, e: sympy.Basic) -> str:
        """max(a, b) entry by entry; a number operand is a bound of torch.clamp."""
        a, b = e.args
        if b.is_Number or a.is_Number:
            array, bound = (a, b) if b.is_Number else (b, a)
            return f"{self._module_format('torch.clamp')}({self._p(array)}, min={self._p(bound)})"
        return self._call(e, "numpy.maximum")

    def _print_mc_copy(self, e: sympy.Basic) -> str:
        return f"{self._module_format('torch.clone')}({self._p(e.args[0])})"
