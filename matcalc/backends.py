"""The same derived code for JAX and PyTorch: ``mc.compile(..., backend="jax" | "torch")``.

The lowering (``lowering.lower``: one assignment per node, the stable forms of
σ, softplus and logsumexp, sums as products with a ones vector, the Gram form of
Aᵀ diag(s) A, no dense diagonal) is the one numpy's code is printed from; only
the printer changes.  Each library's printer is sympy's own for that library
(``JaxPrinter``, ``TorchPrinter``) with the array operations mixed in
(``lowering.ArrayOpsPrinter``), spelling numpy's names the library's way:

* JAX: ``jax.numpy`` mirrors numpy's names and signatures, so the names are all
  that changes; the function is jitted (``jax.jit``), so it runs on a GPU or TPU
  where JAX has one and shards over devices with JAX's own sharding (README:
  "JAX, PyTorch, and past one machine").
* PyTorch: ``torch`` takes ``dim=``/``keepdim=`` where numpy takes
  ``axis=``/``keepdims=``, has no reduction over all entries that keeps two
  axes, and its binary functions take no Python number; those calls are
  written here, and the catalogue gives ``torch_code`` where a function's numpy
  template has no torch spelling.  Constant arrays take the arguments' dtype and
  device, so CUDA tensors stay on their device.

Arrays are immutable in JAX and tracked by autograd in PyTorch, so these
backends plan no in-place updates (numpy's code does).  JAX and PyTorch are
imported when a function is first compiled for them, never by ``import matcalc``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

from . import expr as E
from . import lowering as L
from .dims import format_shape
from .errors import EvaluationError, ShapeError
from .evaluator import bind_dims, fit_array
from .planning import (
    KERNEL,
    check_names,
    check_source,
    define,
    float_names,
    package,
    plan,
    positional,
    singular,
)  # fmt: skip


# -- the backends ----------
@dataclass(frozen=True)
class Backend:
    """One array library the compiled code can run on."""

    name: str  # compile(..., backend=name), and the pip extra that installs it
    imports: tuple[str, ...]  # the modules the printed names live in; the first is the library
    printer: tuple[str, str]  # (module, class) of its printer, imported on first use

    def load(self) -> dict[str, ModuleType]:
        """The generated code's globals: the library by its top-level name."""
        try:
            modules = [importlib.import_module(name) for name in self.imports]
        except ImportError:
            raise EvaluationError(
                f"compile: backend={self.name!r} needs {self.imports[0]}, which is not "
                f"installed (pip install 'matcalc-chainrule[{self.name}]')"
            ) from None
        return {self.imports[0]: modules[0]}

    def printer_class(self) -> type[L.ArrayOpsPrinter]:
        module, name = self.printer
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


BACKENDS: dict[str, Backend] = {
    "jax": Backend(
        "jax", ("jax", "jax.numpy", "jax.scipy.special"),
        ("matcalc.jax_printer", "MatcalcJaxPrinter"),
    ),
    "torch": Backend(
        "torch", ("torch", "torch.linalg", "torch.special"),
        ("matcalc.torch_printer", "MatcalcTorchPrinter"),
    ),
}  # fmt: skip


def backend_named(name: object) -> Backend | None:
    """The backend called name (None for numpy, codegen's own); an unknown name is refused."""
    if name == "numpy":
        return None
    if not isinstance(name, str) or name not in BACKENDS:
        known = ", ".join(repr(n) for n in ("numpy", *BACKENDS))
        raise EvaluationError(f"compile: unknown backend {name!r} (choose one of {known})")
    return BACKENDS[name]


def generate(
    backend: Backend, outputs: Sequence[E.Expr], variables: Mapping[str, E.Variable]
) -> tuple[Callable, str, L.Lowering]:
    """(kernel, its source, the lowering): one def over _v0, _v1, … returning the list
    of outputs, printed for the backend's library with its names fully qualified."""
    namespace = backend.load()  # the library first: a missing one is the error to give
    lowered, lines, lowering = L.lower(outputs, variables)
    printer = backend.printer_class()({"fully_qualified_modules": True, "inline": True})
    parameters = [str(lowering.symbols[name]) for name in lowering.names]
    dims = [f"{symbol} = {printer.doprint(value)}" for symbol, value in lowering.dim_lines]
    body = plan(lines, lowered, lowering, printer, False)
    source_lines = [
        f"def {KERNEL}({', '.join(parameters)}):",
        *(f"    {line}" for line in dims + body.statements),
        f"    return [{', '.join(body.returns)}]",
    ]
    source = "\n".join(source_lines) + "\n"
    return define(source, KERNEL, namespace), source, lowering


