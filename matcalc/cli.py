"""The command line: ``matcalc grad|jacobian|hessian|check|check-proof|code|demo|serve``.

Formulas are read by ``mc.parse`` (numpy-like or MatrixCalculus.org's
MATLAB-like syntax, never evaluated).  Shapes come from ``--shape`` (``W=m,n``,
``x=n``, ``c=scalar``); otherwise names starting a–g are scalars, h–z vectors
and A–Z matrices, with sizes inferred from how the formula uses them.
Exit codes: 0 success, 1 a wrong claim or proof (only), 2 bad input (a usage,
parse, shape or file error: one line on stderr), 3 an unexpected internal error
(one line; ``--debug`` shows the traceback).  What the terminal shows has its
control characters escaped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import engine, stepwise
from . import expr as E
from .builder import checked_shape, convention
from .errors import MatcalcError
from .names import shown
from .parse import ParseError, declarations, parse, parse_with_syntax
from .printing import latex, text

EPILOG = (
    "Shapes: --shape W=m,n (a matrix), --shape x=n (a column vector), --shape c=scalar. "
    "Undeclared names follow MatrixCalculus.org: a-g are scalars, h-z vectors, A-Z matrices; "
    "their sizes are inferred. Syntax: numpy-like (x.T@A@x, * elementwise) or MATLAB-like "
    "(x'*A*x, * the matrix product, .* elementwise), chosen automatically."
)


def _shapes(specs: Sequence[str] | None) -> dict[str, str]:
    shapes: dict[str, str] = {}
    for spec in specs or []:
        name, sep, sizes = spec.partition("=")
        name = name.strip()
        if name in shapes:
            raise ParseError(f"--shape {name} is given twice")
        if not sep or not name.isidentifier() or not sizes.strip():
            raise ParseError(
                "--shape takes NAME=SIZES with one or two sizes (W=m,n, x=n, W=n,n,symmetric) "
                f"or NAME=scalar; got {spec!r}"
            )
        try:
            shapes[name] = checked_shape(name, sizes)
        except ParseError as error:
            raise ParseError(f"--shape {error.message}") from None
    return shapes


def _variable(expr: E.Expr, name: str, command: str) -> E.Variable:
    found = E.variables(expr)
    if name not in found:
        raise ParseError(
            f"{command}: --wrt {name} is not a variable of the formula "
            f"(it has {', '.join(sorted(found)) or 'none'})"
        )
    return found[name]


def _parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="matcalc", description=__doc__.splitlines()[0], epilog=EPILOG
    )
    top.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    top.add_argument("--version", action="version", version=f"matcalc {_version()}")
    commands = top.add_subparsers(dest="command", required=True)
    kinds = (
        ("grad", "the gradient of a scalar"),
        ("jacobian", "the Jacobian of a vector"),
        ("hessian", "the Hessian of a scalar"),
    )
    for name, what in kinds:
        sub = commands.add_parser(name, help=what, epilog=EPILOG)
        _common(sub)
        sub.add_argument("--steps", action="store_true", help="show the derivation step by step")
        sub.add_argument("--latex", nargs="?", const="-", metavar="FILE",
                         help="LaTeX to standard output, or a .tex document to FILE")  # fmt: skip
        sub.add_argument("--pdf", metavar="FILE", help="compile the derivation to a PDF (pdflatex)")
        sub.add_argument("--force", action="store_true",
                         help="overwrite a different .tex beside --pdf")  # fmt: skip
        sub.add_argument("--layout", choices=["numerator", "denominator"], default="numerator")
        sub.add_argument(
            "--detail",
            choices=list(stepwise.DETAILS),
            default="compact",
            help="lecture: every operation its own step, one rule each",
        )
        sub.add_argument("--name", default="f", help="the function's name in the output (f)")
    check = commands.add_parser("check", help="check a hand-derived derivative", epilog=EPILOG)
    _common(check)
    check.add_argument("--claim", required=True, help="your derivative, as a formula")
    check.add_argument("--name", default="f")
    proof = commands.add_parser(
        "check-proof", help="check a hand-derived proof step by step", epilog=EPILOG
    )
    proof.add_argument("file", help="the proof: .tex, .md (a math block), .txt, or - for stdin")
    proof.add_argument("--f", dest="function", help="the function the proof differentiates")
    proof.add_argument("--wrt", help="the variable it differentiates by")
    proof.add_argument("--where", action="append", metavar="NAME=FORMULA",
                       help="an intermediate the proof uses (z=W@x+b)")  # fmt: skip
    _shape_option(proof)
    proof.add_argument("--name", default="f")
    code = commands.add_parser("code", help="numpy code for the value and gradient", epilog=EPILOG)
    _common(code)
    commands.add_parser("demo", help="the main demo: derive, write up, compile, train")
    serve = commands.add_parser("serve", help="a local web page: type, derive, check, export")
    serve.add_argument("--host", default="127.0.0.1",
                       help="the address to listen on (127.0.0.1: this machine only)")  # fmt: skip
    serve.add_argument("--port", type=int, default=8765, help="the port (8765; 0 picks a free one)")
    serve.add_argument("--open", action="store_true", help="open the page in the browser")
    serve.add_argument("--time-limit", type=float, default=10.0, metavar="SECONDS",
                       help="the most one computation may take (10)")  # fmt: skip
    return top


def _shape_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--shape",
        action="append",
        metavar="NAME=SIZES",
        help="declare a shape: W=m,n  x=n  c=scalar  S=n,n,symmetric  p=n,probability",
    )


def _common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("expr", help="the formula")
    sub.add_argument("--wrt", required=True, action="append",
                     help="the variable to differentiate by (grad: one or more)")  # fmt: skip
    _shape_option(sub)
    sub.add_argument("--syntax", choices=["auto", "numpy", "matlab", "latex"], default="auto")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("matcalc-chainrule")
    except PackageNotFoundError:
        return "(not installed)"


FORMULA_OPTIONS = ("--claim", "--f", "--where")


def _formulas_first(argv: list[str]) -> list[str]:
    """A formula that starts with a minus (-x.T@x, --claim -2*x) is not an option:
    the subcommand's first word and every formula option's value are kept as
    values (as --claim=-2*x would be)."""
    if len(argv) > 2 and argv[0] in SUBCOMMANDS and argv[1] == "--":  # grad -- "-x.T@x" …
        argv = [argv[0], " " + argv[2], *argv[3:]]
    out: list[str] = []
    for index, word in enumerate(argv):
        previous = argv[index - 1] if index else ""
        if previous in FORMULA_OPTIONS and word.startswith("-"):
            out[-1] = f"{previous}={word}"
            continue
        subcommand = index == 1 and argv[0] in SUBCOMMANDS
        if subcommand and word.startswith("-") and not word.startswith("--") and len(word) > 2:
            word = " " + word  # a leading space: argparse leaves it a value; parse strips it
        out.append(word)
    return out


SUBCOMMANDS = ("grad", "jacobian", "hessian", "check", "code")


def run(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(_formulas_first(words))
    if args.command == "serve":
        from .server import serve

        if not 0 <= args.port <= 65535:
            raise MatcalcError(f"serve: a port is 0 to 65535, got {args.port}")
        return serve(args.host, args.port, args.open, args.time_limit)
    if args.command == "demo":
        try:
            from .demo import main
        except ModuleNotFoundError as missing:  # installed without the demo's extra
            raise MatcalcError(
                f"matcalc demo needs {missing.name}: pip install 'matcalc-chainrule[demo]'"
            ) from None
        return main()
    if args.command == "check-proof":
        return _check_proof(args)
    shapes = _shapes(args.shape)
    f, syntax = parse_with_syntax(args.expr.strip(), shapes, args.syntax)
    unused = sorted(set(shapes) - set(E.variables(f)) - {"pi"})
    if unused:
        raise ParseError(f"--shape {unused[0]}: {unused[0]} is not a variable of the formula")
    _note_scalars(f, shapes, args.wrt)
    wrt = list(dict.fromkeys(args.wrt))
    if len(wrt) > 1 and args.command != "grad":
        raise ParseError(f"{args.command} takes one --wrt; got {', '.join(wrt)}")
    if len(wrt) > 1:
        return _gradients(args, f, [_variable(f, name, "grad") for name in wrt])
    x = _variable(f, wrt[0], args.command)
    if args.command == "check":
        known = declarations(f)
        # the claim is read in the formula's syntax (x'*A*x, then A*x is a matrix product)
        claim_syntax = syntax if args.syntax == "auto" else args.syntax
        try:
            claim = parse(args.claim, {**known, **shapes}, claim_syntax)
        except MatcalcError:
            if args.syntax != "auto":  # the syntax asked for holds for the claim too
                raise
            claim = parse(args.claim, {**known, **shapes}, "auto")
        from .check import check

        verdict = check(claim, f, x, name=args.name)
        say(("ok: " if verdict.ok else "wrong: ") + verdict.message)
        return 0 if verdict.ok else 1
    if args.command == "code":
        from .codegen import standalone_code

        say(standalone_code(f, x))
        return 0
    return _derivative(args, f, x)


def _gradients(args, f: E.Expr, xs: list[E.Variable]) -> int:
    """grad with several --wrt: one reverse sweep, each gradient on its line."""
    if not f.is_scalar:
        raise MatcalcError(
            f"grad: {text(f)} is not a scalar, it is {f.rows}×{f.cols}; use jacobian"
            + _conventions(f, args, [x.name for x in xs])
        )
    derivation = stepwise.derive(f, xs, layout=args.layout, name=args.name, detail=args.detail)
    if args.steps:
        say(derivation.text())
    results = derivation.result if isinstance(derivation.result, tuple) else (derivation.result,)
    if not args.steps:
        for x, result in zip(xs, results, strict=True):
            say(f"∂{args.name}/∂{x.name} = {text(result)}")
    if args.latex not in (None, "-"):
        say(f"wrote {derivation.write_tex(args.latex)}")
    elif args.latex == "-":
        say(derivation.latex())
    if args.pdf:
        say(f"wrote {derivation.write_pdf(args.pdf, force=args.force)}")
    return 0


def _note_scalars(f: E.Expr, shapes: dict[str, str], wrt: list[str]) -> None:
    """A variable differentiated by that the first-letter rule made a scalar, in a formula
    with vectors, is said on stderr: b in W*x + b may be meant as a vector."""
    found = E.variables(f)
    for name in wrt:
        var = found.get(name)
        if var is None or name in shapes or var.kind != "scalar":
            continue
        if any(v.kind != "scalar" for v in found.values()):
            print(
                shown(f"matcalc: note: {convention(name, 'scalar')}; declare --shape {name}=m "
                      "if it is a vector"),
                file=sys.stderr,
            )  # fmt: skip


def _conventions(f: E.Expr, args, wrt: list[str]) -> str:
    """Why undeclared vectors are vectors (the first-letter rule), when one of them may
    be a scalar the user meant: lam in x'*A*x + lam."""
    declared = set(_shapes(args.shape))
    undeclared = [
        (name, var.kind)
        for name, var in E.variables(f).items()
        if name not in declared and name not in wrt and var.kind == "vector"
    ]
    return "".join(
        f". {convention(name, kind)}; declare --shape {name}=scalar if it is a scalar"
        for name, kind in undeclared[:3]
    )


