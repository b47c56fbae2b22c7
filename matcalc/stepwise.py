"""Step-by-step derivations: what the chain rule did, in the lecture's words.

``derive(f, X)`` names the intermediates (z = W x + b, a = σ(z), r = a − y),
gives each local Jacobian with its rule, combines them by the chain rule,
shows each structural collapse as its own step ((a − y)ᵀ diag(σ′(z)) =
((a − y) ⊙ σ′(z))ᵀ =: δᵀ), and ends with the result in the variable's
layout.  The engine computes: the gradients come from one reverse sweep
whose recorder also tells which rule each local Jacobian used; the local
Jacobians between two named intermediates come from its forward mode.
This module only watches and names.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from . import differentials
from . import expr as E
from . import simplifier as s
from .algebra import textbook_forms
from .derivation import (
    Derivation,
    Formula,
    Name,
    Names,
    Partial,
    Piece,
    Product,
    Step,
    Symbol,
    Total,
    Words,
)
from .dims import format_shape, vector_length
from .engine import (
    check_variable,
    dependents,
    forward_jacobian,
    grad,
    jacobian,
    local_dependents,
    reverse_sweep,
)
from .errors import DerivativeError
from .jacobian import LinearMap
from .names import checked_name
from .notation import kind_of, latex_name

# The rule each local Jacobian of the reverse sweep used: (id(node), argument index) → rule.
AppliedRules = dict[tuple[int, int], str]


# -- naming the intermediates ---------------------------------------------------------------
LETTERS = {"activation": "a", "preactivation": "z", "residual": "r", "shared": "u"}


def _parents(order: list[E.Expr]) -> dict[int, list[E.Expr]]:
    parents: dict[int, list[E.Expr]] = {}
    for node in order:
        for child in node.args:
            parents.setdefault(id(child), [])
            if not any(p is node for p in parents[id(child)]):
                parents[id(child)].append(node)
    return parents


def _role(node: E.Expr, parents: dict[int, list[E.Expr]], roles: dict[int, str]) -> str | None:
    if isinstance(node, E.Apply | E.Softmax | E.Maximum):
        return "activation"
    ups = parents.get(id(node), [])
    if any(isinstance(p, E.Apply | E.Softmax | E.LogSumExp | E.Maximum) for p in ups):
        return "preactivation"
    if isinstance(node, E.Sub | E.Add) and any(isinstance(p, E.Pow | E.Norm) for p in ups):
        return "residual"
    if len(ups) > 1 and not isinstance(node, E.Transpose):
        return "shared"
    return None


def _symbol(letter: str, index: int | None, node: E.Expr) -> Symbol:
    kind = kind_of(node)
    latex_base = latex_name(letter, kind)
    if index is None:
        return Symbol(letter, latex_base)
    return Symbol(f"{letter}{index}", f"{latex_base}_{{{index}}}")


def _delta_symbol(z_symbol: Symbol, node: E.Expr) -> Symbol:
    index = z_symbol.text[1:]
    latex = latex_name("delta", kind_of(node))
    return Symbol("δ" + index, latex + (f"_{{{index}}}" if index else ""))


def choose_names(
    f: E.Expr, order: list[E.Expr], needed: set[int], root: Symbol, every: bool = False
) -> tuple[Names, dict[int, Symbol], list[E.Expr]]:
    """Name the intermediates on the paths to the variable, lecture style: the
    activations a, preactivations z, residuals r and shared subexpressions u; with
    every, each other operation too (u), so each step applies one rule."""
    parents = _parents(order)
    roles: dict[int, str] = {}
    named: list[E.Expr] = []
    for node in order:
        if node is f or id(node) not in needed or not node.args:
            continue
        role = _role(node, parents, roles)
        if role is None and every and not isinstance(node, E.Transpose):
            role = "shared"
        if role is not None:
            roles[id(node)] = role
            named.append(node)
    counts: dict[str, int] = {}
    for node in named:
        counts[roles[id(node)]] = counts.get(roles[id(node)], 0) + 1
    seen: dict[str, int] = {}
    names = Names()
    symbols: dict[int, Symbol] = {}
    layered = counts.get("preactivation", 0) > 1 or counts.get("activation", 0) > 1
    layer_of: dict[int, int] = {}  # a layer's activation takes its preactivation's index
    for node in named:
        role = roles[id(node)]
        seen[role] = seen.get(role, 0) + 1
        index = seen[role] if counts[role] > 1 else None
        if role == "activation" and layered and node.args and id(node.args[0]) in layer_of:
            index = layer_of[id(node.args[0])]
        elif role in ("activation", "preactivation") and layered:
            index = seen[role]
        if role == "preactivation" and index is not None:
            layer_of[id(node)] = index
        symbols[id(node)] = _symbol(LETTERS[role], index, node)
        names.add(node, symbols[id(node)])
    symbols[id(f)] = root
    names.add(f, root)
    return names, symbols, named


# -- the derivation of a gradient ---------------------------------------------------------------
def _variable_symbol(x: E.Variable) -> Symbol:
    return Symbol(x.name, latex_name(x.name, x.kind))


def _row(adjoint: E.Expr, names: Names) -> E.Expr:
    """∂f/∂N in numerator layout: the gradient as a row (δᵀ for a named δ)."""
    if adjoint.is_scalar:
        return adjoint
    return E.Transpose.make(adjoint) if id(adjoint) in names.text else s.transpose(adjoint)


def _nearest_named(start: list[E.Expr], step, symbols: dict[int, Symbol]) -> list[E.Expr]:
    """The named nodes first reached from start, moving by step, passing unnamed ones."""
    found: list[E.Expr] = []
    stack = list(start)
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if id(node) in symbols:
            found.append(node)
        else:
            stack.extend(step(node))
    return found


def _nearest_named_parents(
    node: E.Expr, parents: dict[int, list[E.Expr]], symbols: dict[int, Symbol]
) -> list[E.Expr]:
    return _nearest_named(parents.get(id(node), []), lambda n: parents.get(id(n), []), symbols)


def _rule_of(rules: list[str]) -> tuple[str, str]:
    """The rule of the operation applied to the node itself (the first one used,
    counting from the node upward), and a note naming the others on the path."""
    if not rules:
        return "elementwise binary operation", ""
    # A transpose only reorients a vector: the operation after it says more.
    main = next((r for r in rules if r != "transpose"), rules[0])
    others = [r for r in dict.fromkeys(rules) if r != main]
    return main, ("with " + ", ".join(others)) if others else ""


DETAILS = ("compact", "lecture")


def derive(
    f: object,
    x: E.Variable | Sequence[E.Variable],
    layout: str = "numerator",
    name: str = "f",
    detail: str = "compact",
) -> Derivation:
    """The derivation of grad(f, x) (scalar f) or jacobian(f, x) (vector f), step by step.

    A list of variables derives all their gradients in one reverse sweep, so
    each δ is derived once and reused (Nielsen's BP1–BP4 for a network).
    name is the function's name in the steps ("C" for a cost).

    layout="numerator" (the default): ∂y/∂x has one row per entry of y and a
    gradient is shaped like its variable.  layout="denominator": ∂y/∂x has one
    row per entry of x, so local Jacobians appear transposed.

    detail="compact" names the lecture's intermediates (z, a, r, shared ones) and
    may apply several rules in one step; detail="lecture" names every operation,
    so each step is one local Jacobian by one rule (elementwise binary operation,
    Hadamard product, scalar expansion, sum, elementwise function, matrix
    product), then its chain-rule product and the collapse of its structure.
    """
    if detail not in DETAILS:
        raise DerivativeError(f"derive: detail must be 'compact' or 'lecture', got {detail!r}")
    if layout not in ("numerator", "denominator"):
        raise DerivativeError(
            f"derive: layout must be 'numerator' or 'denominator', got {layout!r}"
        )
    name = _function_name(name)
    f = E.as_expr(f, "derive")
    if isinstance(x, list | tuple):
        xs = [check_variable("derive", v) for v in x]
        if not f.is_scalar:
            raise DerivativeError("derive: several variables need a scalar f (a gradient)")
        return _derive_gradient(f, xs, layout, name, detail)
    x = check_variable("derive", x)
    if f.is_scalar:
        return _derive_gradient(f, [x], layout, name, detail)
    if vector_length(f.shape) is None or vector_length(x.shape) is None:
        raise DerivativeError(
            f"derive: f must be a scalar, or f and x vectors, but f is {format_shape(f.shape)} "
            f"and {x.name} is {format_shape(x.shape)}: the derivative of a vector or matrix by a "
            "matrix is a tensor of three or four indices; differentiate a scalar of it "
            "(sum(f), tr(f), one entry), or a vector by a vector"
        )
    return _derive_jacobian(s.simplify(f), x, layout, name, detail)


def _function_name(name: object) -> str:
    """The function's name in the steps: a name (C, f, loss), or ∇ and one for a
    gradient's Jacobian (the Hessian's steps)."""
    if isinstance(name, str) and name.startswith("∇"):
        return "∇" + checked_name(name[1:], "derive")
    return checked_name(name, "derive")


def _layout_step(layout: str, names: Names, gradient: bool) -> Step:
    if layout == "numerator":
        words = "numerator layout: ∂y/∂x has one row per entry of y"
    else:
        words = "denominator layout: ∂y/∂x has one row per entry of x (numerator layout transposed)"
    if gradient:
        words += "; the gradient ∂f/∂X is shaped like X"
    return Step("layout", (Words(words, words.replace("∂", "d")),), names)


def _definitions(named, f, symbols, names, root: Symbol) -> list[Step]:
    steps = []
    for node in [*named, f]:
        symbol = root if node is f else symbols[id(node)]  # f = x: f, not x, is defined
        steps.append(
            Step(
                "definition",
                (Name(symbol), Formula(node, top=True)),
                names,
                note=format_shape(node.shape).replace(", ", "×")[1:-1],
            )
        )
    return steps


def _stable_form(typed: E.Expr, root: Symbol) -> tuple[E.Expr, list[Step]]:
    """f in the simplifier's normal form, and a step naming the stable rewrites
    when they changed it (log σ(t) = −softplus(−t): the derivative of what is
    computed, not of what overflows)."""
    before = s.FIRED.copy()
    f = s.simplify(typed)
    fired = [name for name in s.STABLE_FORMS if s.FIRED[name] > before[name]]
    if f is typed or not fired:
        return f, []
    note = "; ".join(s.STABLE_FORMS[name] for name in fired)
    pieces = (Name(root), Formula(typed, top=True), Formula(f, top=True))
    return f, [Step("stable form", pieces, Names(), note=note)]


def _derive_gradient(
    typed: E.Expr, xs: list[E.Variable], layout: str, name: str, detail: str
) -> Derivation:
    root = Symbol(name, latex_name(name, "scalar"))
    f, stable = _stable_form(typed, root)
    order = E.postorder(f)
    needed = dependents(order, xs)
    if len(xs) == 1 and differentials.applies(f, xs[0]):
        try:
            return _derive_by_differentials(f, xs[0], layout, root, stable)
        except differentials.UnsupportedError:  # an elementwise function of a matrix: Jacobians
            pass
    names, symbols, named = choose_names(f, order, needed, root, detail == "lecture")
    title = ", ".join(f"∂{name}/∂{x.name}" for x in xs)
    steps = [
        _layout_step(layout, names, True),
        *stable,
        *_definitions(named, f, symbols, names, root),
    ]
    applied: AppliedRules = {}

    def record(node: E.Expr, index: int, local: LinearMap, g: E.Expr, out: E.Expr) -> None:
        applied[(id(node), index)] = local.rule

    adjoint = reverse_sweep(f, xs, record)
    for x in xs:
        symbols[id(x)] = _variable_symbol(x)
    sweep = Sweep(
        adjoint, applied, _parents(order), symbols, names, frozenset(symbols), layout, root
    )
    for node in reversed(named):  # from f down: each δ is found once and reused
        if id(node) in adjoint:  # else every path to it has a zero local Jacobian
            steps += _gradient_steps(node, sweep)
    found = [adjoint[id(x)] for x in xs if id(x) in adjoint]
    shown = dict(zip([id(x) for x in xs if id(x) in adjoint], textbook_forms(*found), strict=True))
    results = []
    for x in xs:
        x_symbol = symbols[id(x)]
        unused = id(x) not in adjoint  # f does not depend on x, or only through f′ = 0
        if unused:
            result = s.zero(x.shape)
        else:
            steps += _gradient_steps(x, sweep)
            result = shown[id(x)]
            steps += _layout_switch(steps[-1], x, adjoint[id(x)], sweep)
            if result is not adjoint[id(x)]:  # sympy's algebra, or transposes gathered
                pieces = (Partial(root, x_symbol), Formula(adjoint[id(x)]), Formula(result))
                note = "elementwise algebra: σ′ = σ(1 − σ), σ(−t) = 1 − σ(t), like terms"
                steps.append(Step("cancellation", pieces, names, note=note))
        results.append(result)
        shape_note = f"shaped like {x.name}, {format_shape(x.shape).replace(', ', '×')[1:-1]}"
        if unused:
            shape_note = f"{name} does not depend on {x.name}: a zero {shape_note}"
        # the result never prints as a name (f = 0 and a zero gradient are one node)
        result_names = Names() if result is f else names
        final = Step(
            "result", (Partial(root, x_symbol), Formula(result)), result_names, note=shape_note
        )
        if _same_step(steps[-1], final, result):  # it already gave the gradient: say so
            last = steps.pop()
            note = "; ".join(filter(None, [last.note, f"the result, {shape_note}"]))
            final = Step(last.rule, last.pieces, last.names, note=note)
        steps.append(final)
        if len(xs) == 1 and _uses_names(result, names):
            expanded = Step("result", (Partial(root, x_symbol), Formula(result, top=True)), Names())
            # σ′(X) may print alike either way (compared only when small: printing costs)
            if not _smaller_than(result, SHORT) or expanded.formula() != final.formula():
                steps.append(expanded)
    outcome = results[0] if len(xs) == 1 else tuple(results)
    nodes = {symbols[key].text: node for node in order if (key := id(node)) in symbols}
    by_text = {symbol.text: symbol for symbol in symbols.values()}
    return Derivation(title, f, xs[0], layout, steps, outcome, names, nodes, by_text)


def _derive_by_differentials(
    f: E.Expr, x: E.Variable, layout: str, root: Symbol, stable: list[Step]
) -> Derivation:
    """df by the rules of differentials, each term turned to tr(G dX) by the cyclic
    property, ∂f/∂X read off by identification (df = tr(M dX) ⇔ ∂f/∂X = Mᵀ), then
    the gradient in its textbook form (see ``differentials``)."""
    d = differentials.expand(f, x)
    names = Names()
    names.add(f, root)
    d_root = Symbol("d" + root.text, rf"\mathrm{{d}}{root.latex}")
    x_symbol = _variable_symbol(x)
    dx_symbol = Symbol(d.dx.name, rf"\mathrm{{d}}{x_symbol.latex}")
    names.add(d.dx, dx_symbol)
    steps = [_layout_step(layout, names, True), *stable, *_definitions([], f, {}, names, root)]
    rules = "; ".join(reversed(d.rules))
    differential = Formula(d.expr())
    steps.append(Step("differential", (Name(d_root), differential), names, note=rules))
    cyclic = Formula(d.expr(d.cyclic()))
    if cyclic.text(names) != differential.text(names):
        note = (
            "tr(A B) = tr(B A), tr(Aᵀ) = tr(A)"
            if x.kind == "matrix"
            else "a scalar is its own transpose: aᵀ M b = bᵀ Mᵀ a"
        )
        steps.append(Step("cyclic trace", (Name(d_root), cyclic), names, note=note))
    m = s.simplify(d.coefficient())
    gradient = s.simplify(s.transpose(m))
    result = textbook_forms(grad(f, x))[0]
    partial = Partial(root, x_symbol)
    if x.kind == "matrix":
        note = (
            f"d{root.text} = tr(M d{x.name}) gives ∂{root.text}/∂{x.name} = Mᵀ, "
            f"shaped like {x.name}"
        )
        steps.append(Step("identification", (partial, Formula(gradient)), names, note=note))
    elif layout == "denominator":  # ∂f/∂x has one row per entry of x: Mᵀ at once
        note = f"d{root.text} = M d{x.name} gives ∂{root.text}/∂{x.name} = Mᵀ in this layout"
        steps.append(Step("identification", (partial, Formula(gradient)), names, note=note))
    else:
        note = f"d{root.text} = M d{x.name} gives ∂{root.text}/∂{x.name} = M, a row"
        steps.append(Step("identification", (partial, Formula(m)), names, note=note))
        if not x.is_scalar:
            note = (
                f"the gradient, shaped like {x.name}, is the row ∂{root.text}/∂{x.name} transposed"
            )
            steps.append(Step("layout", (partial, Formula(gradient)), names, note=note))
    shape_note = f"shaped like {x.name}, {format_shape(x.shape).replace(', ', '×')[1:-1]}"
    plain = Names()  # the result spelled out: det(X) X⁻ᵀ, not f X⁻ᵀ
    final = Step("result", (partial, Formula(result)), plain, note=shape_note)
    if steps[-1].formula() == final.formula():
        last = steps.pop()
        final = Step(
            last.rule, last.pieces, last.names, note=f"{last.note}; the result, {shape_note}"
        )
    steps.append(final)
    nodes = {root.text: f, x.name: x, d.dx.name: d.dx}
    by_text = {root.text: root, x.name: x_symbol, d.dx.name: dx_symbol}
    return Derivation(f"∂{root.text}/∂{x.name}", f, x, layout, steps, result, names, nodes, by_text)


@dataclass(frozen=True)
class Sweep:
    """What one reverse sweep knows, and the derivation's names, while steps are written."""

    adjoint: dict[int, E.Expr]  # ∂f/∂N of every node N on a path to the variables
    applied: AppliedRules
    parents: dict[int, list[E.Expr]]
    symbols: dict[int, Symbol]
    names: Names
    frozen: frozenset[int]  # the named nodes: local Jacobians stop at them
    layout: str
    root: Symbol