# -- the compiled function ----------
class BackendFunction:
    """The generated JAX or PyTorch code of f (and its derivatives), called by name.

    * ``fn(**values)``: as numpy's ``CompiledFunction`` — the value without ``wrt``,
      ``(value, grads)`` with it, ``(value, grads, hessian)`` with ``hessian=True`` —
      but every result is the library's array, on the arguments' device (a scalar
      value is a 0-d array: turning it into a float would wait for the device).
      Arguments may be the library's arrays or anything numpy reads; a vector may
      be 1-D.  Float32 arguments (all of them) compute in float32, others in
      float64.  JAX: jitted, compiled once per shape and dtype.  PyTorch: run
      eagerly under ``torch.no_grad()`` (the gradients are the derived ones, so
      autograd records nothing).
    * ``fn.kernel(*arrays)``: the bare generated function (2-D arrays in
      ``fn.arguments`` order, results as a list, 1×1 for a scalar value), for use
      inside the caller's own ``jax.jit``, ``jax.vmap``, ``shard_map`` or
      ``torch.compile``; ``fn.raw`` is it jitted (JAX) or as it is (PyTorch).
    * ``fn.source`` is the generated source; ``fn.backend`` the library's name.
    """

    def __init__(
        self,
        f: E.Expr,
        wrt: Sequence[E.Variable],
        backend: Backend,
        kernel: Callable,
        source: str,
        names: list[str],
        results: Sequence[E.Expr],
        hessian: bool,
    ):
        self.function = f
        self.wrt = list(wrt)
        self.backend = backend.name
        self.kernel = kernel
        self.source = source
        self.arguments = names
        self.variables = {**E.variables(f), **{v.name: v for v in wrt}}
        self.results = list(results)
        self.hessian = hessian
        self.scalar = f.is_scalar
        library = self._library = backend.load()[backend.imports[0]]
        if backend.name == "jax":
            self.raw = library.jit(kernel)
            packed = library.jit(lambda *arrays: self._package(kernel(*arrays)))
            native = type(library.numpy.zeros((1, 1)))
            float64, float32 = np.dtype(np.float64), np.dtype(np.float32)
        else:
            self.raw = kernel
            packed = self._torch_call
            native, float64, float32 = library.Tensor, library.float64, library.float32
        self._packed = packed
        # fn(**values): a generated check accepts the library's own 2-D arrays of the
        # declared shapes and one float dtype in a few comparisons (microseconds; a
        # Python check per call cost 2–3× a small network's step) and calls the function;
        # anything else goes the careful way.  A declared property is checked on the
        # value: always the careful way.
        ordered = [self.variables[name] for name in names]
        namespace = {
            "_names": tuple(names), "_ndarray": native, "_float64": float64,
            "_float32": float32, "_packed": packed, "_slow": self._slow,
        }  # fmt: skip
        careful = any(var.symmetric or var.probability for var in ordered)
        self._call = (
            self._slow
            if careful
            else define(check_source(ordered, "_call", "_packed({arrays})", "_slow(values)",
                                     same="device" if backend.name == "torch" else ""),
                        "_call", namespace)
        )  # fmt: skip

    def __call__(self, /, *arguments: Any, **values: Any):
        if arguments:
            raise positional(self.arguments)
        return self._call(values)

    def _slow(self, values: Mapping[str, Any]):
        return self._packed(*self.arrays(values))

    def _torch_call(self, *arrays: Any):
        library = self._library
        try:
            with library.no_grad():
                return self._package(self.kernel(*arrays))
        except library.linalg.LinAlgError as error:  # torch.linalg.inv of a singular matrix
            raise singular(error) from None

    def _package(self, results: list):
        value = results[0].reshape(()) if self.scalar else results[0]
        return package(value, results, len(self.wrt), self.hessian)

    def arrays(self, values: Mapping[str, Any]) -> list:
        """The arguments as the library's 2-D arrays of one float dtype, checked: every
        variable by name, real, of its declared shape with consistent sizes, and any
        declared property (symmetric, probability) holding.  Values that are not the
        library's arrays (numpy arrays, lists, numbers) go to the device of those that
        are."""
        check_names(values, self.variables, self.arguments)
        native = {name: self._is_native(values[name]) for name in self.arguments}
        device = self._device({n: values[n] for n in self.arguments if native[n]})
        arrays = {
            name: self._shaped(
                name, values[name] if native[name] else self._convert(name, values[name], device)
            )
            for name in self.arguments
        }
        try:
            shapes = {n: SimpleNamespace(shape=tuple(a.shape)) for n, a in arrays.items()}
            bind_dims({n: self.variables[n] for n in self.arguments}, shapes, {})  # type: ignore[arg-type]
        except ShapeError as error:
            raise ShapeError(f"compiled function: {error}".replace("evaluate: ", "")) from None
        # the dtype from the arrays given, as numpy's compiled functions choose it: a
        # Python number or list beside float32 arrays does not make them float64
        dtype = self._dtype([values[n] for n in self.arguments])
        for name in self.arguments:
            var = self.variables[name]
            if var.symmetric or var.probability:
                fit_array(var, self._to_numpy(name, arrays[name]))  # its error names the property
        return [self._cast(arrays[name], dtype) for name in self.arguments]

    def _is_native(self, value: Any) -> bool:
        library = self._library
        if self.backend == "torch":
            return isinstance(value, library.Tensor)
        return isinstance(value, library.Array)

    def _device(self, natives: Mapping[str, Any]) -> Any:
        """The one device of the library's arrays given (None: none given, or JAX, whose
        arrays say where they live themselves); arrays on several are refused."""
        if self.backend != "torch" or not natives:
            return None
        devices = {str(array.device): name for name, array in natives.items()}
        if len(devices) > 1:
            where = ", ".join(f"{name} on {device}" for device, name in devices.items())
            raise EvaluationError(
                f"compiled function: the arguments are on different devices ({where}); "
                "move them to one with .to(device)"
            )
        return next(iter(natives.values())).device

    def _convert(self, name: str, value: Any, device: Any) -> Any:
        """A value that is not the library's array (numpy's, a list, a number) as one."""
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as error:
            raise EvaluationError(
                f"compiled function: value of {name} is not an array of numbers ({error})"
            ) from None
        if array.dtype.kind not in "biuf":
            kind = "complex" if array.dtype.kind == "c" else f"of dtype {array.dtype}"
            raise EvaluationError(
                f"compiled function: value of {name} is {kind}; matcalc computes with real numbers"
            )
        if self.backend == "jax":
            return array
        # torch reads numpy's memory in place: it takes no negative strides, and warns of
        # a read-only array, so such arrays are copied first
        if not array.flags.writeable or any(stride < 0 for stride in array.strides):
            array = array.copy()
        tensor = self._library.from_numpy(array)
        return tensor if device is None else tensor.to(device)

    def _shaped(self, name: str, value: Any) -> Any:
        """value 2-D as its variable is: (n,) is a column vector (or a row, for a row
        variable), as numpy's compiled functions read it."""
        var = self.variables[name]
        complex_ = value.dtype.is_complex if self.backend == "torch" else value.dtype.kind == "c"
        if complex_:
            raise EvaluationError(
                f"compiled function: value of {name} is complex; matcalc computes with real numbers"
            )
        if value.ndim == 0:
            value = value.reshape(1, 1)
        elif value.ndim == 1 and 1 in var.shape:
            value = value.reshape(-1, 1) if var.cols == 1 else value.reshape(1, -1)
        if value.ndim != 2:
            raise ShapeError(
                f"compiled function: {name} is {format_shape(var.shape)} but its value has "
                f"shape {tuple(value.shape)}"
            )
        return value

    def _dtype(self, values: list) -> object:
        """float32 when every floating array given (numpy's, JAX's or PyTorch's) is
        float32, else float64, as numpy's compiled functions choose.  JAX without its
        64-bit mode computes in float32: there a float64 array given is refused rather
        than silently rounded, and values with no precision of their own (lists,
        numbers, integers, float16) compute in float32."""
        floats = float_names(values)
        single = bool(floats) and all(name == "float32" for name in floats)
        if self.backend == "torch":
            return self._library.float32 if single else self._library.float64
        if single or self._library.dtypes.canonicalize_dtype(np.float64) == np.float64:
            return np.float32 if single else np.float64
        if "float64" in floats:
            raise EvaluationError(
                "compiled function: float64 arrays given, but JAX's 64-bit mode is off "
                "(JAX would round them to float32): pass float32 arrays, or call "
                'jax.config.update("jax_enable_x64", True) first'
            )
        return np.float32

    def _cast(self, array: Any, dtype: object):
        if self.backend == "torch":
            return array.to(dtype)
        return self._library.numpy.asarray(array, dtype=dtype)

    def _to_numpy(self, name: str, array: Any) -> np.ndarray:
        """The value of a variable with a declared property, read to check it: inside a
        JAX transformation there is no value to read, which is said."""
        try:
            if self.backend == "torch":
                return array.detach().cpu().numpy()  # type: ignore[no-any-return]
            return np.asarray(array)
        except Exception:
            var = self.variables[name]
            declared = "symmetric" if var.symmetric else "a probability vector"
            raise EvaluationError(
                f"compiled function: {name} is declared {declared}, which fn(**values) "
                "checks on its value, and its value cannot be read here (inside jax.jit "
                "or another transformation?); call fn.kernel inside transformations"
            ) from None


def compile_for(
    backend: Backend,
    f: E.Expr,
    wrt: Sequence[E.Variable],
    results: Sequence[E.Expr],
    variables: Mapping[str, E.Variable],
    hessian: bool,
) -> BackendFunction:
    """The results (f, its gradients, its Hessian) as one function for the backend."""
    kernel, source, lowering = generate(backend, results, variables)
    return BackendFunction(f, wrt, backend, kernel, source, lowering.names, results, hessian)
