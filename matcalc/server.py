"""The local web page: ``matcalc serve`` (also ``python -m matcalc serve``).

One page (``matcalc/web/index.html``, with KaTeX vendored beside it, so it works
offline) and the JSON endpoints it calls:

- ``GET /`` the page, ``GET /static/…`` its files, ``GET /api/health`` the version,
  the limits and whether pdflatex is installed.
- ``POST /api/parse``: the formula typeset, the syntax it was read in and each
  variable with its shape; ``/api/derive``: the derivative, its steps and their
  LaTeX; ``/api/check``: the verdict on an answer or a whole proof;
  ``/api/code``: numpy code with its gradient check; ``/api/pdf``: the
  derivation as a PDF (pdflatex).

Each POST takes one JSON object of the FIELDS below and answers 200 with JSON (a
PDF for ``/api/pdf``), or an error status (STATUS) with
``{"error": {"kind": ..., "message": ..., "field": ..., "position": ...}}``; a
parse error carries its position, line and column for a caret.  Formulas are
read by ``mc.parse``, never evaluated.  Each computation runs in a worker
process under a time limit: past it the worker is killed, a fresh one takes its
place, and the request answers 504.  The page puts what the server says into
the DOM only as text or through KaTeX (trust off), never as HTML.
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import json
import math
import multiprocessing
import os
import queue
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from . import engine, stepwise
from . import expr as E
from .builder import MAX_LENGTH, PROPERTIES, checked_shape, convention
from .check import check
from .codegen import standalone_code
from .derivation import Derivation, Step, Words
from .errors import LatexError, MatcalcError, ParseError, ShapeError
from .names import shown
from .notation import latex_name
from .parse import SYNTAXES, declarations, parse, parse_with_syntax
from .printing import latex, text
from .proof import check_proof

if sys.platform != "win32":
    import resource

DEFAULT_PORT = 8765
TIME_LIMIT = 10.0  # seconds for one computation
CLIENT_CHECK = 0.1  # seconds between looks at whether the client still waits
MAX_BODY = 256 * 1024  # bytes of one request
MAX_FORMULA = MAX_LENGTH  # characters, as mc.parse allows
MAX_ANSWER = 20_000  # characters of an answer or a proof
WORKER_MEMORY = 4 * 1024**3  # bytes of address space for one worker
WEB = Path(__file__).parent / "web"

# name: (type, the most characters or entries, default)
FIELDS: dict[str, tuple[type[str] | type[dict] | type[list], int, Any]] = {
    "formula": (str, MAX_FORMULA, ""),
    "syntax": (str, 16, "auto"),
    "shapes": (dict, 100, {}),
    "wrt": (list, 20, []),
    "kind": (str, 16, "auto"),
    "layout": (str, 16, "numerator"),
    "detail": (str, 16, "compact"),
    "name": (str, 40, "f"),
    "answer": (str, MAX_ANSWER, ""),
    "mode": (str, 16, "auto"),
}
CHOICES: dict[str, tuple[str, ...]] = {
    "syntax": SYNTAXES,
    "kind": ("auto", "grad", "jacobian", "hessian"),
    "layout": ("numerator", "denominator"),
    "detail": stepwise.DETAILS,
    "mode": ("auto", "answer", "proof"),
}
MAX_NAME = 64  # characters of a variable's name or shape in "shapes"

STATUS = {
    400: "bad_request: not a JSON object, an unknown field or a field of the wrong type",
    403: "forbidden: a request from another site (Host or Origin not this server)",
    404: "not_found",
    405: "method_not_allowed",
    411: "length_required",
    413: "too_large: the body or one field is over its limit",
    415: "unsupported_media_type: POST takes application/json",
    422: "parse, shape or math: the formula, a shape or the answer is not right (the message says)",
    499: "gone: the client left before the answer (it hears nothing; the worker is freed)",
    500: "internal: a bug, or a worker that died",
    501: "no_pdflatex",
    503: "busy: no worker was free in time",
    504: "timeout: the computation took longer than the time limit",
}

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".woff2": "font/woff2",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    "": "text/plain; charset=utf-8",  # KaTeX's LICENSE
}
# Scripts from this server only, no inline script; KaTeX sets inline styles.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LOOPBACK_NAMES = ("localhost", "localhost.")


def _version() -> str:
    try:
        return _distribution_version("matcalc-chainrule")
    except PackageNotFoundError:
        return "(not installed)"


def static_files() -> dict[str, Path]:
    """Every file the server serves under /static/: the page's and KaTeX's, and no other."""
    return {
        "/static/" + path.relative_to(WEB).as_posix(): path
        for path in sorted(WEB.rglob("*"))
        if path.is_file() and path.suffix in CONTENT_TYPES and path.name != "index.html"
    }


# -- the computations (run in a worker process) -------------------------------------------------
class RequestError(Exception):
    """A request the server refuses: its status, kind and message, and the field at fault."""

    def __init__(self, status: int, kind: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.field = status, kind, message, field

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


class _FieldError(Exception):
    """A matcalc error raised while reading one field of the request."""

    def __init__(self, field: str, error: MatcalcError) -> None:
        super().__init__(str(error))
        self.field, self.error = field, error


@contextlib.contextmanager
def _field(name: str) -> Iterator[None]:
    """A block that reads the field name: its matcalc errors are that field's."""
    try:
        yield
    except _FieldError:
        raise
    except MatcalcError as error:
        raise _FieldError(name, error) from None


