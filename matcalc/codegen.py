"""Numeric code: ``mc.compile(f)``, ``mc.compile(f, wrt=[...])``, ``hessian=True``.

The expressions are lowered to sympy (``lowering``: one assignment per node,
printed by a sympy NumPy printer that knows every node), planned
(``planning``: which array each line overwrites, which dead name it reuses),
and this module writes the function around them:

* the common subexpressions are the expression DAG's shared nodes (interning
  makes them the same object), so the forward pass's z and σ(z) are computed
  once and reused by the backward pass (and by the Hessian);
* ``fn.into(out, **values)`` writes the results into the caller's arrays,
  so a training loop can reuse them from call to call;
* the arguments of ``fn(**values)`` are checked by generated code (names,
  types, dtypes and sizes in a handful of comparisons, microseconds); any
  value the fast check does not accept as it is goes the careful way
  (conversion, or an error naming the argument);
* ``backend="jax"`` or ``"torch"`` hands the same results to ``backends``.

Every node is a line of its own (leaves, views and diag(v) excepted), so no
line nests deeper than one node's code whatever the expression's depth, and
every walk is a loop.  Names are data: the code's identifiers are only _v0, …
(arguments), _d0, … (sizes) and _t0, … (intermediates); a user's name is looked
up in a dict (``CompiledFunction.arrays``) or, in the standalone script, is a
string literal.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, overload

import numpy as np
import sympy

from . import backends as B
from . import expr as E
from . import lowering as L
from . import simplifier as s
from .dims import format_shape
from .engine import check_variable, grad
from .engine import hessian as hessian_of
from .errors import DerivativeError, EvaluationError, ShapeError
from .evaluator import bind_dims, fit_array
from .lowering import (
    DIMENSION_PREFIX,
    OPS,
    VARIABLE_PREFIX,
    Lines,
    Lowering,
    MatcalcNumPyPrinter,
    lower,
    lower_node,
)
from .planning import (
    KERNEL,
    OUT_PREFIX,
    check_names,
    check_source,
    define,
    package,
    plan,
    positional,
    single_precision,
    singular,
)  # fmt: skip

__all__ = [
    "CompiledFunction", "MatcalcNumPyPrinter", "OPS", "compile", "lower", "lower_node",
    "standalone_code",
]  # fmt: skip

# the modules whose names the printer may use, by the name it registers them under
# (scipy.special is imported when a function first needs it: L.special)
MODULES: dict[str, Callable[[], Any]] = {
    "numpy": lambda: np, "numpy.linalg": lambda: np.linalg, "scipy.special": L.special,
    "matcalc.lowering": lambda: L,
}  # fmt: skip
FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def _namespace(printer: MatcalcNumPyPrinter) -> dict[str, Any]:
    """The names the printed code uses, from the modules the printer registered."""
    namespace: dict[str, Any] = {}
    for module, names in printer.module_imports.items():
        for name in names:
            namespace[name] = getattr(MODULES[module](), name)
    return namespace


def _generate(
    outputs: Sequence[E.Expr],
    variables: Mapping[str, E.Variable],
    qualified: bool,
    into: bool = False,
    lowered: tuple[list[sympy.Basic], Lines, Lowering] | None = None,
):
    """(function, its source, the lowering): one def over _v0, _v1, … returning a list
    (with ``into``, a def over _o0, … then _v0, … writing the results there).  lowered
    is ``lower(outputs, variables)`` when the caller has it (planning leaves it as it
    is, so the plain and the into kernel can share one)."""
    outputs_lowered, lines, lowering = lowered or lower(outputs, variables)
    printer = MatcalcNumPyPrinter(
        {"fully_qualified_modules": qualified, "inline": True}, kernels=not qualified
    )
    parameters = [str(lowering.symbols[name]) for name in lowering.names]
    dims = [f"{symbol} = {printer.doprint(value)}" for symbol, value in lowering.dim_lines]
    body = plan(lines, outputs_lowered, lowering, printer, into)
    if into:
        parameters = [f"{OUT_PREFIX}{k}" for k in range(len(outputs))] + parameters
    statements = [*dims, *body.statements, f"return [{', '.join(body.returns)}]"]
    # numpy's inverse of a singular matrix raises from inside numpy: a compiled
    # function says what happened in its own words (the standalone script is numpy's)
    inverts = not qualified and "inv" in printer.module_imports.get("numpy.linalg", ())
    if inverts:
        handler = ["except _LinAlgError:", "    raise _singular() from None"]
        statements = ["try:", *(f"    {line}" for line in statements), *handler]
    source_lines = [
        f"def {KERNEL}({', '.join(parameters)}):",
        *(f"    {line}" for line in statements),
    ]
    source = "\n".join(source_lines) + "\n"
    namespace = _namespace(printer)
    if inverts:
        namespace.update({"_LinAlgError": np.linalg.LinAlgError, "_singular": singular})
    if qualified:
        namespace.update({"numpy": np, "scipy": importlib.import_module("scipy")})
        L.special()  # the script's scipy.special.expit
    function = define(source, KERNEL, namespace)
    return function, source, lowering


# -- the argument check ----------
def _call_source(variables: list[E.Variable], scalar: bool, grads: int, hessian: bool) -> str:
    """fn(**values) in one generated def: the check of _check_source, the kernel and the
    results packed as the caller gets them; anything else goes the careful way (_slow)."""
    value = "(_r := _kernel({arrays}))[0]" + (".item()" if scalar else "")
    if grads:
        gradients = "".join(f"_r[{1 + k}], " for k in range(grads))
        value += f", ({gradients})" + (f", _r[{1 + grads}]" if hessian else "")
    return check_source(variables, "_call", value, "_slow(values)")


def _outcheck_source(result_dims: list[tuple]) -> str:
    """A def (out, arrays) → whether out is a list (or tuple) of distinct writable
    ndarrays owning their memory, each of its result's shape and the arguments' dtype."""
    count = len(result_dims)
    names = [f"_o{k}" for k in range(count)]
    lines = ["def _out_ok(out, _a):", "    try:"]
    lines.append(f"        ({''.join(n + ', ' for n in names)}) = out")
    lines += ["    except Exception:", "        return False"]
    tests = ["type(out) is not list and type(out) is not tuple"]
    dtype = "(_a[0].dtype if _a else _float64)"
    for name, dims in zip(names, result_dims, strict=True):
        shape = ", ".join(
            str(d) if isinstance(d, int) else f"_a[{d[0]}].shape[{d[1]}]" for d in dims
        )
        tests += [
            f"type({name}) is not _ndarray", f"{name}.dtype is not {dtype}",
            f"{name}.base is not None", f"{name}.shape != ({shape})",
            f"not {name}.flags.writeable",
        ]  # fmt: skip
    if count > 1:
        tests.append(f"len({{{', '.join(f'id({n})' for n in names)}}}) != {count}")
    lines.append("    return not (" + "\n            or ".join(tests) + ")")
    return "\n".join(lines) + "\n"


# -- the compiled function ----------
class CompiledFunction:
    """The generated numpy code of f (and its derivatives), called by name.

    * ``fn(**values)``: with ``wrt``, ``(value, grads)`` (grads in wrt order, each of
      its variable's shape); with ``hessian=True``, ``(value, grads, hessian)``;
      without ``wrt``, the value alone.  A scalar value is a float, anything else a
      2-D array.  Float32 arguments (all of them) give float32 results; any other
      numbers are computed in float64.
    * ``fn.into(out, **values)``: the same, written into the arrays of ``out``
      (``fn.allocate(**values)`` makes them) and returned in the same structure.
    * ``fn.raw(*arrays)`` / ``fn.raw_into(out, *arrays)``: no checks; the arrays in
      ``fn.arguments`` order, 2-D, of one float dtype; the results as a list
      ``[value, *grads, hessian]`` (1×1 for a scalar value).
    * ``fn.source`` (and ``fn.into_source``) is the generated Python source (the into
      kernel is written on the first use of ``fn.into``, ``fn.raw_into`` or
      ``fn.into_source``: a function never called that way does not pay for it);
      ``fn.internal_names`` maps each argument's name to its name in the source
      (``_v0``, ``_v1``, …; names are data, looked up in a dict, never code).
    """

    def __init__(
        self,
        f: E.Expr,
        wrt: Sequence[E.Variable],
        raw,
        source: str,
        names: list[str],
        internal_names: Mapping[str, str] | None = None,
        *,
        raw_into=None,
        into_source: str = "",
        into_kernel: Callable[[], tuple[Callable, str]] | None = None,
        results: Sequence[E.Expr] = (),
        hessian: bool = False,
    ):
        self.function = f
        self.wrt = list(wrt)
        self.raw = raw
        self.source = source
        # the into kernel and its source: given, or made by into_kernel when first asked for
        self._into: tuple[Callable | None, str] | None = (
            (raw_into, into_source) if raw_into is not None or into_kernel is None else None
        )
        self._into_kernel = into_kernel
        self.arguments = names
        self.internal_names = dict(internal_names or {})
        self.variables = {**E.variables(f), **{v.name: v for v in wrt}}
        self.results = list(results) or [f]  # the expressions raw returns, in order
        self.hessian = hessian
        self.scalar = f.is_scalar
        ordered = [self.variables[name] for name in names]
        # each result's sizes: a literal, or (argument index, axis) to read it from
        where: dict[object, tuple[int, int]] = {}
        for i, var in enumerate(ordered):
            for axis, dim in enumerate(var.shape):
                where.setdefault(dim, (i, axis))
        self._result_dims = [
            tuple(dim if isinstance(dim, int) else where[dim] for dim in e.shape)
            for e in self.results
        ]
        namespace: dict[str, Any] = {
            "_names": tuple(names), "_ndarray": np.ndarray,
            "_float64": FLOATS[0], "_float32": FLOATS[1],
        }  # fmt: skip
        # a declared property (symmetric, probability) is checked on the value: careful path
        careful = any(var.symmetric or var.probability for var in ordered)
        self._fast = (
            (lambda values: None) if careful else define(check_source(ordered), "_fast", namespace)
        )
        self._out_ok = define(_outcheck_source(self._result_dims), "_out_ok", namespace)
        namespace.update({"_kernel": raw, "_slow": self._slow})
        grads = len(self.wrt)
        self._call = (
            self._slow
            if careful
            else define(_call_source(ordered, self.scalar, grads, hessian), "_call", namespace)
        )

    def __call__(self, /, *arguments: Any, **values: Any):
        if arguments:
            raise positional(self.arguments)
        return self._call(values)

    def _into_pair(self) -> tuple[Callable | None, str]:
        if self._into is None:
            assert self._into_kernel is not None  # _into is None only while it can be made
            self._into = self._into_kernel()
        return self._into

    @property
    def raw_into(self) -> Callable | None:
        """The into kernel: ``fn.raw_into(*out, *arrays)`` (see the class docstring)."""
        return self._into_pair()[0]

    @property
    def into_source(self) -> str:
        """The generated Python source of the into kernel."""
        return self._into_pair()[1]

    def _slow(self, values: Mapping[str, Any]):
        """fn(**values) for values the generated check does not take as they are."""
        return self._package(self.raw(*self.arrays(values)))

    def into(self, out: Sequence[np.ndarray], /, **values: Any):
        """The results written into out (a list of arrays of the results' shapes and
        the arguments' dtype, e.g. from ``allocate``), returned as ``fn(**values)``
        returns them.  No array of out may share memory with an argument or another."""
        if self.raw_into is None:  # pragma: no cover - every compile makes one
            raise EvaluationError("compiled function: this function has no into form")
        arrays = self._fast(values)
        if arrays is None:
            arrays = self.arrays(values)
        self._check_out(out, arrays)
        return self._package(self.raw_into(*out, *arrays))

    def allocate(self, /, **values: Any) -> list[np.ndarray]:
        """Uninitialised arrays for ``into``: one per result, of its shape and dtype."""
        arrays = self._fast(values)
        if arrays is None:
            arrays = self.arrays(values)
        dtype = arrays[0].dtype if arrays else FLOATS[0]
        return [np.empty(shape, dtype) for shape in self._result_shapes(arrays)]

    def _result_shapes(self, arrays: Sequence[np.ndarray]) -> list[tuple[int, ...]]:
        """Each result's shape, its sizes read from the arguments' shapes."""
        return [
            tuple(dim if isinstance(dim, int) else arrays[dim[0]].shape[dim[1]] for dim in dims)
            for dims in self._result_dims
        ]

    def _check_out(self, out: Sequence[np.ndarray], arrays: Sequence[np.ndarray]) -> None:
        """out holds one writable array per result, of its shape and the arguments' dtype,
        sharing no memory with an argument or another (results are written while
        arguments are still being read).  The quick test (generated): distinct arrays
        owning their memory, as ``allocate`` makes them, none of them an argument's."""
        if self._out_ok(out, arrays):
            mine = {id(array) for array in out}
            for argument in arrays:
                owner = argument if argument.base is None else _owner(argument)
                if id(owner) in mine or not isinstance(owner, np.ndarray):
                    break  # an argument in a result's memory, or memory numpy does not own
            else:
                return
        self._check_out_carefully(out, arrays, arrays[0].dtype if arrays else FLOATS[0])

    def _check_out_carefully(
        self, out: Sequence[np.ndarray], arrays: Sequence[np.ndarray], dtype: np.dtype
    ) -> None:
        """The same conditions, each with its own error; views are allowed when numpy
        finds that they share no memory."""
        shapes = self._result_shapes(arrays)
        if not isinstance(out, list | tuple) or len(out) != len(shapes):
            raise EvaluationError(
                f"compiled function: out must be a list of {len(shapes)} arrays (value"
                f"{', gradients' if self.wrt else ''}{', hessian' if self.hessian else ''}); "
                "fn.allocate(**values) makes one"
            )
        for k, (array, shape) in enumerate(zip(out, shapes, strict=True)):
            if not isinstance(array, np.ndarray) or array.shape != shape or array.dtype != dtype:
                got = (
                    f"{array.shape} {array.dtype}"
                    if isinstance(array, np.ndarray)
                    else type(array).__name__
                )
                raise EvaluationError(
                    f"compiled function: out[{k}] must be a {dtype} array of shape {shape}, "
                    f"got {got}"
                )
            if not array.flags.writeable:
                raise EvaluationError(f"compiled function: out[{k}] is read-only")
            if any(np.shares_memory(array, other) for other in [*arrays, *out[:k]]):
                raise EvaluationError(
                    f"compiled function: out[{k}] shares memory with an argument or another "
                    "result array; the results would overwrite numbers still to be read"
                )

    def _package(self, results: list[np.ndarray]):
        value = results[0].item() if self.scalar else results[0]
        return package(value, results, len(self.wrt), self.hessian)

    def arrays(self, values: Mapping[str, Any]) -> list[np.ndarray]:
        """The arguments, checked: every variable by name, each real and of its declared
        shape, as 2-D arrays of one float dtype (float32 when every array given is
        float32, else float64)."""
        check_names(values, self.variables, self.arguments)
        for name in self.arguments:
            _refuse_complex(name, values[name])
        arrays = {name: fit_array(self.variables[name], values[name]) for name in self.arguments}
        try:
            bind_dims(self.variables, arrays, {})
        except ShapeError as error:
            raise ShapeError(f"compiled function: {error}".replace("evaluate: ", "")) from None
        dtype = _common_float([values[name] for name in self.arguments])
        return [arrays[name].astype(dtype, copy=False) for name in self.arguments]


def _owner(array: np.ndarray) -> object:
    """The object owning an array's memory (the end of its chain of bases)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array if array.base is None else array.base


def _common_float(values: list[Any]) -> np.dtype:
    """float32 when every array given with a float dtype is float32 (and there is one),
    else float64: a float32 computation stays float32, anything else is float64."""
    return FLOATS[1] if single_precision(values) else FLOATS[0]


def _refuse_complex(name: str, value: Any) -> None:
    """matcalc's functions are real: a complex value would lose its imaginary part
    silently in a float conversion, so it is refused (even with zero imaginary part)."""
    if np.iscomplexobj(value):
        raise EvaluationError(
            f"compiled function: value of {name} is complex; matcalc computes with real numbers"
        )


@overload
def compile(  # noqa: A001 - mc.compile, as API.md names it
    f: object,
    wrt: Sequence[E.Variable] | E.Variable | None = (),
    *,
    hessian: bool = False,
    backend: Literal["numpy"] = "numpy",
) -> CompiledFunction: ...
@overload
def compile(  # noqa: A001
    f: object,
    wrt: Sequence[E.Variable] | E.Variable | None = (),
    *,
    hessian: bool = False,
    backend: Literal["jax", "torch"],
) -> B.BackendFunction: ...
def compile(  # noqa: A001
    f: object,
    wrt: Sequence[E.Variable] | E.Variable | None = (),
    *,
    hessian: bool = False,
    backend: str = "numpy",
) -> CompiledFunction | B.BackendFunction:
    """Generated numpy code for f and, with wrt, its gradients; with ``hessian=True``
    (one vector variable in wrt) also ∂²f/∂x∂xᵀ, all sharing one forward pass.

    ``fn(**values)`` returns the value of f (any shape) without wrt,
    ``(value, grads)`` with it and ``(value, grads, hessian)`` with ``hessian=True``.
    ``backend="jax"`` or ``"torch"`` prints the same code for that library
    (``backends.BackendFunction``); numpy's is a ``CompiledFunction``."""
    library = B.backend_named(backend)
    f = E.as_expr(f, "compile")
    if not isinstance(hessian, bool):
        raise DerivativeError(f"compile: hessian must be True or False, got {hessian!r}")
    if wrt is None:
        wrt = ()
    elif isinstance(wrt, E.Expr):  # one variable, as mc.grad takes it
        wrt = [wrt]
    wrt = [check_variable("compile", v) for v in wrt]
    if wrt and not f.is_scalar:
        raise ShapeError(
            f"compile: gradients need a scalar f, but {E.describe(f)} is {format_shape(f.shape)}"
        )
    if hessian and len(wrt) != 1:
        raise DerivativeError(
            f"compile: hessian=True needs exactly one variable in wrt (a vector), got {len(wrt)}"
        )
    variables = E.variables(f)
    for v in wrt:
        if v.name not in variables:
            variables[v.name] = v  # its gradient is zero, but it is still an argument
    results = [s.simplify(f)]
    if wrt:
        results += list(grad(f, wrt))
    if hessian:
        results.append(hessian_of(f, wrt[0]))
    if library is not None:
        return B.compile_for(library, f, wrt, results, variables, hessian)
    lowered = lower(results, variables)
    function, source, lowering = _generate(results, variables, qualified=False, lowered=lowered)
    internal = {name: str(symbol) for name, symbol in lowering.symbols.items()}

    def into_kernel() -> tuple[Callable, str]:  # written on the first use of fn.into
        into, into_source, _ = _generate(results, variables, False, into=True, lowered=lowered)
        return into, into_source

    return CompiledFunction(
        f, wrt, function, source, lowering.names, internal,
        into_kernel=into_kernel, results=results, hessian=hessian,
    )  # fmt: skip


# -- the standalone script (``matcalc code``) ----------
def standalone_code(f: E.Expr, x: E.Variable) -> str:
    """A self-contained numpy script: the value and gradient of f, and a
    central-difference check of that gradient on random numbers.

    Its only identifiers are its own: the arguments are _v0, _v1, … (their
    names appear once, as string literals in ARGUMENT_NAMES), the sizes _d0, …,
    and the check's locals start with _matcalc_, so no name can change the code."""
    variables = E.variables(f)
    _, source, lowering = _generate([s.simplify(f), grad(f, x)], variables, qualified=True)
    names = lowering.names
    lines = [
        '"""Value and gradient of a function, and a central-difference check of the',
        "gradient on random numbers; generated by matcalc.",
        "",
        "f_and_gradient(*arrays) takes the arguments in the order of ARGUMENT_NAMES;",
        'f_and_gradient_by_name(**arrays) takes them by name."""',
        "import numpy",
        "import scipy.special",
        "",
        "# the arguments' names, in f_and_gradient's order (data, never code)",
        f"ARGUMENT_NAMES = ({''.join(str.__repr__(name) + ', ' for name in names)})",
        f"GRADIENT_OF = {names.index(x.name)}  # the position of the variable differentiated",
        "",
        "",
        *_script_function(source, [variables[name] for name in names]),
        "",
        "",
        "def f_and_gradient_by_name(**arrays):",
        '    """f_and_gradient with its arguments given by name."""',
        "    return f_and_gradient(*(arrays[name] for name in ARGUMENT_NAMES))",
        "",
        "",
        *_script_check([variables[name] for name in names]),
        "",
        "",
        'if __name__ == "__main__":',
        '    print(f"relative error of the gradient: {check_gradient():.2e}")',
    ]
    return "\n".join(lines) + "\n"


def _script_function(source: str, arguments: list[E.Variable]) -> list[str]:
    """The generated def, renamed f_and_gradient, returning a (value, gradient) tuple; a
    vector given as a 1-D array is taken as the column it stands for (numpy would
    broadcast a (n,) array against a column into a matrix: a wrong answer)."""
    lines = source.rstrip().splitlines()
    parameters = ", ".join(f"{VARIABLE_PREFIX}{i}" for i in range(len(arguments)))
    assert lines[0] == f"def {KERNEL}({parameters}):", lines[0]
    assert lines[-1].startswith("    return [") and lines[-1].endswith("]"), lines[-1]
    shaping = []
    for i, var in enumerate(arguments):
        name = f"{VARIABLE_PREFIX}{i}"
        if var.kind == "vector":
            shaping.append(f"    {name} = numpy.asarray({name}, dtype=float).reshape(-1, 1)")
        elif var.kind == "matrix":
            shaping.append(f"    {name} = numpy.asarray({name}, dtype=float)")
            shaping.append(f"    if {name}.ndim != 2:")
            shaping.append(f"        raise ValueError(f'{{ARGUMENT_NAMES[{i}]}} must be a matrix')")
    return [
        f"def f_and_gradient({parameters}):",
        '    """(value of f, its gradient), the arguments in the order of ARGUMENT_NAMES."""',
        *shaping,
        *lines[1:-1],
        "    return (" + lines[-1][len("    return [") : -1] + ")",
    ]


def _script_check(arguments: list[E.Variable]) -> list[str]:
    """check_gradient: random arguments of sizes 3, 4, …, the gradient against
    (f(x + h eᵢ) − f(x − h eᵢ)) / 2h entry by entry, as max |error| / max(1, max |numeric|)."""
    sizes: dict[sympy.Symbol, str] = {}
    for var in arguments:
        for dim in var.shape:
            if isinstance(dim, sympy.Symbol) and dim not in sizes:
                sizes[dim] = f"{DIMENSION_PREFIX}{len(sizes)}"

    def size(dim: object) -> str:
        return sizes[dim] if isinstance(dim, sympy.Symbol) else str(int(dim))  # type: ignore[call-overload]

    return [
        "def check_gradient(seed=0, step=1e-6):",
        '    """Compare the gradient with central differences; returns the relative error."""',
        "    _matcalc_rng = numpy.random.default_rng(seed)",
        *(f"    {symbol} = {3 + i}" for i, symbol in enumerate(sizes.values())),
        "    _matcalc_arrays = [",
        *(
            f"        _matcalc_rng.uniform(0.5, 1.5, size=({size(var.rows)}, {size(var.cols)})),"
            for var in arguments
        ),
        "    ]",
        "    _matcalc_value, _matcalc_gradient = f_and_gradient(*_matcalc_arrays)",
        "    _matcalc_x = _matcalc_arrays[GRADIENT_OF]",
        "    _matcalc_numeric = numpy.zeros_like(_matcalc_x)",
        "    for _matcalc_index in numpy.ndindex(_matcalc_x.shape):",
        "        _matcalc_x[_matcalc_index] += step",
        "        _matcalc_up = f_and_gradient(*_matcalc_arrays)[0]",
        "        _matcalc_x[_matcalc_index] -= 2 * step",
        "        _matcalc_down = f_and_gradient(*_matcalc_arrays)[0]",
        "        _matcalc_x[_matcalc_index] += step",
        "        _matcalc_difference = (_matcalc_up - _matcalc_down).item()",
        "        _matcalc_numeric[_matcalc_index] = _matcalc_difference / (2 * step)",
        "    _matcalc_scale = max(1.0, numpy.max(numpy.abs(_matcalc_numeric)))",
        "    return numpy.max(numpy.abs(_matcalc_numeric - _matcalc_gradient)) / _matcalc_scale",
    ]
