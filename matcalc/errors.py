"""Every error matcalc raises on purpose, under one base class.

Each also derives from the built-in error a Python user would expect
(``ShapeError`` is a ``ValueError``), so ``except ValueError`` still works.
"""

from __future__ import annotations


class MatcalcError(Exception):
    """Base class of every error matcalc raises on purpose."""


class ShapeError(MatcalcError, ValueError):
    """Operands whose shapes do not fit the operation; the message names both."""


class DeclarationError(MatcalcError, ValueError):
    """A variable or dimension declared with a name that is not an identifier."""


class OperandError(MatcalcError, TypeError):
    """An operand that is neither a number nor a matcalc expression."""


class ConstantError(MatcalcError, ValueError):
    """A constant that is not a finite number (inf, nan)."""


class DerivativeError(MatcalcError, ValueError):
    """A derivative that was asked for in a form the API does not define."""


class EvaluationError(MatcalcError, ValueError):
    """Bad or missing numbers given to ``evaluate``, or a value outside a domain."""


class ParseError(MatcalcError, ValueError):
    """Text that is not a formula; ``.position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, text: str = "", position: int = 0) -> None:
        self.message, self.text, self.position = message, text, position
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if not self.text:
            return self.message
        line, column, number = self.line()
        where = f"line {number}, " if "\n" in self.text else ""
        return f"{self.message} ({where}at position {self.position})\n  {line}\n  {' ' * column}^"

    def line(self) -> tuple[str, int, int]:
        """The line of text with the problem (at most 200 characters around it), the
        caret's column in it, and the line's number from 1."""
        position = max(0, min(self.position, len(self.text)))
        start = self.text.rfind("\n", 0, position) + 1
        end = self.text.find("\n", position)
        line = self.text[start : end if end >= 0 else len(self.text)]
        column = position - start
        if column > 150:  # keep the caret on screen
            line, column = "…" + line[column - 100 :], 101
        if len(line) > 200:
            line = line[:200] + "…"
        return line, column, self.text.count("\n", 0, start) + 1


class LatexError(MatcalcError, RuntimeError):
    """pdflatex is missing, or reported an error."""
