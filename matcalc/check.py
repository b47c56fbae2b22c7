"""Checking a hand derivation: a verdict, and a diagnosis a student can act on.

``check(claim, f, X)`` decides in three stages: shapes first (a claim of the
wrong shape is reported, not raised), then canonical forms (method
"symbolic"), then numbers on several random size and value sets (method
"numeric"; one size set has every dimension ≥ 3 and all different, so a
transpose cannot pass by coincidence).  A wrong claim is tried against
candidate corrections (transpose, sign, a constant factor, ⊙ for a matrix
product and back, σ for σ′, a missing or extra term, the order of a matrix
product); the first that fits is the diagnosis.  Otherwise the verdict
carries a counterexample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import sympy

from . import constructors as C
from . import expr as E
from . import simplifier as s
from .canonical import Normalizer, canonical
from .dims import format_shape, vector_length
from .engine import check_variable, grad, jacobian
from .errors import DerivativeError, EvaluationError, MatcalcError
from .evaluator import evaluate_arrays
from .functions import FUNCTIONS
from .notation import ATOM, TEXT, Printed
from .parse import declarations, parse
from .printing import named_derivatives, text


@dataclass(frozen=True, repr=False)
class Verdict:
    """ok, a sentence a student can act on, and how it was decided."""

    ok: bool
    message: str
    method: str  # "symbolic", "numeric" or "shape"
    diagnosis: str = ""  # a short code: "transpose", "sign", "factor", ...
    counterexample: dict | None = field(default=None, compare=False)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        """✓ or ✗ and the sentence (a notebook's plain text; the counterexample's
        arrays would make it long and different on every run)."""
        return ("✓ " if self.ok else "✗ ") + self.message


# -- sampling sizes and values ----------
def _symbols(*exprs: E.Expr) -> list[sympy.Symbol]:
    found: set[sympy.Symbol] = set()
    for e in exprs:
        for node in E.postorder(e):
            found |= {d for d in node.shape if isinstance(d, sympy.Symbol)}
            if isinstance(node, E.Const):
                found |= node.value.free_symbols
    return sorted(found, key=str)


def size_sets(symbols: list[sympy.Symbol], rng: np.random.Generator, count: int = 3):
    """First every dimension ≥ 3 and all different, then random sizes 1..6."""
    distinct = rng.permutation(np.arange(3, 3 + max(len(symbols), 4)))[: len(symbols)]
    yield {d: int(v) for d, v in zip(symbols, distinct, strict=True)}
    for _ in range(count - 1):
        yield {d: int(rng.integers(1, 7)) for d in symbols}


def _domains(exprs: list[E.Expr]) -> tuple[set[str], set[str]]:
    """Names of variables that need positive values, and square ones that need
    to be well conditioned (det, logdet, inv)."""
    positive: set[str] = set()
    conditioned: set[str] = set()
    for e in exprs:
        for node in E.postorder(e):
            if isinstance(node, E.Apply) and FUNCTIONS[node.fn].domain in POSITIVE_DOMAINS:
                positive |= {v.name for v in E.iter_variables(node.a)}
            if isinstance(node, E.Pow) and not (
                isinstance(node.b, E.Const) and node.b.value.is_integer
            ):
                positive |= {v.name for v in E.iter_variables(node.a)}
            if isinstance(node, E.Det | E.LogDet | E.Inv):
                conditioned |= {v.name for v in E.iter_variables(node.a) if v.rows == v.cols}
    return positive, conditioned


POSITIVE_DOMAINS = ("positive", "nonnegative")  # sampled in [0.5, 2]


def _kinks(exprs: list[E.Expr]) -> list[tuple[E.Expr, float]]:
    """(argument, kink) pairs where a derivative jumps: the kinks the catalogue
    gives for a function (relu, abs, step, sign at 0), and a − b = 0 for max(a, b)."""
    found: list[tuple[E.Expr, float]] = []
    for e in exprs:
        for node in E.postorder(e):
            if isinstance(node, E.Apply):
                entry = FUNCTIONS[node.fn]
                found.extend((node.a, kink) for kink in entry.kinks)
                if entry.domain == "nonzero":  # defined on both sides of 0: sample both
                    found.append((node.a, 0.0))
            elif isinstance(node, E.Maximum):
                found.append((E.Sub.make(node.a, node.b), 0.0))
    return found


@dataclass
class Sample:
    sizes: dict
    arrays: dict[str, np.ndarray]
    uncovered: str = ""  # a branch of f the value sets so far did not reach


def _draw(variables, sizes, positive, conditioned, rng) -> dict[str, np.ndarray]:
    """One value set: magnitudes spread over [0.05, 4] (log-uniform, both signs), so
    constants inside f (a Huber threshold) are crossed; positive where f needs it."""
    arrays = {}
    for name, var in sorted(variables.items()):
        shape = tuple(d if isinstance(d, int) else sizes[d] for d in var.shape)
        if var.probability:  # entries ≥ 0, each column summing to 1
            weights = rng.uniform(0.1, 1.0, size=shape)
            arrays[name] = weights / weights.sum(axis=0, keepdims=True)
        elif name in conditioned:
            arrays[name] = 2 * np.eye(shape[0]) + 0.3 * rng.uniform(-1, 1, size=shape)
        elif name in positive:
            arrays[name] = np.exp(rng.uniform(np.log(0.2), np.log(3.0), size=shape))
        else:
            signs = rng.choice([-1.0, 1.0], size=shape)
            arrays[name] = signs * np.exp(rng.uniform(np.log(0.05), np.log(4.0), size=shape))
        if var.symmetric:
            arrays[name] = (arrays[name] + arrays[name].T) / 2
    return arrays


MAX_COVERAGE_SAMPLES = 12  # extra value sets that drive each kink to both sides


MAX_ENTRIES = 10**7  # numbers drawn for one value set, summed over the variables


def _room_for(variables: dict[str, E.Variable]) -> None:
    """Refuse, before allocating, variables whose declared sizes would not fit: the
    symbolic sizes are drawn small, so only concrete sizes can be too large."""
    entries = 0
    for var in variables.values():
        rows = var.rows if isinstance(var.rows, int) else 6
        cols = var.cols if isinstance(var.cols, int) else 6
        entries += rows * cols
        if entries > MAX_ENTRIES:
            raise EvaluationError(
                f"check: {var.name} is {var.rows}×{var.cols}; the numbers that check a claim "
                f"must fit ({MAX_ENTRIES:,} entries in all): declare a symbolic size (n) "
                "or a smaller one"
            )


def samples(
    exprs: list[E.Expr], seed: int = 0, count: int = 3, domain: list[E.Expr] | None = None
) -> Iterator[Sample]:
    """Size and value sets inside f's domain and away from f's kinks; on the first
    size set, more value sets until every entry of every kinked argument of f
    has been on both sides of its kink (``Sample.uncovered`` says where not).

    domain: the expressions whose domains and kinks restrict the values (f and its
    derivative); a claim's own log or sqrt never narrows them (exprs by default)."""
    rng = np.random.default_rng(seed)
    variables: dict[str, E.Variable] = {}
    for e in exprs:
        variables.update(E.variables(e))
    restricting = exprs if domain is None else domain
    positive, conditioned = _domains(restricting)
    kinks = _kinks(restricting)
    # the kinks whose sides the values can reach (not of variables f keeps positive)
    free = [
        (arg, kink)
        for arg, kink in kinks
        if any(
            v.name not in positive and v.name not in conditioned and not v.probability
            for v in E.iter_variables(arg)
        )
    ]
    _room_for(variables)
    for index, sizes in enumerate(size_sets(_symbols(*exprs), rng, count)):
        seen: list[tuple[np.ndarray, np.ndarray]] = []  # per kink: entries seen below, above
        wanted = MAX_COVERAGE_SAMPLES if (index == 0 and free) else 1
        for _ in range(wanted):
            arrays = _away_from_kinks(variables, sizes, positive, conditioned, kinks, rng)
            sample = Sample(sizes, arrays)
            if free and index == 0:
                covered = _record_sides(free, sample, seen)
                sample.uncovered = "" if covered else _uncovered(free, seen)
                yield sample
                if covered:
                    break
            else:
                yield sample


