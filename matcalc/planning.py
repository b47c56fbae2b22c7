"""Planning generated code: which array each line writes, and defining the function.

The lowering (``lowering.lower``) gives single assignments in order; ``plan``
turns them into statements, deciding for each line which name holds its value:

* an intermediate whose last use is a line computed entry by entry is
  overwritten by that line (``t += b``, ``numpy.exp(t, out=t)``) when the
  printer can write into an array (numpy's can; JAX's arrays are immutable), so
  numpy allocates one array where the naive code allocates one per line, as
  careful hand-written code does;
* a name whose value is dead is reused, so each array is freed after its last use;
* with ``into``, the lines computing results write into the caller's arrays.

``define`` executes one generated def and keeps its source for tracebacks;
``check_source`` writes the def checking a call's arguments in a few comparisons,
and ``check_names`` the careful path's first check, by name.
Both numpy's code (``codegen``) and the other libraries' (``backends``) are
planned and defined here.
"""

from __future__ import annotations

import builtins
import itertools
import linecache
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy

from . import expr as E
from . import lowering as L
from .errors import EvaluationError
from .lowering import OPS, TEMPORARY_PREFIX, ArrayOpsPrinter, Lines, Lowering

OUT_PREFIX = "_o"  # the into kernel's result arrays: _o0, _o1, …


# the def's name, as sympy's lambdify named it when it wrote these functions (the demo,
# the README and the notebooks show it)
KERNEL = "_lambdifygenerated"


# -- planning: which array each line writes ----------
@dataclass
class Plan:
    """The statements of one generated function and the names it returns."""

    statements: list[str] = field(default_factory=list)
    returns: list[str] = field(default_factory=list)
    in_place: int = 0  # lines that overwrote a dying operand


def _temporaries(value: sympy.Basic, temporaries: set[sympy.Basic]) -> set[sympy.Basic]:
    """The temporaries value reads."""
    return value.free_symbols & temporaries


def plan(
    lines: Lines,
    outputs: list[sympy.Basic],
    lowering: Lowering,
    printer: ArrayOpsPrinter,
    into: bool,
) -> Plan:
    """The statements computing lines (single assignments, in order) and the outputs.

    Memory is tracked per buffer: a fresh result owns one; a transpose or a
    broadcast is a view of its operand's.  A line computed entry by entry writes
    into an operand's buffer when nothing reads that buffer afterwards (every
    value living in it dies at this line), the buffer is ours (never an
    argument's), the operand is writable (not a broadcast or a diagonal) and has
    the line's shape, and no other operand reads the buffer.  With ``into`` the
    lines computing results write into _o0, _o1, … instead."""
    temporaries = {symbol for symbol, _ in lines}
    end = len(lines)
    last_use: dict[sympy.Basic, int] = {symbol: -1 for symbol in temporaries}
    uses = [_temporaries(value, temporaries) for _, value in lines]  # once per line
    for index, used_here in enumerate(uses):
        for used in used_here:
            last_use[used] = index
    for value in outputs:
        for used in _temporaries(value, temporaries):
            last_use[used] = end
    # the first result each line's value is (an into kernel writes it straight there)
    result_index: dict[sympy.Basic, int] = {}
    for k, value in enumerate(outputs):
        if value in temporaries:
            result_index.setdefault(value, k)

    buffer: dict[sympy.Basic, object] = {a: ("argument", a) for a in lowering.symbols.values()}
    writable: dict[sympy.Basic, bool] = {}  # a value the code may overwrite in its buffer
    # buffer → the last line reading a value living in it (the buffer is dead after it)
    busy_until: dict[object, int] = {}
    storage: dict[sympy.Basic, str] = {}  # value → the name holding it
    printer.storage = storage  # the printer names each operand by where it lives
    numbers = itertools.count()
    free: list[str] = []
    dying: dict[int, list[str]] = {}
    result = Plan()
    for index, (symbol, value) in enumerate(lines):
        kind = type(value).__name__
        released = dying.pop(index, [])  # names last read by this line are free after it
        named = value  # printed through printer.storage: its operands' names
        statement: str | None = None
        if kind in L.VIEWS or kind in L.READ_ONLY_VIEWS:
            source = next((a for a in value.args if a in buffer), None)
            home = buffer[source] if source is not None else ("fresh", symbol)
            # a view of a read-only view (the transpose of a diagonal) is read-only too
            writable[symbol] = (
                kind in L.VIEWS
                and home[0] == "fresh"  # type: ignore[index]
                and (source is None or source not in writable or writable[source])
            )
        else:
            home = ("fresh", symbol)
            writable[symbol] = lowering.is_array(value) and kind not in L.CONSTANTS
        if into and symbol in result_index:
            target = f"{OUT_PREFIX}{result_index[symbol]}"
            statement = printer.into(named, target)
            if statement is None:
                copyto = printer._module_format("numpy.copyto")
                statement = f"{copyto}({target}, {printer.doprint(named)})"
            home, writable[symbol] = ("result", target), False
        elif L.elementwise(value):
            for operand in (a for a in value.args if a in temporaries):
                place = buffer[operand]
                if (
                    writable[operand]
                    and lowering.shapes[operand] == lowering.shapes[symbol]
                    and busy_until[place] <= index
                    and not any(
                        buffer.get(t) == place
                        for a in value.args
                        if a != operand
                        for t in _temporaries(a, temporaries)
                    )
                ):
                    statement = printer.into(named, storage[operand])
                    if statement is not None:
                        target, home = storage[operand], place
                        released.remove(target)  # it holds this line's value now
                        result.in_place += 1
                        break
        free.extend(released)
        if statement is None:
            target = free.pop() if free else f"{TEMPORARY_PREFIX}{next(numbers)}"
            statement = f"{target} = {printer.doprint(named)}"
        result.statements.append(statement)
        storage[symbol] = target
        buffer[symbol] = home
        busy_until[home] = max(busy_until.get(home, -1), last_use[symbol])
        if not target.startswith(OUT_PREFIX):
            dying.setdefault(max(last_use[symbol], index), []).append(target)
    result.returns = _returns(outputs, storage, temporaries, buffer, writable, lowering,
                              printer, into, result.statements)  # fmt: skip
    return result