def error_body(error: MatcalcError, field: str = "") -> dict[str, Any]:
    """The JSON error of a matcalc error: its kind, its message, the field it is in, and
    for a parse error its position with the line and the caret's column."""
    kind = "parse" if isinstance(error, ParseError) else "shape"
    if not isinstance(error, ParseError | ShapeError):
        kind = "math"
    message = error.message if isinstance(error, ParseError) else str(error)
    # the command line's option is the page's syntax menu
    message = message.removeprefix("parse: ").replace(" (--syntax on the command line)", "")
    body: dict[str, Any] = {"kind": kind, "message": message}
    if field:
        body["field"] = field
    if isinstance(error, ParseError) and error.text:
        line, column, number = error.line()
        body.update(position=error.position, line=line, column=column, line_number=number)
    return {"error": body}


def _shapes(request: dict[str, Any]) -> dict[str, str]:
    """The declared shapes, checked as the command line's --shape (``checked_shape``)."""
    shapes: dict[str, str] = {}
    for name, spec in request["shapes"].items():
        try:
            shapes[name] = checked_shape(name, spec)
        except ParseError as error:
            raise _FieldError("shapes", error) from None
    return shapes


def _formula(request: dict[str, Any]) -> tuple[E.Expr, str, dict[str, str]]:
    shapes = _shapes(request)
    with _field("formula"):
        if not request["formula"].strip():
            raise ParseError("type a formula")
        f, syntax = parse_with_syntax(request["formula"], shapes, request["syntax"])
    return f, syntax, shapes


def _shape_text(expr: E.Expr) -> str:
    if expr.is_scalar:
        return "scalar"
    return f"{expr.rows}" if expr.cols == 1 else f"{expr.rows}×{expr.cols}"


def _variables(f: E.Expr, shapes: dict[str, str], syntax: str) -> list[dict[str, Any]]:
    specs = declarations(f)
    out = []
    for name, var in E.variables(f).items():
        sizes = [part for part in specs[name] if part not in PROPERTIES]
        out.append(
            {
                "name": name,
                "kind": var.kind,
                "latex": latex(var),
                "shape": _shape_text(var),
                "sizes": ",".join(sizes) or "scalar",
                "properties": sorted(var.properties),
                "declared": name in shapes,
                # the first-letter rule; a LaTeX name is a vector when it is bold
                "why": "" if name in shapes or syntax == "latex" else convention(name, var.kind),
            }
        )
    return out