def _away_from_kinks(variables, sizes, positive, conditioned, kinks, rng) -> dict:
    arrays: dict[str, np.ndarray] = {}
    for _attempt in range(30):
        arrays = _draw(variables, sizes, positive, conditioned, rng)
        try:
            near_kink = any(
                np.min(np.abs(evaluate_arrays(arg, arrays, sizes) - kink)) < 0.05
                for arg, kink in kinks
            )
        except MatcalcError:
            near_kink = True
        if not near_kink:
            break
    return arrays


def _record_sides(kinks, sample: Sample, seen: list) -> bool:
    """Note which entries of each kinked argument were below and above the kink."""
    for k, (arg, kink) in enumerate(kinks):
        value = _value(arg, sample)
        if value is None:
            continue
        if len(seen) <= k:
            seen.append((np.zeros(value.shape, bool), np.zeros(value.shape, bool)))
        below, above = seen[k]
        below |= value < kink
        above |= value > kink
    return len(seen) == len(kinks) and all(b.all() and a.all() for b, a in seen)


def _uncovered(kinks, seen: list) -> str:
    for k, (arg, kink) in enumerate(kinks):
        if k >= len(seen):
            return f"{text(arg)} could not be evaluated"
        below, above = seen[k]
        for side, hit in (("below", below), ("above", above)):
            if not hit.all():
                entry = tuple(int(i) for i in np.argwhere(~hit)[0])
                return f"entry {entry} of {text(arg)} was never {side} {kink:g}"
    return ""