def _gradient_steps(node: E.Expr, sweep: Sweep) -> list[Step]:
    g = sweep.adjoint[id(node)]
    ups = [
        up
        for up in _nearest_named_parents(node, sweep.parents, sweep.symbols)
        if id(up) in sweep.adjoint  # a parent f does not depend on adds nothing
    ]
    steps = _chain_steps(node, g, ups, sweep)
    me = sweep.symbols[id(node)]
    if _is_preactivation(me) and id(g) not in sweep.names.text:
        sweep.names.add(g, _delta_symbol(me, node))
    return steps


def _layout_switch(last: Step, x: E.Variable, gradient: E.Expr, sweep: Sweep) -> list[Step]:
    """When the chain rule gave ∂f/∂x as a row (numerator layout) and x is a column, the
    step that says so: the gradient, shaped like x, is that row transposed."""
    shown = last.pieces[-1]  # a row: a Formula of shape (1, n), or a chain-rule product
    if (
        sweep.layout != "numerator"
        or not x.is_column
        or x.is_scalar
        or (isinstance(shown, Formula) and shown.expr.shape == x.shape)
    ):
        return []
    pieces = (Partial(sweep.root, sweep.symbols[id(x)]), Formula(gradient))
    note = f"the gradient, shaped like {x.name}, is the row ∂{sweep.root.text}/∂{x.name} transposed"
    return [Step("layout", pieces, sweep.names, note=note)]