def api_parse(request: dict[str, Any]) -> dict[str, Any]:
    """The formula as read: its syntax, LaTeX, text, shape and variables, and the
    function's name as LaTeX (the page never puts the typed name into TeX itself)."""
    f, syntax, shapes = _formula(request)
    name = _name(request)
    return {
        "name_latex": latex_name(name, "scalar"),
        "syntax": syntax,
        "latex": latex(f),
        "text": text(f),
        "shape": _shape_text(f),
        "scalar": f.is_scalar,
        "variables": _variables(f, shapes, syntax),
    }


def _wrt(f: E.Expr, request: dict[str, Any]) -> list[E.Variable]:
    found = E.variables(f)
    with _field("wrt"):
        if not request["wrt"]:
            raise ParseError("choose the variable to differentiate by")
        for name in request["wrt"]:
            if name not in found:
                raise ParseError(
                    f"{name} is not a variable of the formula (it has {', '.join(found)})"
                )
    return [found[name] for name in dict.fromkeys(request["wrt"])]


def _name(request: dict[str, Any]) -> str:
    with _field("name"):
        if not request["name"].isidentifier():
            raise ParseError(
                f"the function's name must be a name (f, C, loss), not {request['name']!r}"
            )
    return request["name"]


def _kind(f: E.Expr, request: dict[str, Any], xs: list[E.Variable]) -> str:
    kind = request["kind"]
    if kind == "auto":
        kind = "grad" if f.is_scalar else "jacobian"
    with _field("kind"):
        if kind in ("grad", "hessian") and not f.is_scalar:
            raise ShapeError(
                f"{'the gradient' if kind == 'grad' else 'the Hessian'} is of a scalar; "
                f"{text(f)} is {f.rows}×{f.cols}: choose the Jacobian"
            )
        if len(xs) > 1 and kind != "grad":
            raise ParseError(f"the {kind} is by one variable; choose one, or the gradient")
    return kind


@dataclass
class _Derived:
    derivation: Derivation
    kind: str
    results: list[tuple[E.Variable, str, str, E.Expr]]  # x, symbol LaTeX, symbol text, result


def _derive(request: dict[str, Any]) -> _Derived:
    f, _, _ = _formula(request)
    xs, name = _wrt(f, request), _name(request)
    kind = _kind(f, request, xs)
    layout, detail = request["layout"], request["detail"]
    if kind == "hessian":
        x, function = xs[0], latex_name(name, "scalar")
        # the steps: the Jacobian of the gradient, derived like any Jacobian
        derivation = stepwise.derive(
            engine.grad(f, x), x, layout=layout, name=f"∇{name}", detail=detail
        )
        symbol = (
            rf"\frac{{\partial^2 {function}}}{{\partial {latex(x)}\, \partial {latex(x)}^\top}}"
        )
        hessian = engine.hessian(f, x)
        return _Derived(derivation, kind, [(x, symbol, f"∂²{name}/∂{x.name}∂{x.name}ᵀ", hessian)])
    derivation = stepwise.derive(
        f, xs if len(xs) > 1 else xs[0], layout=layout, name=name, detail=detail
    )
    function = derivation.function_symbol().latex
    found = derivation.result if isinstance(derivation.result, tuple) else (derivation.result,)
    if kind == "jacobian" and f.is_scalar:
        found = (engine.jacobian(f, xs[0]),)
    results = [
        (x, rf"\frac{{\partial {function}}}{{\partial {latex(x)}}}", f"∂{name}/∂{x.name}", r)
        for x, r in zip(xs, found, strict=True)
    ]
    return _Derived(derivation, kind, results)


def _step(step: Step) -> dict[str, str]:
    """One step for the page's table: its rule, the equation's LaTeX (none for a
    sentence, which is text), and its note and label as text."""
    words = len(step.pieces) == 1 and isinstance(step.pieces[0], Words)
    left, right = step.sides()
    return {
        "rule": step.rule,
        "latex": "" if words else f"{left} {right}".strip(),
        "text": step.formula(),
        "note": step.note,
        "label": step.label,
    }