def _derivative(args, f: E.Expr, x: E.Variable) -> int:
    if args.command == "grad" and not f.is_scalar:
        raise MatcalcError(
            f"grad: {text(f)} is not a scalar, it is {f.rows}×{f.cols}; use jacobian"
            + _conventions(f, args, [x.name])
        )
    if args.command == "hessian":
        result = engine.hessian(f, x)
        symbol = f"∂²{args.name}/∂{x.name}∂{x.name}ᵀ"
        # the steps: the Jacobian of the gradient, derived like any Jacobian
        gradient = engine.grad(f, x)
        derivation = stepwise.derive(
            gradient, x, layout=args.layout, name=f"∇{args.name}", detail=args.detail
        )
    else:
        derivation = stepwise.derive(f, x, layout=args.layout, name=args.name, detail=args.detail)
        assert isinstance(derivation.result, E.Expr)  # one variable: one result
        result = derivation.result
        symbol = f"∂{args.name}/∂{x.name}"
        if args.command == "jacobian" and f.is_scalar:
            result = engine.jacobian(f, x)
    if args.latex == "-":
        say(derivation.latex() if args.steps else latex(result))
    elif args.steps:
        say(derivation.text())
    else:
        say(f"{symbol} = {text(result)}")
    if args.latex not in (None, "-"):
        say(f"wrote {derivation.write_tex(args.latex)}")
    if args.pdf:
        say(f"wrote {derivation.write_pdf(args.pdf, force=args.force)}")
    return 0