def _chain_steps(node: E.Expr, g: E.Expr, ups: list[E.Expr], sweep: Sweep) -> list[Step]:
    """The steps that give ∂f/∂node from its nearest named parents."""
    me = sweep.symbols[id(node)]
    vectorial = vector_length(node.shape) is not None and all(
        vector_length(p.shape) is not None for p in ups
    )
    if vectorial:
        try:
            return _jacobian_chain(node, g, ups, sweep)
        except DerivativeError:  # a matrix between them after all
            pass
    # A matrix on the path: its Jacobian is a tensor, so give the gradient directly.
    rules: list[str] = []
    for up in ups:
        rules += _rules_between(up, node, sweep)
    rule, note = _rule_of(rules)
    delta = _delta_symbol(me, node) if _is_preactivation(me) else None
    pieces = (Partial(sweep.root, me), Formula(g, top=delta is not None))  # δ once defined
    return [Step(rule, pieces, sweep.names, define=delta, note=note)]


def _is_preactivation(symbol: Symbol) -> bool:
    return symbol.text.startswith("z")


def _rules_between(up: E.Expr, node: E.Expr, sweep: Sweep) -> list[str]:
    """The rules the sweep applied on the paths from up down to node."""
    # only the nodes from up down to the named ones below it (its whole history would
    # make a deep network's derivation quadratic)
    order, needed = local_dependents(up, node, sweep.frozen)
    rules: list[str] = []
    for item in order:
        if id(item) not in needed or item is node:
            continue
        for index, child in enumerate(item.args):
            rule = sweep.applied.get((id(item), index))
            if id(child) in needed and rule is not None:
                rules.append(rule)
    return rules