def api_derive(request: dict[str, Any]) -> dict[str, Any]:
    """The derivative: each result typeset and as text, the steps, the layout in words
    and the LaTeX source to copy."""
    derived = _derive(request)
    d = derived.derivation
    results = [
        {
            "variable": x.name,
            "latex": f"{symbol} = {latex(result)}",
            "text": f"{words} = {text(result)}",
            "shape": _shape_text(result),
        }
        for x, symbol, words, result in derived.results
    ]
    source = "\n".join(
        [
            *(rf"\[ {r['latex']} \]" for r in results),
            r"\begin{align*}",
            d.latex(),
            r"\end{align*}",
        ]
    )
    return {
        "kind": derived.kind,
        "title": d.title,
        "results": results,
        "steps": [_step(step) for step in d.steps],
        "steps_latex": d.latex(),
        "steps_text": d.text(),
        "layout_words": d.layout_words(),
        "latex_source": source,
    }


def _is_proof(answer: str) -> bool:
    """An answer with a relation or more than one line is a proof (steps, definitions)."""
    return any(mark in answer for mark in ("=", "\n", "\\\\", "≔"))


def api_check(request: dict[str, Any]) -> dict[str, Any]:
    """The verdict on the student's answer (a formula) or whole proof (steps)."""
    f, syntax, shapes = _formula(request)
    xs, name = _wrt(f, request), _name(request)
    with _field("wrt"):
        if len(xs) > 1:
            raise ParseError("an answer is checked against one derivative: choose one variable")
    x, answer = xs[0], request["answer"]
    with _field("answer"):
        if not answer.strip():
            raise ParseError("type your answer or your proof")
    mode = request["mode"]
    if mode == "auto":
        mode = "proof" if _is_proof(answer.strip()) else "answer"
    if mode == "proof":
        with _field("answer"):
            proof = check_proof(answer, f, x, name=name, shapes=shapes)
        shown_latex = proof._repr_latex_().strip().removeprefix("$$").removesuffix("$$")
        return {
            "mode": mode,
            "ok": proof.ok,
            "message": proof.message,
            "first_error": proof.first_error,
            "latex": shown_latex,
            "text": str(proof),
        }
    known = {**declarations(f), **shapes}
    with _field("answer"):
        # the answer is read in the formula's syntax (x'*A*x, then A*x is a matrix product)
        claim_syntax = syntax if request["syntax"] == "auto" else request["syntax"]
        try:
            claim = parse(answer, known, claim_syntax)
        except MatcalcError:
            if request["syntax"] != "auto":
                raise
            claim = parse(answer, known, "auto")
        verdict = check(claim, f, x, name=name)
    return {
        "mode": mode,
        "ok": verdict.ok,
        "message": verdict.message,
        "method": verdict.method,
        "diagnosis": verdict.diagnosis,
        "latex": latex(claim),
    }


def api_code(request: dict[str, Any]) -> dict[str, Any]:
    """A self-contained numpy script: f, its gradient by one variable, and a check."""
    f, _, _ = _formula(request)
    xs = _wrt(f, request)
    with _field("wrt"):
        if not f.is_scalar:
            raise ShapeError(f"the code computes a gradient, of a scalar; {text(f)} is not one")
    return {"variable": xs[0].name, "code": standalone_code(f, xs[0])}


def api_pdf(request: dict[str, Any]) -> bytes:
    """The derivation as a PDF document (pdflatex)."""
    if shutil.which("pdflatex") is None:
        raise RequestError(501, "no_pdflatex", "pdflatex is not installed, so no PDF can be made")
    derivation = _derive(request).derivation
    with tempfile.TemporaryDirectory(prefix="matcalc-") as work:
        try:
            path = derivation.write_pdf(Path(work, "derivation.pdf"))
        except LatexError as error:  # the temporary folder is no news to the user
            raise RequestError(500, "latex", str(error).replace(work + os.sep, "")) from None
        return path.read_bytes()


ENDPOINTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "/api/parse": api_parse,
    "/api/derive": api_derive,
    "/api/check": api_check,
    "/api/code": api_code,
    "/api/pdf": api_pdf,
}