def _returns(
    outputs: list[sympy.Basic],
    storage: Mapping[sympy.Basic, str],
    temporaries: set[sympy.Basic],
    buffer: Mapping[sympy.Basic, object],
    writable: Mapping[sympy.Basic, bool],
    lowering: Lowering,
    printer: ArrayOpsPrinter,
    into: bool,
    statements: list[str],
) -> list[str]:
    """The returned expressions.  A result is never the caller's array or a view of
    it, never a read-only broadcast, never an array another result is: such results
    are copies.  An into kernel copies whatever it did not compute in place."""
    arguments = set(lowering.symbols.values())
    texts, returned = [], set()
    for k, value in enumerate(outputs):
        named = value
        if into:
            target = f"{OUT_PREFIX}{k}"
            if value not in temporaries or storage[value] != target:
                copyto = printer._module_format("numpy.copyto")
                statements.append(f"{copyto}({target}, {printer.doprint(named)})")
            texts.append(target)
            continue
        if value in temporaries:
            place = buffer[value]
            own = writable[value] and place not in returned and place[0] == "fresh"  # type: ignore[index]
            returned.add(place)
        else:  # an argument, its transpose, or a constant array made here
            view = type(value).__name__ in L.VIEWS and value.args[0] in arguments
            own = value not in arguments and not view
        texts.append(printer.doprint(named if own else OPS["mc_copy"](named)))
    return texts


# -- the source ----------
_SOURCES = itertools.count()


def define(source: str, name: str, namespace: dict[str, Any]) -> Callable:
    """exec the source of one def in namespace; linecache holds it, so tracebacks and
    ``inspect.getsource`` show the generated lines."""
    filename = f"<matcalc-generated-{next(_SOURCES)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(builtins.compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace[name]