def _jacobian_chain(node: E.Expr, g: E.Expr, ups: list[E.Expr], sweep: Sweep) -> list[Step]:
    """Local Jacobians, their product by the chain rule, then the collapsed row."""
    symbols, names, layout, root = sweep.symbols, sweep.names, sweep.layout, sweep.root
    me = symbols[id(node)]
    steps: list[Step] = []
    factors: list[Piece] = []
    products: list[Piece] = []
    for up in ups:
        rules: list[str] = []
        rows, cols = vector_length(up.shape), vector_length(node.shape)
        local = forward_jacobian(up, node, rows, cols, sweep.frozen, rules)
        up_symbol = symbols[id(up)]
        shown = local if layout == "numerator" else s.transpose(local)
        rule, note = _rule_of(rules)
        steps.append(Step(rule, (Partial(up_symbol, me), Formula(shown)), names, note=note))
        if up_symbol == root:  # ∂f/∂f = 1: the local Jacobian is the whole term
            factors.append(Partial(up_symbol, me))
            products.append(Formula(shown))
            continue
        up_grad = sweep.adjoint[id(up)]
        if layout == "numerator":
            factors.append(Product((Partial(root, up_symbol), Partial(up_symbol, me))))
            products.append(Product((Formula(_row(up_grad, names)), Formula(local))))
        else:
            factors.append(Product((Partial(up_symbol, me), Partial(root, up_symbol))))
            products.append(Product((Formula(shown), Formula(up_grad))))
    collapsed = Formula(_row(g, names) if layout == "numerator" else g)
    delta = _delta_symbol(me, node) if _is_preactivation(me) else None
    if delta is not None and layout == "numerator" and not g.is_scalar:
        delta = Symbol(delta.text + "ᵀ", delta.latex + "^\\top")
    only_root = len(ups) == 1 and symbols[id(ups[0])] == root
    if not only_root:
        steps.append(
            Step(
                "chain rule",
                (Partial(root, me), Total(tuple(factors)), Total(tuple(products))),
                names,
            )
        )
    collapse = Step("simplification", (Partial(root, me), collapsed), names, define=delta)
    if not _shown_alike(collapse, steps[-1], g) or delta is not None:
        steps.append(collapse)
    return steps


