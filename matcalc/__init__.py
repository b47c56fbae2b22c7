"""matcalc: matrix calculus by the Jacobian chain rule, for learning and checking.

The public API (README.md shows it in use): symbolic dimensions and variables, expressions
with numpy-like operators, ``grad`` / ``jacobian`` / ``hessian``, and the
numpy reference evaluator.

``import matcalc`` loads only the errors: every other name loads its module on
first use (PEP 562 module ``__getattr__``), so numpy and sympy, which take most
of a second to import, are paid for by the first expression rather than by the
import (a ``matcalc --help`` or a script that only reads ``mc.MatcalcError``
never pays).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import TYPE_CHECKING, Any

from .errors import (
    ConstantError,
    DeclarationError,
    DerivativeError,
    EvaluationError,
    LatexError,
    MatcalcError,
    OperandError,
    ParseError,
    ShapeError,
)

if TYPE_CHECKING:  # the names as type checkers see them; at run time each loads on first use
    from . import nn
    from .check import Verdict, check, equivalent
    from .codegen import CompiledFunction, compile
    from .constructors import (
        abs,
        cos,
        det,
        diag,
        dot,
        exp,
        eye,
        inv,
        log,
        logdet,
        logsumexp,
        matrix,
        maximum,
        norm,
        ones,
        outer,
        relu,
        scalar,
        sigmoid,
        sign,
        sin,
        softmax,
        softplus,
        sqrt,
        step,
        sum,
        tanh,
        trace,
        vector,
        zeros,
    )
    from .derivation import Derivation, Step
    from .dims import dims
    from .engine import grad, hessian, jacobian
    from .evaluator import evaluate
    from .expr import Expr, Variable, variables
    from .parse import parse
    from .printing import latex, markdown, text
    from .proof import ProofVerdict, check_proof
    from .simplifier import simplify
    from .stepwise import derive

# Each lazily loaded public name and the module that defines it.
_SOURCES: dict[str, str] = {
    "nn": "nn",
    **dict.fromkeys(["Verdict", "check", "equivalent"], "check"),
    **dict.fromkeys(["CompiledFunction", "compile"], "codegen"),
    **dict.fromkeys(
        "abs cos det diag dot exp eye inv log logdet logsumexp matrix maximum norm ones outer "
        "relu scalar sigmoid sign sin softmax softplus sqrt step sum tanh trace vector "
        "zeros".split(),
        "constructors",
    ),
    **dict.fromkeys(["Derivation", "Step"], "derivation"),
    "dims": "dims",
    **dict.fromkeys(["grad", "hessian", "jacobian"], "engine"),
    "evaluate": "evaluator",
    **dict.fromkeys(["Expr", "Variable", "variables"], "expr"),
    "parse": "parse",
    **dict.fromkeys(["latex", "markdown", "text"], "printing"),
    **dict.fromkeys(["ProofVerdict", "check_proof"], "proof"),
    "simplify": "simplifier",
    "derive": "stepwise",
}
_MODULES = frozenset({"nn"})  # the public names that are modules themselves


def _module(name: str) -> types.ModuleType:
    # printing registers the text and LaTeX forms that every expression prints with
    # (expr cannot import it: printing imports expr), so it comes with any module —
    # unless printing or notation is being imported right now (import matcalc.notation
    # asks for expr on its way: printing would find notation half made).
    if not any(_initializing(f"{__name__}.{part}") for part in ("printing", "notation")):
        importlib.import_module(f"{__name__}.printing")
    return importlib.import_module(f"{__name__}.{name}")


def _initializing(module_name: str) -> bool:
    module = sys.modules.get(module_name)
    return module is not None and bool(getattr(module.__spec__, "_initializing", False))


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        return _submodule(name)
    module = _module(source)
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value  # the next use is a plain lookup
    return value


def _submodule(name: str) -> types.ModuleType:
    """A module of the package by name (from matcalc import expr), with printing."""
    # a probe for a name that is no module (inspect's, pytest's) loads nothing
    if name.startswith("_") or importlib.util.find_spec(f"{__name__}.{name}") is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _module(name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package module.  Importing a submodule binds it on its package, so the
    first import of matcalc/check.py (say, by mc.proof) would replace the function
    mc.check with the module check; the functions check, dims, jacobian and parse
    keep their names here, as when the package imported everything eagerly (the
    modules themselves stay in sys.modules: ``from matcalc.jacobian import
    LinearMap`` works)."""

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and name in _SOURCES and name not in _MODULES:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def text_shape(expr: Expr) -> str:
    """An expression's shape as text, e.g. ``(m, n)``."""
    return str(_module("dims").format_shape(expr.shape))


__all__ = [
    "ConstantError", "DeclarationError", "Derivation", "DerivativeError", "EvaluationError",
    "LatexError", "MatcalcError", "OperandError", "ParseError", "ShapeError",
    "ProofVerdict", "Step", "Verdict", "check", "check_proof", "compile", "CompiledFunction",
    "derive", "equivalent", "Expr", "nn", "parse", "Variable",
    "abs", "cos", "det", "diag", "dims", "dot", "evaluate", "exp", "eye", "grad", "hessian",
    "inv", "jacobian", "latex", "log", "logdet", "logsumexp", "markdown", "matrix", "maximum",
    "norm", "ones", "outer", "relu", "scalar", "sigmoid", "sign", "simplify", "sin", "softmax",
    "softplus", "sqrt", "step", "sum", "tanh", "text", "text_shape", "trace", "variables",
    "vector", "zeros",
]  # fmt: skip