# -- the argument check ----------
def check_source(
    variables: list[E.Variable],
    name: str = "_fast",
    success: str = "",
    failure: str = "None",
    same: str = "",
) -> str:
    """A def taking the values dict that accepts it when every value is already a 2-D
    float64 (or every one float32) array of the library's type (``_ndarray`` in the
    def's globals, with ``_float64``/``_float32`` its dtypes) of its declared shape
    with consistent sizes (and, with ``same``, that attribute equal on every value:
    PyTorch's device): then it returns success (by default the arrays in argument
    order), else failure.  Names are data: _names[i] is the i-th name."""
    lines = [f"def {name}(values):"]
    if variables:  # (a function of no variable takes no value: only the count is checked)
        lines.append("    try:")
        for i in range(len(variables)):
            lines.append(f"        _v{i} = values[_names[{i}]]")
            lines.append(f"        _r{i}, _c{i} = _v{i}.shape")
        lines += ["    except Exception:", f"        return {failure}"]
    tests = [f"len(values) != {len(variables)}"]
    tests += [f"type(_v{i}) is not _ndarray" for i in range(len(variables))]
    if variables:
        tests.append("(_v0.dtype is not _float64 and _v0.dtype is not _float32)")
        tests += [f"_v{i}.dtype is not _v0.dtype" for i in range(1, len(variables))]
        if same:
            tests += [f"_v{i}.{same} != _v0.{same}" for i in range(1, len(variables))]
    first: dict[object, str] = {}
    for i, var in enumerate(variables):
        for axis, dim in zip(("_r", "_c"), var.shape, strict=True):
            here = f"{axis}{i}"
            if isinstance(dim, sympy.Symbol):
                if dim in first:
                    tests.append(f"{here} != {first[dim]}")
                else:
                    first[dim] = here
            else:
                tests.append(f"{here} != {int(dim)}")  # type: ignore[call-overload]
    lines.append("    if (" + "\n            or ".join(tests) + "):")
    lines.append(f"        return {failure}")
    arrays = "".join(f"_v{i}, " for i in range(len(variables)))
    lines.append(f"    return {success.format(arrays=arrays) if success else f'({arrays})'}")
    return "\n".join(lines) + "\n"


def check_names(values: Mapping[str, Any], known: Mapping[str, Any], arguments: list[str]) -> None:
    """A call's values by name: none unknown (known: every variable of the function,
    a variable of wrt that f does not use included), none of the arguments missing."""
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise EvaluationError(
            f"compiled function: unknown argument {', '.join(unknown)} (it takes "
            f"{', '.join(arguments) or 'no argument'})"
        )
    missing = [name for name in arguments if name not in values]
    if missing:
        raise EvaluationError(f"compiled function: missing argument {', '.join(missing)}")


def float_names(values: list[Any]) -> list[str]:
    """The floating dtypes of the arrays among values, by name ("float32", …), whichever
    library made them (numpy, JAX, PyTorch); Python numbers and lists have none."""
    names = (str(getattr(v, "dtype", "")).removeprefix("torch.") for v in values)
    return [name for name in names if name.startswith(("float", "bfloat"))]


def single_precision(values: list[Any]) -> bool:
    """Whether a call computes in float32: every floating array given is float32 (and
    there is one); anything else computes in float64."""
    floats = float_names(values)
    return bool(floats) and all(name == "float32" for name in floats)


def positional(arguments: list[str]) -> EvaluationError:
    """The error of a compiled function called with positional arguments."""
    example = ", ".join(f"{name}=…" for name in arguments[:3]) + (
        ", …" if len(arguments) > 3 else ""
    )
    return EvaluationError(
        f"compiled function: give the arguments by name, fn({example}); fn.raw takes "
        f"arrays in the order {', '.join(arguments) or '(none)'}"
    )


def package(value: Any, results: list, gradients: int, hessian: bool) -> Any:
    """What fn(**values) returns: the value alone without wrt, else (value, gradients)
    or, with a Hessian, (value, gradients, hessian); results is the kernel's list."""
    if not gradients:
        return value
    grads = tuple(results[1 : 1 + gradients])
    return (value, grads, results[-1]) if hessian else (value, grads)


def singular(error: BaseException | None = None) -> EvaluationError:
    """The error of a compiled function whose matrix to invert is singular, quoting the
    library's error (by default the one being handled)."""
    quoted = error if error is not None else sys.exc_info()[1]
    return EvaluationError(
        f"compiled function: a matrix it inverts is singular for these values ({quoted})"
    )