SHORT = 200  # nodes: a row this small is compared as printed; a larger one by identity


def _same_step(before: Step, final: Step, result: E.Expr) -> bool:
    """Does the step before already say ∂f/∂x = result?  As printed when small; a large
    result only if that step ends in the very node (printing it costs its size)."""
    last = before.pieces[-1]
    if isinstance(last, Formula) and last.expr is result and len(before.pieces) == 2:
        if not _smaller_than(result, SHORT):
            return before.pieces[0] == final.pieces[0]  # the same ∂f/∂x, the same node
        return before.formula() == final.formula()
    return _smaller_than(result, SHORT) and before.formula() == final.formula()


def _uses_names(result: E.Expr, names: Names) -> bool:
    """Does result print differently with the derivation's names (a named part)?"""
    return any(id(node) in names.text for node in E.postorder(result) if node is not result)


def _shown_alike(collapse: Step, before: Step, row: E.Expr) -> bool:
    """Would the collapsed row print as the step before's last piece?  Printed text
    costs the row's size at every step (quadratic down a deep network), so a large
    row is compared as an expression: the same interned node, or not alike."""
    a, b = collapse.pieces[-1], before.pieces[-1]
    if isinstance(a, Formula) and isinstance(b, Formula) and a.expr is b.expr:
        return True
    if not _smaller_than(row, SHORT):
        return False
    return a.text(collapse.names) == b.text(before.names)