def compute(endpoint: str, request: dict[str, Any]) -> tuple[int, Any]:
    """One computation's status and body (a dict for JSON, bytes for a PDF): what a
    worker runs; every error becomes its JSON body."""
    try:
        return 200, ENDPOINTS[endpoint](request)
    except RequestError as failure:
        return failure.status, failure.body()
    except _FieldError as failure:
        return 422, error_body(failure.error, failure.field)
    except MatcalcError as error:
        return 422, error_body(error)
    except RecursionError:
        return 422, RequestError(422, "math", "the formula is nested too deeply").body()
    except MemoryError:
        return 422, RequestError(422, "math", "the computation ran out of memory").body()
    except Exception as error:  # noqa: BLE001 - a bug: its name and message, never a traceback
        message = f"internal error ({type(error).__name__}: {error})"
        return 500, RequestError(500, "internal", message).body()


def read_request(body: bytes) -> dict[str, Any]:
    """The request's fields, checked (types, choices, sizes) with the defaults filled in;
    a RequestError (400 or 413) otherwise."""
    try:
        given = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RequestError(400, "bad_request", "the body is not JSON") from None
    if not isinstance(given, dict):
        raise RequestError(400, "bad_request", "the body is not a JSON object")
    request: dict[str, Any] = {}
    for name in given:
        if name not in FIELDS:
            raise RequestError(400, "bad_request", f"unknown field {shown(str(name))[:40]!r}", name)
    for name, (kind, most, default) in FIELDS.items():
        value: Any = given.get(name, default)
        if not isinstance(value, kind):
            raise RequestError(
                400, "bad_request", f"{name} must be a {kind.__name__} in JSON", name
            )
        if len(value) > most:
            what = "characters" if kind is str else "entries"
            raise RequestError(413, "too_large", f"{name} is longer than {most} {what}", name)
        if name in CHOICES and value not in CHOICES[name]:
            raise RequestError(
                400, "bad_request", f"{name} must be one of {', '.join(CHOICES[name])}", name
            )
        request[name] = value
    for name, spec in request["shapes"].items():
        if not isinstance(spec, str) or len(name) > MAX_NAME or len(spec) > MAX_NAME:
            raise RequestError(
                400, "bad_request", "shapes maps a name to a text such as 'm,n'", "shapes"
            )
    if not all(isinstance(name, str) and len(name) <= MAX_NAME for name in request["wrt"]):
        raise RequestError(400, "bad_request", "wrt is a list of variable names", "wrt")
    return request


# -- the workers ---------------------------------------------------------------------------------
def _work(connection: Connection) -> None:
    """A worker process: answer each (endpoint, request) until the server closes the pipe."""
    if hasattr(os, "setsid"):  # its own process group: killed with pdflatex and all
        os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server, which stops us
    if sys.platform != "win32":
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY or soft > WORKER_MEMORY:
            resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, hard))
    while True:
        try:
            endpoint, request = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(compute(endpoint, request))