def _value(expr: E.Expr, sample: Sample) -> np.ndarray | None:
    try:
        with np.errstate(all="ignore"):
            return evaluate_arrays(expr, sample.arrays, sample.sizes)
    except MatcalcError:
        return None


def _finite(value: np.ndarray | None) -> bool:
    return value is not None and bool(np.all(np.isfinite(value)))


def _close(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Equal up to 1e-7 relative to the larger of the two: no absolute floor, so a
    small f (1e-8 · sum(tanh(W x))) is compared at its own scale."""
    if a is None or b is None or a.shape != b.shape:
        return False
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False
    scale = max(float(np.max(np.abs(b), initial=0.0)), float(np.max(np.abs(a), initial=0.0)))
    return bool(np.max(np.abs(a - b), initial=0.0) <= 1e-7 * scale)


# -- the check ----------
def check(claim: object, f: object, x: E.Variable, name: str = "f", seed: int = 0) -> Verdict:
    """Is claim the derivative of f w.r.t. x? grad for a scalar f, jacobian for a vector f.

    claim is an expression, or text in either syntax (read with f's shapes).
    """
    f = E.as_expr(f, "check")
    x = check_variable("check", x)
    if isinstance(claim, str):  # typed as text: its names take f's shapes
        claim = parse(claim, declarations(f))
    claim = E.as_expr(claim, "check")
    if f.is_scalar:
        truth, label = grad(f, x), f"∂{name}/∂{x.name}"
    elif vector_length(f.shape) is not None and vector_length(x.shape) is not None:
        truth, label = jacobian(f, x), f"the Jacobian ∂{name}/∂{x.name}"
    else:
        raise DerivativeError(
            f"check: f must be a scalar, or f and x vectors; f is {format_shape(f.shape)}"
        )
    unknown = _unknown_names(claim, f)
    if unknown:
        return Verdict(False, unknown, "shape", "unknown variable")
    return compare(claim, truth, label, context=[f], seed=seed)


def equivalent(e1: object, e2: object, seed: int = 0) -> Verdict:
    """Are two expressions equal for all sizes and values? (e2 is taken as the reference.)"""
    a, b = E.as_expr(e1, "equivalent"), E.as_expr(e2, "equivalent")
    return compare(a, b, "the second expression", context=[], seed=seed)


def _unknown_names(claim: E.Expr, f: E.Expr) -> str:
    known = E.variables(f)
    try:
        used = E.variables(claim)
    except MatcalcError as error:
        return f"your answer uses one name for two shapes: {error}"
    for var_name, var in used.items():
        if var_name not in known:
            return (
                f"your answer uses {var_name}, which the function does not have "
                f"(it has {', '.join(sorted(known)) or 'no variables'})"
            )
        if known[var_name] is not var:
            return (
                f"your answer uses {var_name} as {format_shape(var.shape)} but the function's "
                f"{var_name} is {format_shape(known[var_name].shape)}"
            )
    return ""


def compare(
    claim: E.Expr,
    truth: E.Expr,
    label: str,
    context: list[E.Expr],
    seed: int = 0,
    assume: bool = True,
    diagnose: bool = True,
) -> Verdict:
    claim = s.simplify(claim)
    exprs = [claim, truth, *context]
    # f's domain, read off its stable form: log softmax(z) needs nothing of z
    domain = [truth, *(s.simplify(e) for e in context)]
    sample_list = list(samples(exprs, seed, domain=domain))
    # the first size set's last value set knows whether every branch of f was reached
    uncovered = [sm for sm in sample_list if sm.sizes is sample_list[0].sizes][-1].uncovered
    values = [_value(truth, sm) for sm in sample_list]
    # a test where the truth overflows (x⊙x⊙… 2,000 deep) says nothing either way
    kept = [(sm, v) for sm, v in zip(sample_list, values, strict=True) if _finite(v)]
    if not kept:
        return Verdict(
            False,
            f"not decided: {label} is not a finite number on any test (it overflows); "
            "check it with fewer layers or smaller sizes",
            "numeric",
            "not decided",
        )
    sample_list, values = [sm for sm, _ in kept], [v for _, v in kept]

    def fits(candidate: E.Expr) -> bool:
        return candidate.shape == truth.shape and all(
            _close(_value(candidate, sm), v) for sm, v in zip(sample_list, values, strict=True)
        )

    if claim.shape != truth.shape:
        found = _diagnose(claim, truth, label, fits, sample_list, values) if diagnose else None
        if found is not None:
            return found
        return Verdict(
            False,
            f"wrong shape: your result is {format_shape(claim.shape)} but {label} is "
            f"{format_shape(truth.shape)}",
            "shape",
            "shape",
        )
    claim_form = _bounded(canonical, claim)
    if claim_form is not None and claim_form is _bounded(canonical, truth):
        return Verdict(
            True, f"correct: your result equals {label} (same canonical form)", "symbolic"
        )
    if fits(claim):
        if uncovered:
            return Verdict(
                False,
                f"not decided: your result equals {label} on every test, but the tests did "
                f"not reach every branch ({uncovered})",
                "numeric",
                "branch not reached",
            )
        return Verdict(True, f"correct: your result equals {label} on every test", "numeric")
    if not diagnose:  # only whether it holds (an assumption being tried)
        return Verdict(False, "", "numeric")
    found = _diagnose(claim, truth, label, fits, sample_list, values)
    if found is not None:
        return found
    counterexample = _counterexample(claim, truth, label, sample_list, values)
    assumed = _assumption(claim, truth, label, context, seed) if assume else None
    if assumed is not None:  # wrong as declared: the numbers that show it come along
        return Verdict(False, assumed.message, assumed.method, assumed.diagnosis,
                       counterexample.counterexample)  # fmt: skip
    return counterexample


def _assumptions(*exprs: E.Expr) -> Iterator[tuple[E.Variable, E.Variable, str, str]]:
    """(variable, the same with a property, the property in words, how to declare it)
    for each square matrix not declared symmetric and each vector not declared a
    probability vector."""
    found: dict[str, E.Variable] = {}
    for e in exprs:
        found.update(E.variables(e))
    for name, var in sorted(found.items()):
        if var.kind == "matrix" and var.rows == var.cols and not var.symmetric:
            yield (
                var, C.matrix(name, var.rows, var.cols, symmetric=True),
                f"{name} is symmetric",
                f"mc.matrix({name!r}, {var.rows}, {var.cols}, symmetric=True), or "
                f"--shape {name}={var.rows},{var.cols},symmetric",
            )  # fmt: skip
        if var.kind == "vector" and var.cols == 1 and not var.probability:
            yield (
                var, C.vector(name, var.rows, probability=True),
                f"{name} is a probability vector (entries ≥ 0 summing to 1)",
                f"mc.vector({name!r}, {var.rows}, probability=True), or "
                f"--shape {name}={var.rows},probability",
            )  # fmt: skip


def _assumption(
    claim: E.Expr, truth: E.Expr, label: str, context: list[E.Expr], seed: int
) -> Verdict | None:
    """A claim that holds only under an assumption the variables do not declare says
    which (2 S x for xᵀ S x holds when S is symmetric)."""
    for var, assumed, words, declare in _assumptions(claim, truth, *context):

        def swap(e: E.Expr, var: E.Variable = var, assumed: E.Variable = assumed) -> E.Expr:
            return E.substitute(e, var, assumed)

        verdict = compare(
            swap(claim), swap(truth), label, [swap(c) for c in context], seed,
            assume=False, diagnose=False,
        )  # fmt: skip
        if verdict.ok:
            message = (
                f"holds only if {words}: your result equals {label} when {words}, but "
                f"{var.name} is not declared so (declare it: {declare})"
            )
            return Verdict(False, message, verdict.method, "assumption")
    return None


def _bounded(function: Callable[[E.Expr], E.Expr | None], expr: E.Expr) -> E.Expr | None:
    """function(expr), or None where the expression is too deep for it (the numbers decide)."""
    try:
        return function(expr)
    except RecursionError:
        return None


# -- diagnosis ----------
def _try(build: Callable[..., E.Expr], *args: object) -> E.Expr | None:
    """build(*args), or None where that is not a well-shaped expression."""
    try:
        return build(*args)
    except MatcalcError:
        return None


def _nice(value: float) -> str:
    fraction = Fraction(value).limit_denominator(12)
    if abs(float(fraction) - value) > 1e-6 * max(1.0, abs(value)):
        return f"{value:.6g}"
    return str(fraction)


def _diagnose(claim, truth, label, fits, sample_list, values) -> Verdict | None:
    def wrong(message: str, code: str) -> Verdict:
        return Verdict(False, message, "numeric", code)

    transposed = _try(lambda: E.Transpose.make(claim))
    if transposed is not None and fits(transposed):
        shapes = (
            f" (your result is {format_shape(claim.shape)}, {label} is {format_shape(truth.shape)})"
            if claim.shape != truth.shape
            else ""
        )
        return wrong(
            f"your result is the transpose of {label}{shapes}: transpose it (numerator vs "
            "denominator layout)",
            "transpose",
        )
    if claim.shape == truth.shape and fits(E.Neg.make(claim)):
        return wrong(f"wrong sign: {label} is the negative of your result", "sign")
    factor = _factor(claim, sample_list, values)
    if factor is not None and fits(E.Mul.make(E.as_expr(factor), claim)):
        shown = _nice(1 / factor)
        return wrong(f"off by a factor of {shown}: your result is {shown} times {label}", "factor")
    for node, fixed_node, message, code in _fixes(claim):
        fixed = _try(E.substitute, claim, node, fixed_node)
        if fixed is not None and fits(fixed):
            return wrong(message(), code)
    if claim.shape == truth.shape:
        return _missing_or_extra(claim, truth, label, fits)
    return None


Message = Callable[[], str]  # a diagnosis's sentence, printed only for the one that fits
MAX_FIXES = 400  # candidate corrections tried on one claim (bounded work)
FIX_WORK = 200_000  # nodes rebuilt and evaluated, in all, by the corrections tried


def _fixes(claim: E.Expr) -> Iterator[tuple[E.Expr, E.Expr, Message, str]]:
    """(node to replace, its replacement, message, code), for each local correction,
    at most MAX_FIXES of them.

    A correction applies to every use of a node, and also to each single use
    (σ(z) may be right inside a − y and wrong as the factor next to it).
    """
    parents: dict[int, list[E.Expr]] = {}
    for node in E.postorder(claim):
        for child in node.args:
            parents.setdefault(id(child), []).append(node)
    named = named_derivatives(claim)
    order = E.postorder(claim)
    # each fix costs a substitution and an evaluation of the claim: bound their total
    budget = max(20, min(MAX_FIXES, FIX_WORK // max(1, len(order))))
    tried = 0
    for node in order:
        for candidate, message, code in _node_fixes(node, named):
            tried += 1
            if tried > budget:
                return
            yield node, candidate, message, code
            for parent in parents.get(id(node), []):
                for index, child in enumerate(parent.args):
                    if child is node:
                        args = list(parent.args)
                        args[index] = candidate
                        replaced = _try(parent.with_args, *args)
                        if replaced is not None:
                            yield parent, replaced, message, code


def _missing_or_extra(claim, truth, label, fits) -> Verdict | None:
    """Compare the canonical terms: some of the truth's terms absent, or extra ones."""
    normalizer = Normalizer()
    truth_form, claim_form = _bounded(canonical, truth), _bounded(canonical, claim)
    if truth_form is None or claim_form is None:
        return None  # too large to compare term by term
    truth_terms = {normalizer.key(t): (c, t) for c, t in normalizer.terms(truth_form)}
    claim_terms = {normalizer.key(t): (c, t) for c, t in normalizer.terms(claim_form)}

    def part(terms: dict, keys: list[str]) -> E.Expr:
        return s.simplify(normalizer.total([terms[k] for k in keys], truth.shape))

    def same(k: str) -> bool:
        return k in truth_terms and k in claim_terms and truth_terms[k][0] == claim_terms[k][0]

    absent = [k for k in truth_terms if not same(k)]
    surplus = [k for k in claim_terms if not same(k)]
    if absent and not surplus:
        missing = part(truth_terms, absent)
        if fits(E.Add.make(claim, missing)):
            message = f"a term is missing: {label} also has {text(missing)}"
            return Verdict(False, message, "numeric", "missing term")
    if surplus and not absent:
        extra = part(claim_terms, surplus)
        if fits(E.Sub.make(claim, extra)):
            message = f"an extra term: your result has {text(extra)}, which {label} has not"
            return Verdict(False, message, "numeric", "extra term")
    return None


# each product, the one students confuse it with, and how to say so
OTHER_PRODUCT: dict[type[E.Expr], tuple[type[E.Expr], str]] = {
    E.Mul: (E.MatMul, "a Hadamard product ⊙ where a matrix product belongs"),
    E.MatMul: (E.Mul, "a matrix product where a Hadamard product ⊙ belongs"),
}


def _other_product(
    node: E.Expr, other: type[E.Expr], mistake: str, code: str
) -> Iterator[tuple[E.Expr, Message, str]]:
    """node's operands combined by the other product, in the orientations that fit."""
    a, b = node.args
    for left, right in ((a, b), (E.Transpose.make(a), b), (a, E.Transpose.make(b))):
        candidate = _try(other.make, left, right)
        if candidate is not None:

            def message(candidate: E.Expr = candidate) -> str:
                return f"{text(node)} uses {mistake}: {text(s.simplify(candidate))}"

            yield candidate, message, code


def _node_fixes(node: E.Expr, named: dict) -> Iterator[tuple[E.Expr, Message, str]]:
    """Local corrections of one node: the mistakes students make."""
    if type(node) in OTHER_PRODUCT and not any(arg.is_scalar for arg in node.args):
        other, mistake = OTHER_PRODUCT[type(node)]
        code = "hadamard for matrix product" if other is E.MatMul else "matrix product for hadamard"
        yield from _other_product(node, other, mistake, code)
    if isinstance(node, E.MatMul):
        a, b = node.args
        swapped = _try(lambda: E.MatMul.make(b, a))
        if swapped is not None:
            yield (
                swapped,
                lambda: f"the factors of {text(node)} are in the wrong order: {text(swapped)}",
                "argument order",
            )
        swapped_t = _try(lambda: E.MatMul.make(E.Transpose.make(b), E.Transpose.make(a)))
        if swapped_t is not None:
            yield (
                swapped_t,
                lambda: f"the factors of {text(node)} are in the wrong order: {text(swapped_t)}",
                "argument order",
            )
    if isinstance(node, E.Maximum):  # max(0, u) is relu(u), whose derivative is step(u)
        for zero, u in (node.args, node.args[::-1]):
            if isinstance(zero, E.Const) and zero.value == 0:

                def to_step(u: E.Expr = u) -> str:
                    return f"{text(node)} should be its derivative step({text(u)})"

                yield E.Apply.make("step", u), to_step, "function for its derivative"
    if isinstance(node, E.Apply):
        entry = FUNCTIONS[node.fn]
        if entry.derivative is not None:
            prime = entry.derivative(s, node.a, node)

            def shown_prime() -> str:
                shown = TEXT.prime(entry, Printed(text(node.a), ATOM)).text
                return f"{text(node)} should be its derivative {shown}"

            yield prime, shown_prime, "function for its derivative"
    found = named.get(id(node))
    if found is not None:
        fn, z = found
        original = E.Apply.make(fn, z)
        yield (
            original,
            lambda: f"{text(node)} should be {text(original)} itself, not its derivative",
            "derivative for the function",
        )


def _factor(claim, sample_list, values) -> float | None:
    with np.errstate(all="ignore"):  # a huge claim overflows here: then no factor
        return _least_squares_factor(claim, sample_list, values)


def _least_squares_factor(claim, sample_list, values) -> float | None:
    for sm, v in zip(sample_list, values, strict=True):
        c = _value(claim, sm)
        if c is None or v is None or c.shape != v.shape:
            return None
        denominator = float(np.sum(c * c))
        if denominator > 1e-12:
            k = float(np.sum(c * v)) / denominator
            return k if abs(k) > 1e-9 and abs(k - 1) > 1e-9 else None
    return None


def _counterexample(claim, truth, label, sample_list, values) -> Verdict:
    for sm, v in zip(sample_list, values, strict=True):
        c = _value(claim, sm)
        if c is None or v is None:
            continue
        with np.errstate(all="ignore"):
            gap = np.abs(c - v)
        index = tuple(int(i) for i in np.unravel_index(int(np.argmax(gap)), gap.shape))
        if _close(c, v):
            continue
        sizes = ", ".join(f"{d} = {n}" for d, n in sm.sizes.items()) or "these sizes"
        data = {
            "sizes": {str(d): n for d, n in sm.sizes.items()},
            "values": {k: a.tolist() for k, a in sm.arrays.items()},
            "entry": index,
            "claimed": float(c[index]),
            "expected": float(v[index]),
        }
        message = (
            f"not equal to {label}: with {sizes}, entry {index} of {label} is "
            f"{float(v[index]):.6g} but your result gives {float(c[index]):.6g}"
        )
        return Verdict(False, message, "numeric", "counterexample", data)
    return Verdict(
        False,
        f"your result is not defined where {label} is (it takes a log, root or inverse "
        "of values outside its domain on the tests)",
        "numeric",
        "domain",
    )