# Each node's height (the nodes on its longest path down to a leaf), held weakly.  It is
# a lower bound on the node's count of distinct nodes (a path's nodes are distinct) that
# costs one step per node ever seen (a parent's is one more than its highest child's),
# so the rows of a deep network, which contain one another, are found large at once
# instead of by counting 200 nodes each.
_HEIGHTS: weakref.WeakKeyDictionary[E.Expr, int] = weakref.WeakKeyDictionary()


def _height(expr: E.Expr) -> int:
    """The number of nodes on the longest path from expr down to a leaf."""
    heights = _HEIGHTS
    known = heights.get(expr)
    if known is not None:
        return known
    stack: list[tuple[E.Expr, bool]] = [(expr, False)]
    while stack:  # iterative: a deep network's rows are thousands of nodes high
        node, expanded = stack.pop()
        if expanded:
            heights[node] = 1 + max((heights[c] for c in node.args), default=0)
        elif node not in heights:
            stack.append((node, True))
            stack.extend((c, False) for c in node.args if c not in heights)
    return heights[expr]


def _smaller_than(expr: E.Expr, limit: int) -> bool:
    """Has expr fewer than limit distinct nodes?  Stops counting at the limit (and
    does not count when expr's height already reaches it)."""
    if _height(expr) >= limit:
        return False
    seen: set[int] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if len(seen) >= limit:
            return False
        stack.extend(node.args)
    return True