def _context() -> Any:
    """forkserver where there is one: a new worker is forked from a process that has
    already imported matcalc (and sympy), so a killed worker is replaced at once."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["matcalc.server"])
        return context
    return multiprocessing.get_context("spawn")


@dataclass(eq=False)
class _Worker:
    process: Any  # a multiprocessing Process
    connection: Connection

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            if hasattr(os, "killpg") and self.process.pid is not None:
                os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()
        self.process.join(5)
        self.connection.close()


class Workers:
    """Worker processes that run the computations, one at a time each, under the time
    limit: a worker past it is killed (with anything it started) and a fresh one takes
    its place, so the server stays up whatever the input."""

    def __init__(self, count: int, time_limit: float) -> None:
        self.count, self.time_limit = count, time_limit
        self._context = _context()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(count):
            self._idle.put(self._start())

    def _start(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_work, args=(theirs,), daemon=True, name="matcalc-worker"
        )
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        with self._lock:
            if self._closed:
                worker.kill()
                raise RuntimeError("the workers are closed")
            self._all.add(worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.kill()
        if not self._closed:
            with contextlib.suppress(RuntimeError, OSError):
                self._idle.put(self._start())

    def run(
        self, endpoint: str, request: dict[str, Any], gone: Callable[[], bool] = lambda: False
    ) -> tuple[int, Any]:
        """The status and body of one computation, within the time limit; stopped early
        when gone() says the client has left (the page asked again as the user typed)."""
        # as long as a worker can be busy with the one before, and a little more
        deadline = time.monotonic() + 2 * self.time_limit + 5
        while True:
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return 503, RequestError(503, "busy", "the server is busy; try again").body()
            if worker.process.is_alive():
                break
            # one that died idle (killed from outside) is replaced; take the next
            threading.Thread(target=self._replace, args=(worker,), daemon=True).start()
        try:
            worker.connection.send((endpoint, request))
            stop = time.monotonic() + self.time_limit
            while not worker.connection.poll(min(CLIENT_CHECK, max(0.0, stop - time.monotonic()))):
                if time.monotonic() >= stop:
                    failure = RequestError(
                        504,
                        "timeout",
                        f"the computation took longer than the time limit ({self.time_limit:g} s)"
                        " and was stopped; try a smaller formula",
                    )
                    break
                if gone():  # nobody waits for this answer: free the worker for the next
                    failure = RequestError(499, "gone", "the client closed the connection")
                    break
            else:
                answer = worker.connection.recv()
                self._idle.put(worker)
                return answer
        except (EOFError, OSError):
            failure = RequestError(500, "internal", "the worker stopped (out of memory?)")
        # a fresh worker is started beside the answer, which does not wait for it
        threading.Thread(target=self._replace, args=(worker,), daemon=True).start()
        return failure.status, failure.body()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.kill()


# -- the HTTP server ------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """Is host an address (or name) of this machine alone?"""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Handler(http.server.BaseHTTPRequestHandler):
    """One request: the page, its files, or a JSON endpoint."""

    server: Server
    server_version = "matcalc"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        path = urllib.parse.urlsplit(self.path).path
        if not self._from_here():
            return self._json(
                403, RequestError(403, "forbidden", "not a request for this server").body()
            )
        if path in ("/", "/index.html"):
            return self._file(WEB / "index.html")
        if path == "/api/health":
            return self._json(200, self.server.health())
        if path in self.server.files:
            return self._file(self.server.files[path])
        if path in ENDPOINTS:
            return self._json(
                405, RequestError(405, "method_not_allowed", f"{path} takes POST").body()
            )
        self._json(404, RequestError(404, "not_found", "no such page").body())

    def do_POST(self) -> None:  # noqa: N802 - the standard library's name
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path not in ENDPOINTS:
                raise RequestError(404, "not_found", f"no endpoint {shown(path)[:80]}")
            if not self._from_here() or not self._same_origin():
                raise RequestError(403, "forbidden", "not a request from this server's page")
            if self.headers.get_content_type() != "application/json":
                raise RequestError(
                    415, "unsupported_media_type", "POST a JSON object (application/json)"
                )
            request = read_request(self._body())
        except RequestError as failure:
            return self._json(failure.status, failure.body())
        status, body = self.server.workers.run(path, request, self._gone)
        if isinstance(body, bytes):
            return self._send(status, "application/pdf", body, download="derivation.pdf")
        self._json(status, body)

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestError(411, "length_required", "a POST needs its Content-Length")
        try:
            size = int(length)
        except ValueError:
            raise RequestError(400, "bad_request", "Content-Length is not a number") from None
        if size > MAX_BODY:
            if size <= 4 * MAX_BODY:  # read it, so the client hears the answer
                self.rfile.read(size)
            raise RequestError(413, "too_large", f"the request is larger than {MAX_BODY} bytes")
        return self.rfile.read(max(size, 0))

    def _gone(self) -> bool:
        """Has the client closed the connection? Its request is read, so a readable
        socket with nothing to read is a hang-up (fetch aborted by a newer keystroke)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _host(self) -> str:
        host = self.headers.get("Host", "")
        if host.startswith("["):
            return host[1 : host.find("]")]
        return host.rpartition(":")[0] if ":" in host else host

    def _from_here(self) -> bool:
        """A server on loopback answers only requests addressed to loopback: a web page
        elsewhere cannot reach it through a name that resolves here (DNS rebinding)."""
        if not self.server.loopback or "Host" not in self.headers:
            return True
        return is_loopback(self._host())

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin")
        if origin is None:
            return True
        return urllib.parse.urlsplit(origin).netloc == self.headers.get("Host", "")

    def _file(self, path: Path) -> None:
        kind = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
        self._send(200, kind, path.read_bytes())

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._send(status, "application/json; charset=utf-8", data)

    def _send(self, status: int, kind: str, data: bytes, download: str = "") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Content-Security-Policy", POLICY)
            if download:
                self.send_header("Content-Disposition", f'attachment; filename="{download}"')
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the page moved on
            pass

    def log_message(self, message: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write(shown(f"matcalc: {self.address_string()} {message % args}") + "\n")


class Server(http.server.ThreadingHTTPServer):
    """The page's server: a thread per request, the computations in Workers.

    The workers are multiprocessing processes: a script that starts a Server guards
    its top level with ``if __name__ == "__main__":``, as any such program does."""

    request_queue_size = 128  # connections waiting to be accepted (socketserver's 5 drops some)

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        time_limit: float = TIME_LIMIT,
        workers: int | None = None,
        quiet: bool = False,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host.strip("[]"), port), Handler)
        self.host, self.loopback, self.quiet = host, is_loopback(host), quiet
        self.files = static_files()
        try:
            self.workers = Workers(workers or max(2, min(4, os.cpu_count() or 2)), time_limit)
        except BaseException:
            self.server_close()
            raise
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        address, port = self.server_address[0], self.server_address[1]
        host = address.decode() if isinstance(address, bytes) else str(address)
        if host in ("0.0.0.0", "::"):  # every address: this machine's is one of them
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def health(self) -> dict[str, Any]:
        return {
            "ok": True,
            "version": _version(),
            "pdflatex": shutil.which("pdflatex") is not None,
            "time_limit": self.workers.time_limit,
            "max_formula": MAX_FORMULA,
            "max_answer": MAX_ANSWER,
            "max_body": MAX_BODY,
        }

    def start(self) -> Server:
        """Serve in a background thread (for tests and notebooks); close() stops it."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, and stop the workers."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
            self._thread = None
        self.server_close()
        self.workers.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def warning(host: str) -> str:
    """The loud warning printed when the server listens beyond this machine."""
    bar = "!" * 78
    return "\n".join(
        [
            bar,
            f"matcalc: WARNING: listening on {host}, which is NOT this machine alone.",
            "Anyone who can reach this address can use the page and spend this machine's",
            "time; there is no login. Use the default --host 127.0.0.1 unless you mean it.",
            bar,
        ]
    )


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    open_browser: bool = False,
    time_limit: float = TIME_LIMIT,
) -> int:
    """Serve the page until Ctrl-C; say where (and warn loudly when not on loopback)."""
    if not math.isfinite(time_limit) or time_limit <= 0:
        raise MatcalcError(f"serve: the time limit must be positive, got {time_limit:g}")
    if not is_loopback(host):
        print(warning(host), file=sys.stderr, flush=True)
    with Server(host, port, time_limit=time_limit) as server:
        print(f"matcalc: serving on {server.url}  (Ctrl-C stops it)", file=sys.stderr, flush=True)
        if open_browser:
            webbrowser.open(server.url)
        started = time.monotonic()
        if threading.current_thread() is threading.main_thread():
            # `kill` stops it as Ctrl-C does: the workers are stopped with it
            signal.signal(signal.SIGTERM, _interrupt)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print(f"\nmatcalc: stopped after {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