def _check_proof(args) -> int:
    """Each step with ✓ or ✗ and what broke; exit 0 only when every step holds."""
    from pathlib import Path

    from .proof import check_proof
    from .proof_text import MAX_PROOF_LENGTH, proof_in_document

    if args.file == "-":
        source, suffix = sys.stdin.read(MAX_PROOF_LENGTH + 1), ".txt"
    else:
        path = Path(args.file)
        if not path.is_file():
            raise MatcalcError(f"check-proof: no such file: {args.file}")
        if path.stat().st_size > 4 * MAX_PROOF_LENGTH:
            raise MatcalcError(f"check-proof: {args.file} is too large for a proof")
        try:
            source, suffix = path.read_text(encoding="utf-8"), path.suffix.lower()
        except UnicodeDecodeError:
            raise MatcalcError(f"check-proof: {args.file} is not UTF-8 text") from None
    shapes = _shapes(args.shape)
    f = parse(args.function, shapes) if args.function else None
    if args.wrt and f is None:
        raise MatcalcError("check-proof: --wrt needs --f (the function it differentiates)")
    wrt = _variable(f, args.wrt, "check-proof") if f is not None and args.wrt else None
    where: dict[str, object] = {}
    for spec in args.where or []:
        name, sep, formula = spec.partition("=")
        if not sep or not name.strip():
            raise ParseError(f"--where takes NAME=FORMULA (z=W@x+b), got {spec!r}")
        where[name.strip()] = formula
    verdict = check_proof(
        proof_in_document(source, suffix), f, wrt, where=where, name=args.name, shapes=shapes
    )
    say(verdict)
    return 0 if verdict.ok else 1