def _nearest_named_children(
    node: E.Expr, needed: set[int], symbols: dict[int, Symbol]
) -> list[E.Expr]:
    def down(n: E.Expr) -> list[E.Expr]:
        return [c for c in n.args if id(c) in needed]

    return _nearest_named(down(node), down, symbols)


def _derive_jacobian(f: E.Expr, x: E.Variable, layout: str, name: str, detail: str) -> Derivation:
    """Forward accumulation: ∂N/∂x = Σ ∂N/∂c ∂c/∂x over the named children c of N."""
    order = E.postorder(f)
    needed = dependents(order, [x])
    root = Symbol(name, latex_name(name, kind_of(f)))
    names, symbols, named = choose_names(f, order, needed, root, detail == "lecture")
    x_symbol = _variable_symbol(x)
    symbols[id(x)] = x_symbol
    steps = [_layout_step(layout, names, False), *_definitions(named, f, symbols, names, root)]
    frozen = frozenset(symbols)
    cols = vector_length(x.shape)
    numerator = layout == "numerator"
    for node in [*named, f]:
        if id(node) not in needed:
            continue
        me = symbols[id(node)]
        rows = vector_length(node.shape)
        factors: list[Piece] = []
        products: list[Piece] = []
        for down in _nearest_named_children(node, needed, symbols):
            rules: list[str] = []
            local = forward_jacobian(node, down, rows, vector_length(down.shape), frozen, rules)
            shown = local if numerator else s.transpose(local)
            rule, note = _rule_of(rules)
            down_symbol = symbols[id(down)]
            steps.append(Step(rule, (Partial(me, down_symbol), Formula(shown)), names, note=note))
            if down is x:
                factors.append(Partial(me, down_symbol))
                products.append(Formula(shown))
                continue
            down_jacobian = forward_jacobian(down, x, vector_length(down.shape), cols)
            pair = (Partial(me, down_symbol), Partial(down_symbol, x_symbol))
            values = (Formula(local), Formula(down_jacobian))
            if not numerator:
                pair = pair[::-1]
                values = (Formula(s.transpose(down_jacobian)), Formula(shown))
            factors.append(Product(pair))
            products.append(Product(values))
        total = forward_jacobian(node, x, rows, cols)
        total_shown = total if numerator else s.transpose(total)
        if len(products) > 1 or (products and not isinstance(products[0], Formula)):
            chain = (Partial(me, x_symbol), Total(tuple(factors)), Total(tuple(products)))
            steps.append(Step("chain rule", chain, names))
            collapse = Step("simplification", (Partial(me, x_symbol), Formula(total_shown)), names)
            if collapse.pieces[-1].text(names) != steps[-1].pieces[-1].text(names):
                steps.append(collapse)
    result = jacobian(f, x)
    shown_result = result if numerator else s.transpose(result)
    shape = format_shape(shown_result.shape).replace(", ", "×")[1:-1]
    final = Step("result", (Partial(root, x_symbol), Formula(shown_result)), names, note=shape)
    steps.append(final)
    nodes = {symbols[key].text: node for node in order if (key := id(node)) in symbols}
    by_text = {symbol.text: symbol for symbol in symbols.values()}
    title = f"∂{name}/∂{x.name}"
    return Derivation(title, f, x, layout, steps, shown_result, names, nodes, by_text)
