"""What a name may be: one rule for variables, dimensions and derivations.

A name is NFKC-normalised first (as Python normalises identifiers, so ``ｔ0``
is ``t0``), then must be an identifier that does not start with an
underscore (generated code keeps those for itself) and has at most 64
characters.  A Python keyword is a name like any other (``lambda`` is a
common one in formulas): nothing uses names as Python identifiers.  Names are
data everywhere else: generated code maps them to internal names, LaTeX
escapes them, terminals see them escaped.
"""

from __future__ import annotations

import unicodedata

from .errors import DeclarationError

MAX_NAME_LENGTH = 64


def checked_name(name: object, what: str) -> str:
    """The name, normalised, or a DeclarationError saying why it cannot be one."""
    if not isinstance(name, str):
        raise DeclarationError(f"{what}: a name must be text, got {type(name).__name__}")
    normal = unicodedata.normalize("NFKC", name)
    if len(normal) > MAX_NAME_LENGTH:
        raise DeclarationError(f"{what}: a name has at most {MAX_NAME_LENGTH} characters")
    if not normal.isidentifier():
        raise DeclarationError(f"{what}: the name must be an identifier, got {name!r}")
    if normal.startswith("_"):
        raise DeclarationError(f"{what}: a name may not start with '_' (got {normal!r})")
    return normal


def shown(text: str) -> str:
    """Text for a terminal: control characters (escape sequences, carriage returns)
    escaped; the line breaks of a multi-line answer kept."""
    return "".join(
        char if char.isprintable() or char in " \n" else char.encode("unicode_escape").decode()
        for char in text
    )