def say(text: object) -> None:
    """Print for a terminal: control characters escaped (names and paths are data)."""
    print(shown(str(text)))


def format_error(error: Exception) -> str:
    """One line, plus a caret line under the position for a parse error."""
    if isinstance(error, ParseError) and error.text:
        line, column, number = error.line()
        prefix = f"matcalc: {error.message.removeprefix('parse: ')}: "
        if "\n" in error.text:  # a proof: the message, then its line and a caret
            return f"{prefix.rstrip(': ')} (line {number}):\n  {line}\n  {' ' * column}^"
        if len(prefix) > 60:  # a long message: the formula and its caret below it
            return f"{prefix.rstrip(': ')}:\n  {line}\n  {' ' * column}^"
        return f"{prefix}{line}\n{' ' * (len(prefix) + column)}^"
    return f"matcalc: {str(error).splitlines()[0].removeprefix('parse: ')}"


def main(argv: Sequence[str] | None = None) -> int:
    """run(argv) with its errors as exit codes: 2 for bad input, 3 for a bug."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    _printable_streams()
    try:
        return run(argv)
    except MatcalcError as error:
        print(shown(format_error(error)), file=sys.stderr)
        return 2
    except OSError as error:  # an output path that cannot be written, a full disk
        where = f": {error.filename}" if error.filename else ""
        print(shown(f"matcalc: {error.strerror or error}{where}"), file=sys.stderr)
        return 2
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as error:  # noqa: BLE001 - a bug: one line, not a traceback
        if debug:
            raise
        print(
            shown(f"matcalc: internal error ({type(error).__name__}: {error}); "
                  "rerun with --debug for the traceback"),
            file=sys.stderr,
        )  # fmt: skip
        return 3


def _printable_streams() -> None:
    """Output that a narrow terminal encoding (PYTHONIOENCODING=ascii) cannot hold is
    escaped, not a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
