"""Dimensions, shapes and shape errors.

A dimension is a positive Python ``int`` or a sympy ``Symbol`` declared
positive and integer (``mc.dims("n m")``).  A shape is ``(rows, cols)``.
"""

from __future__ import annotations

from typing import TypeAlias

import sympy

from .errors import DeclarationError, ShapeError
from .names import checked_name

Dim: TypeAlias = int | sympy.Symbol
Shape: TypeAlias = tuple[Dim, Dim]

SCALAR_SHAPE: Shape = (1, 1)
MAX_SIZE = 10**9  # a concrete size; larger ones could not be held anyway


def dims(names: str) -> sympy.Symbol | tuple[sympy.Symbol, ...]:
    """Symbolic dimensions: ``n, m = dims("n m")``; one name gives one symbol."""
    if not isinstance(names, str):
        raise DeclarationError(f"dims: expected a string of names, got {type(names).__name__}")
    parts = names.replace(",", " ").split()
    if not parts:
        raise DeclarationError("dims: no dimension names given")
    parts = [checked_name(part, "dims") for part in parts]
    symbols = tuple(sympy.Symbol(p, integer=True, positive=True) for p in parts)
    return symbols[0] if len(symbols) == 1 else symbols


def as_dim(value: object, what: str = "dimension") -> Dim:
    """Normalise one size: a positive int, a dimension symbol, or a name for one."""
    if isinstance(value, bool):
        raise ShapeError(f"{what}: {value!r} is not a size")
    if isinstance(value, int | sympy.Integer):
        size = int(value)
        if size < 1:
            raise ShapeError(f"{what}: size must be a positive integer, got {size}")
        if size > MAX_SIZE:
            raise ShapeError(f"{what}: a size is at most {MAX_SIZE}, got {size}")
        return size
    if isinstance(value, sympy.Symbol):
        if value.is_positive is False or value.is_integer is False:
            raise ShapeError(f"{what}: {value} is not a positive integer dimension")
        if checked_name(value.name, what) != value.name:  # a dimension is named like a variable
            return sympy.Symbol(checked_name(value.name, what), integer=True, positive=True)
        return value
    if isinstance(value, str):
        return dims(value) if value.isidentifier() else _bad_size(value, what)
    return _bad_size(value, what)


def _bad_size(value: object, what: str) -> Dim:
    raise ShapeError(f"{what}: {value!r} is not a size; a size is a positive integer or a name")


def format_dim(dim: Dim) -> str:
    return str(dim)


def format_shape(shape: Shape) -> str:
    return f"({format_dim(shape[0])}, {format_dim(shape[1])})"


def is_scalar_shape(shape: Shape) -> bool:
    return shape[0] == 1 and shape[1] == 1


def vector_length(shape: Shape) -> Dim | None:
    """The length of a column or row vector (a scalar has length 1), else None."""
    rows, cols = shape
    if cols == 1:
        return rows
    if rows == 1:
        return cols
    return None


def broadcast_dim(a: Dim, b: Dim) -> Dim | None:
    """numpy's rule for one axis: equal sizes, or a literal 1 that stretches."""
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    return None


def broadcast_shapes(a: Shape, b: Shape) -> Shape | None:
    rows = broadcast_dim(a[0], b[0])
    cols = broadcast_dim(a[1], b[1])
    if rows is None or cols is None:
        return None
    return (rows, cols)
