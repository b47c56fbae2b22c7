"""JAX code for matcalc's array operations: sympy's JaxPrinter with them mixed in.

jax.numpy mirrors numpy's names and signatures, so numpy's code
(``lowering.ArrayOpsPrinter``) in jax.numpy's names is JAX's code; only the
in-place updates (JAX arrays are immutable) and the constants' dtype differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import sympy
from sympy.printing.numpy import JaxPrinter

from . import lowering as L


class MatcalcJaxPrinter(L.ArrayOpsPrinter, JaxPrinter):
    """JAX code for the array operations: numpy's calls in jax.numpy's names."""

    SPELLINGS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("numpy.", "jax.numpy."), ("scipy.special.", "jax.scipy.special."),
    )  # fmt: skip

    def into(self, value: sympy.Basic, target: str) -> str | None:
        return None  # JAX arrays are immutable: every line is a new array

    def _dtype(self, args: Sequence[sympy.Basic], count: int) -> str:
        """A constant array takes the dtype of the argument named last (float32 stays
        float32 when JAX's 64-bit mode is on)."""
        return f", dtype={self._p(args[-1])}.dtype" if len(args) > count else ""
