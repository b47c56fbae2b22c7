"""Write the teaching notebooks and store them with their outputs.

    .venv/bin/python notebooks/build_notebooks.py             # write and execute all five
    .venv/bin/python notebooks/build_notebooks.py 04          # only the ones whose names start so
    .venv/bin/python notebooks/build_notebooks.py --no-execute

The five notebooks follow the lecture's four parts (I the review of gradients and
Jacobians, II forward propagation, III the derivatives of a neuron, IV
backpropagation) and end with a clinic of typical mistakes.  Every formula they show
is produced or checked by matcalc: the Markdown cells hold prose, the code cells
compute.  Each notebook is executed on a Jupyter kernel running this Python (nbclient)
and stored with its outputs, plots as PNG, so that a reader browsing the repository
sees them; tests/test_notebooks.py executes each again and fails when the stored
outputs are stale (then run this script).
"""

from __future__ import annotations

import inspect
import os
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
from ipykernel.kernelspec import install
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import matcalc as mc
from matcalc.nn import Network

HERE = Path(__file__).resolve().parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

# SWITCH (issue 15, item 1): `mc.derive(f, x, detail="lecture")` shows every local Jacobian
# with its rule and every chain-rule product.  The cells marked "SWITCH" below use it as soon
# as this version of matcalc has it; until then they show the default derivation and say so.
LECTURE_DETAIL = "detail" in inspect.signature(mc.derive).parameters


# The notebooks' numeric check of a Jacobian, in the setup cell of each notebook that
# uses it (each notebook runs on its own)
FINITE_DIFFERENCES = r"""
    def finite_differences(f, var, values, h=1e-6):
        # Central differences of mc.evaluate(f): one column per entry of var (numerator layout).
        base = np.asarray(values[var.name], dtype=float)
        columns = []
        for k in range(base.size):
            e = np.zeros(base.size)
            e[k] = h
            up = mc.evaluate(f, {**values, var.name: (base.ravel() + e).reshape(base.shape)})
            down = mc.evaluate(f, {**values, var.name: (base.ravel() - e).reshape(base.shape)})
            columns.append((np.ravel(up) - np.ravel(down)) / (2 * h))
        return np.stack(columns, axis=1)
""".lstrip("\n")


def md(text: str):
    return new_markdown_cell(textwrap.dedent(text).strip())


def code(source: str):
    return new_code_cell(textwrap.dedent(source).strip())


def derive_cell(call: str, before: str = "") -> object:
    """A cell that displays mc.derive(...): with detail="lecture" when matcalc has it."""
    head = textwrap.dedent(before).strip()
    if LECTURE_DETAIL:
        line = call[:-1] + ', detail="lecture")'
        note = (
            "# detail='lecture': every local Jacobian, with its rule, and every chain-rule product"
        )
    else:
        line = call
        note = (
            "# SWITCH: once mc.derive accepts detail='lecture' (not in this version of matcalc),\n"
            "# add detail='lecture' to see every local Jacobian and every chain-rule product."
        )
    return new_code_cell("\n".join(part for part in (head, note, line) if part))


def network_derivation_cell() -> object:
    """Part IV's derivation of the whole network, labelled BP1–BP4 (Network.derivation);
    in lecture detail when matcalc has it (SWITCH)."""
    if "detail" in inspect.signature(Network.derivation).parameters:
        return code(r"""
        # detail='lecture': every local Jacobian, with its rule, and every chain-rule product
        network.derivation(detail="lecture")
        """)
    if LECTURE_DETAIL:
        return code(r"""
        # detail='lecture': every local Jacobian, with its rule, and every chain-rule product
        mc.derive(network.cost, network.parameters, name="C", detail="lecture")
        """)
    return code(r"""
    # SWITCH: once mc.derive accepts detail='lecture' (not in this version of matcalc), show
    # mc.derive(network.cost, network.parameters, name="C", detail="lecture") here: every local
    # Jacobian and every chain-rule product, layer by layer.
    network.derivation()
    """)


def notebook(name: str, cells: list) -> Path:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    path = HERE / name
    nbformat.write(nb, path)
    return path


def execute(path: Path, kernel: str) -> None:
    """Run the notebook top to bottom and store it with its outputs."""
    nb = nbformat.read(path, as_version=4)
    resources = {"metadata": {"path": str(HERE)}}
    NotebookClient(
        nb,
        timeout=300,
        kernel_name=kernel,
        resources=resources,
        record_timing=False,
        coalesce_streams=True,
    ).execute()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.get("language_info", {}).pop("version", None)
    nbformat.write(nb, path)


def kernel_for_this_python(prefix: str) -> str:
    """A kernelspec, in a scratch prefix, that runs this very Python (matcalc installed)."""
    install(prefix=prefix, kernel_name="matcalc-build")
    jupyter_path = str(Path(prefix) / "share" / "jupyter")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        filter(None, [jupyter_path, os.environ.get("JUPYTER_PATH")])
    )
    return "matcalc-build"


# ------------------------------------------------------------------------------------------
# Part I: gradients and Jacobians
# ------------------------------------------------------------------------------------------
PART_I = [
    md(r"""
    # Part I — A review of gradients and Jacobians

    A neural network is a long composition of simple functions, and training it needs
    the derivative of one number (the cost) with respect to thousands of numbers (the
    weights).  Everything in the later parts rests on four ideas from this one: the
    derivative of a function of one variable, the partial derivative and the gradient
    of a function of many variables, the Jacobian matrix of a function with many
    outputs, and the chain rule that multiplies Jacobians.

    The notebook runs on **matcalc**: you write a function with named vectors and
    matrices, and matcalc derives its gradient or Jacobian symbolically, shows the
    derivation step by step in the rules' own words, and checks an answer that you
    derived by hand.  Every result below is also compared with numbers that matcalc did
    not produce: central finite differences.

    **Reading guide.**

    | here | the lecture (times approximate) | Parr & Howard, *The Matrix Calculus You Need for Deep Learning* |
    |---|---|---|
    | 1. scalar derivative rules | Part I, the matrix calculus review (from about 0:10) | "Review: Scalar derivative rules" |
    | 2. partial derivatives, the gradient | Part I, gradients (about 0:10–0:14) | "Introduction to vector calculus and partial derivatives" |
    | 3. the Jacobian | Part I, Jacobians (from about 0:14; the recording repeats this segment, skip ahead to about 0:24 when it does) | "Matrix calculus", "Generalization of the Jacobian" |
    | 4. element-wise operations | Part I, Jacobians | "Derivatives of vector element-wise binary operators" |
    | 5. the chain rule | Part I, the scalar chain rule seen anew (about 0:24) and the Jacobian chain rule (from about 0:27) | "The Chain Rules" |
    | 6. exercises | | |
    """),
    code(r"""
    %matplotlib inline
    import numpy as np
    import matplotlib.pyplot as plt
    from IPython.display import Math, display

    import matcalc as mc

    n, m = mc.dims("n m")  # symbolic sizes: a vector x of length n, a matrix W of m rows, n columns
    t, u = mc.scalar("t"), mc.scalar("u")
    x = mc.vector("x", n)
    A = mc.matrix("A", n, n)
    W = mc.matrix("W", m, n)


""" + FINITE_DIFFERENCES + r"""    """),
    md(r"""
    ## 1. Scalar derivative rules

    For a function of one variable, $f'(t) = \lim_{h\to 0} (f(t+h) - f(t))/h$ measures
    how much the output moves per unit of movement of the input.  Nobody computes that
    limit each time: a handful of rules cover almost every function a network uses.  A
    constant has derivative 0; the power rule gives $\frac{d}{dt} t^k = k t^{k-1}$; a
    constant factor stays in front; the derivative of a sum is the sum of the derivatives;
    the product rule says $(fg)' = f'g + fg'$; and the chain rule, $\frac{d}{dt} f(g(t)) =
    f'(g(t))\, g'(t)$, handles a function inside another.

    The chain rule carries the whole subject.  A network is functions inside functions,
    and backpropagation (Part IV) is nothing but the chain rule applied in a good order.

    The cell below lets matcalc apply the rules to a few functions; the table is typeset
    from matcalc's own LaTeX.
    """),
    code(r"""
    examples = [
        ("power rule", t**3),
        ("constant factor and sum", 4 * t**2 + t),
        ("product rule", mc.sin(t) * t**2),
        ("chain rule", mc.exp(t**2)),
        ("quotient (product and power rules)", mc.log(t) / t),
        ("the logistic sigmoid", mc.sigmoid(t)),
    ]
    rows = [
        rf"\text{{{rule}}} &\quad \frac{{d}}{{dt}}\, {mc.latex(f)} = {mc.latex(mc.grad(f, t))}"
        for rule, f in examples
    ]
    display(Math(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"))
    """),
    md(r"""
    The sigmoid's derivative is printed as $\sigma'(t)$; it equals $\sigma(t)(1 -
    \sigma(t))$, a fact Part III uses.  Each derivative agrees with finite differences at
    $t = 0.7$:
    """),
    code(r"""
    for rule, f in examples:
        derived = mc.evaluate(mc.grad(f, t), {"t": 0.7})
        numeric = finite_differences(f, t, {"t": 0.7})
        assert np.allclose(derived, numeric, atol=1e-6)
        print(f"{rule:36} derived {float(np.squeeze(derived)):+.6f}   finite differences {numeric.item():+.6f}")
    """),
    md(r"""
    ## 2. Partial derivatives and the gradient

    A function of two variables, say $f(t, u) = t^2 u + \sin u$, has two derivatives:
    $\partial f/\partial t$, found by treating $u$ as a constant, and $\partial f/\partial u$,
    found by treating $t$ as a constant.  These are *partial* derivatives.  Collected in
    a vector they form the **gradient**, $\nabla f = [\partial f/\partial t,\ \partial
    f/\partial u]$, which points in the direction in which $f$ grows fastest.
    """),
    code(r"""
    f = t**2 * u + mc.sin(u)
    df_dt, df_du = mc.grad(f, [t, u])
    display(Math(rf"f = {mc.latex(f)}, \qquad \frac{{\partial f}}{{\partial t}} = {mc.latex(df_dt)}, \qquad \frac{{\partial f}}{{\partial u}} = {mc.latex(df_du)}"))
    """),
    md(r"""
    With many variables we stop naming them one by one and gather them in a vector
    $\mathbf{x} = (x_1, \dots, x_n)$.  The gradient of a scalar function of $\mathbf{x}$
    then has one entry per entry of $\mathbf{x}$: it is a vector shaped like $\mathbf{x}$.
    matcalc keeps that convention for every variable, also for matrices: the gradient of
    a cost with respect to a weight matrix $W$ is shaped like $W$, which is what a
    learning rule $W \leftarrow W - \eta\, \nabla_W C$ needs.

    The quadratic form $\mathbf{x}^\top A \mathbf{x} = \sum_{i,j} x_i A_{ij} x_j$ is a
    good test: each $x_k$ appears in row $k$ and in column $k$ of the sum, so two terms
    come out.
    """),
    code(r"""
    q = x.T @ A @ x
    gradient = mc.grad(q, x)
    gradient
    """),
    code(r"""
    rng = np.random.default_rng(0)
    values = {"x": rng.normal(size=4), "A": rng.normal(size=(4, 4))}
    derived = mc.evaluate(gradient, values).ravel()
    numeric = finite_differences(q, x, values).ravel()
    assert np.allclose(derived, numeric, atol=1e-6)
    print("largest gap to finite differences:", f"{np.max(np.abs(derived - numeric)):.1e}")
    """),
    md(r"""
    ## 3. The Jacobian

    When a function has several outputs, $\mathbf{y} = \mathbf{f}(\mathbf{x})$ with $m$
    outputs and $n$ inputs, each output has its own gradient.  Stacking those gradients
    as rows gives an $m \times n$ matrix, the **Jacobian**:

    $$\frac{\partial \mathbf{y}}{\partial \mathbf{x}} = \begin{bmatrix} \partial y_1/\partial x_1 & \cdots & \partial y_1/\partial x_n \\ \vdots & & \vdots \\ \partial y_m/\partial x_1 & \cdots & \partial y_m/\partial x_n \end{bmatrix}.$$

    Row $i$ says how output $i$ responds to each input; column $j$ says how every output
    responds to input $j$.  This arrangement, one row per output, is the **numerator
    layout** that Parr & Howard use and that matcalc prints.  (Some texts use the
    transpose, the denominator layout; neither is wrong, but mixing them is the most
    common source of wrong shapes.)

    Two Jacobians to know by heart: the identity function $\mathbf{y} = \mathbf{x}$ has
    the identity matrix $I$ as Jacobian, and a matrix product $\mathbf{y} = W\mathbf{x}$
    has $W$ itself, because $y_i = \sum_j W_{ij} x_j$ and so $\partial y_i / \partial x_j =
    W_{ij}$.
    """),
    code(r"""
    for F in [x, W @ x, A @ x + x]:
        J = mc.jacobian(F, x)
        print(f"∂({F})/∂x = {J}    shape {mc.text_shape(J)}")
    """),
    md(r"""
    A small function with two outputs, written entry by entry, shows the stacking.  Take
    $y_1 = t^2 u$ and $y_2 = t + \sin u$; the rows of the Jacobian are the gradients of
    $y_1$ and $y_2$:
    """),
    code(r"""
    outputs = [t**2 * u, t + mc.sin(u)]
    jacobian_rows = [[mc.latex(g) for g in mc.grad(y, [t, u])] for y in outputs]
    matrix = r" \\ ".join(" & ".join(row) for row in jacobian_rows)
    display(Math(r"\frac{\partial (y_1, y_2)}{\partial (t, u)} = \begin{bmatrix}" + matrix + r"\end{bmatrix}"))
    """),
    md(r"""
    ## 4. Element-wise operations

    Many of a network's operations act entry by entry: adding two vectors, multiplying
    them entry by entry (the Hadamard product $\mathbf{w} \odot \mathbf{x}$), applying
    $\sigma$ to every entry.  Output $i$ of such an operation depends on entry $i$ of its
    inputs and on nothing else, so every off-diagonal entry of its Jacobian is zero: the
    Jacobian is a **diagonal matrix**.  matcalc writes it $\operatorname{diag}(\mathbf{v})$,
    the matrix with $\mathbf{v}$ on its diagonal.  Part III works through the whole
    family; here are three members:
    """),
    code(r"""
    w = mc.vector("w", n)
    for F, var in [(w + x, w), (w * x, w), (mc.sigmoid(x), x)]:
        print(f"∂({F})/∂{var.name} = {mc.jacobian(F, var)}")
    """),
    code(r"""
    values = {"w": rng.normal(size=3), "x": rng.normal(size=3)}
    numeric = finite_differences(w * x, w, values)
    print(numeric.round(6))
    assert np.allclose(numeric, np.diag(values["x"]), atol=1e-6)
    """),
    md(r"""
    ## 5. The chain rule, from scalars to Jacobians

    To differentiate $g(t) = \sin(t^2)$, name the inner function, $z = t^2$, so that
    $g = \sin(z)$.  Each piece is easy on its own: $\partial g/\partial z = \cos z$ and
    $\partial z/\partial t = 2t$.  The chain rule multiplies them.  Naming intermediate
    results and multiplying local derivatives is the whole method; matcalc shows it as a
    derivation, one rule per line:
    """),
    derive_cell("mc.derive(mc.sin(t**2), t, name='g')"),
    md(r"""
    Nothing changes when the intermediate results are vectors, except that each local
    derivative becomes a Jacobian and the product becomes a matrix product, taken in
    the order of the composition (the outer function's Jacobian on the left).  For
    $\mathbf{F}(\mathbf{x}) = \sigma(W\mathbf{x})$, name $\mathbf{z} = W\mathbf{x}$; then
    $\partial \mathbf{z}/\partial \mathbf{x} = W$, $\partial \mathbf{F}/\partial
    \mathbf{z} = \operatorname{diag}(\sigma'(\mathbf{z}))$, and

    $$\frac{\partial \mathbf{F}}{\partial \mathbf{x}} = \frac{\partial \mathbf{F}}{\partial \mathbf{z}} \frac{\partial \mathbf{z}}{\partial \mathbf{x}} = \operatorname{diag}(\sigma'(\mathbf{z}))\, W.$$

    The shapes check the order: $(m \times m)(m \times n)$ is $m \times n$, one row per
    output and one column per input, as a Jacobian should be.  The scalar chain rule
    above is the case where every Jacobian is $1 \times 1$.
    """),
    derive_cell("mc.derive(mc.sigmoid(W @ x), x, name='F')", before="F = mc.sigmoid(W @ x)"),
    code(r"""
    values = {"W": rng.normal(size=(2, 3)), "x": rng.normal(size=3)}
    derived = mc.evaluate(mc.jacobian(F, x), values)
    numeric = finite_differences(F, x, values)
    assert np.allclose(derived, numeric, atol=1e-6)
    print(derived.round(4))
    """),
    md(r"""
    ## 6. Exercises

    Work each one on paper first, then run the cell: `mc.check(claim, f, x)` says whether
    your claim is the derivative of `f` with respect to `x`, and when it is not, what
    kind of mistake it looks like.  `mc.check_proof` checks a whole derivation, link by
    link, typed in LaTeX.  Each cell shows a correct and a wrong answer; replace either
    with your own.

    **Exercise 1.1.** The gradient of $\mathbf{x}^\top A \mathbf{x}$.  A common answer is
    $2A\mathbf{x}$, remembered from the scalar rule $\frac{d}{dx} a x^2 = 2ax$.
    """),
    code(r"""
    print("(A + Aᵀ) x :", mc.check((A + A.T) @ x, x.T @ A @ x, x))
    print("2 A x      :", mc.check(2 * A @ x, x.T @ A @ x, x))
    """),
    md(r"""
    $2A\mathbf{x}$ is right only when $A$ is symmetric; matcalc says so, and says how to
    declare a symmetric matrix.

    **Exercise 1.2.** The Jacobian of $\sigma(W\mathbf{x})$.  Is it
    $\operatorname{diag}(\sigma(W\mathbf{x}))\, W$?
    """),
    code(r"""
    sigma_prime = mc.sigmoid(W @ x) * (1 - mc.sigmoid(W @ x))  # σ′ = σ(1 − σ)
    print("diag(σ′(Wx)) W :", mc.check(mc.diag(sigma_prime) @ W, F, x))
    print("diag(σ(Wx)) W  :", mc.check(mc.diag(mc.sigmoid(W @ x)) @ W, F, x))
    """),
    md(r"""
    **Exercise 1.3.** A chain-rule proof for $g(t) = \sin(t^2)$, typed as you would write
    it.  The second proof forgets the inner derivative; matcalc names the first step that
    breaks.
    """),
    code(r"""
    right = r'''
    u &= t^2 \\
    \frac{\partial g}{\partial t} &= \frac{\partial g}{\partial u} \frac{\partial u}{\partial t} \\
      &= \cos(u) \cdot 2t \\
      &= 2t \cos(t^2)
    '''
    print(mc.check_proof(right, mc.sin(t**2), t, name="g"))
    """),
    code(r"""
    forgot_the_inner_derivative = r'''
    u &= t^2 \\
    \frac{\partial g}{\partial t} &= \frac{\partial g}{\partial u} \frac{\partial u}{\partial t} \\
      &= \cos(u)
    '''
    verdict = mc.check_proof(forgot_the_inner_derivative, mc.sin(t**2), t, name="g")
    assert not verdict.ok
    verdict
    """),
]

# ------------------------------------------------------------------------------------------
# Part II: forward propagation
# ------------------------------------------------------------------------------------------
PART_II = [
    md(r"""
    # Part II — Forward propagation

    Before a network can be differentiated it has to be written down precisely.  This
    notebook builds one from the bottom: a single neuron, the indexing of weights and
    biases that lets a whole layer be written as one matrix product, a network as layers
    composed, a batch of examples processed at once, and the cost that training will
    minimise.  Each formula is a matcalc expression, evaluated and compared with an
    explicit loop over the indices.

    **Reading guide.**

    | here | the lecture (times approximate) | the books |
    |---|---|---|
    | 1. a neuron | Part II, the neuron function (about 0:40) | Parr & Howard, "Introduction" (the neuron's activation) |
    | 2. weight and bias indexing | Part II (about 0:45) | Nielsen ch. 2, "Warm up: a fast matrix-based approach to computing the output from a neural network" |
    | 3. a layer: $\mathbf{z} = W\mathbf{a} + \mathbf{b}$, $\mathbf{a} = \sigma(\mathbf{z})$ | Part II (about 0:50) | Nielsen ch. 2, the same section |
    | 4. a network, 5. a batch | Part II (to about 1:05) | Nielsen ch. 2, the same section |
    | 6. the cost | Part II and the start of Part III | Nielsen ch. 2, "The two assumptions we need about the cost function" |
    | 7. exercises | | |
    """),
    code(r"""
    %matplotlib inline
    import numpy as np
    import matplotlib.pyplot as plt
    from IPython.display import Math, display

    import matcalc as mc
    from matcalc.nn import Network, one_hot

    rng = np.random.default_rng(1)
    """),
    md(r"""
    ## 1. A neuron

    A neuron receives $n$ numbers $x_1, \dots, x_n$, weighs each by its own weight $w_k$,
    adds them up with a bias $b$, and passes the result through an **activation
    function**:

    $$z = \mathbf{w} \cdot \mathbf{x} + b = \sum_{k=1}^{n} w_k x_k + b, \qquad a = \sigma(z).$$

    The weighted sum $z$ is linear in the inputs; the activation is what lets a network
    of neurons represent functions that are not linear.  Two activations recur in the
    lecture and the books: the logistic sigmoid $\sigma(z) = 1/(1 + e^{-z})$, smooth and
    bounded between 0 and 1 (Nielsen), and the rectified linear unit $\max(0, z)$, which
    passes positive values and silences negative ones (Parr & Howard).
    """),
    code(r"""
    n = mc.dims("n")
    w, x, b = mc.vector("w", n), mc.vector("x", n), mc.scalar("b")
    z = mc.dot(w, x) + b
    neuron = mc.maximum(0, z)
    neuron
    """),
    code(r"""
    values = {"w": [0.5, -1.0, 2.0], "x": [1.0, 2.0, 0.5], "b": 0.25}
    print("z =", mc.evaluate(z, values), "  a = max(0, z) =", mc.evaluate(neuron, values))
    print("by hand:", 0.5 * 1.0 + (-1.0) * 2.0 + 2.0 * 0.5 + 0.25)
    """),
    code(r"""
    grid = np.linspace(-5, 5, 201)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(grid, 1 / (1 + np.exp(-grid)), label="sigmoid σ(z)")
    ax.plot(grid, np.maximum(0, grid) / 5, label="max(0, z) (scaled by 1/5)")
    ax.set(xlabel="z, the weighted input", ylabel="activation a", title="Two activation functions")
    ax.grid(alpha=0.3)
    ax.legend()
    plt.show()
    """),
    md(r"""
    ## 2. Weight and bias indexing

    In a network, neurons are arranged in layers numbered $l = 1, 2, \dots, L$ (the
    inputs count as layer 0).  Nielsen's notation names each number by the layer it
    belongs to, as a superscript, and by its position, as subscripts:

    * $a^l_j$ is the activation of neuron $j$ in layer $l$;
    * $b^l_j$ is the bias of that neuron, and $z^l_j$ its weighted input;
    * $w^l_{jk}$ is the weight on the connection **into** neuron $j$ of layer $l$ **from**
      neuron $k$ of layer $l-1$.

    The order of $j$ and $k$ looks backwards at first (the receiving neuron comes first),
    but it is chosen so that the weights into neuron $j$ form row $j$ of a matrix $W^l$.
    The weighted input of neuron $j$ is then a row of $W^l$ times the previous layer's
    activations,

    $$z^l_j = \sum_k w^l_{jk}\, a^{l-1}_k + b^l_j,$$

    which is exactly entry $j$ of the matrix-vector product $W^l \mathbf{a}^{l-1}$ plus
    $\mathbf{b}^l$: no transpose is needed.  $W^l$ has one row per neuron of layer $l$ and
    one column per neuron of layer $l-1$.  In code the layer index becomes part of the
    name: `W1`, `b1`, `a1`, …
    """),
    code(r"""
    W1 = mc.matrix("W1", 3, 4)   # layer 1: 3 neurons, each with 4 inputs
    b1 = mc.vector("b1", 3)
    a0 = mc.vector("x", 4)       # layer 0: the input
    z1 = W1 @ a0 + b1
    print(z1, "  shape", mc.text_shape(z1))
    """),
    code(r"""
    Wv, bv, xv = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=4)
    by_matrix = mc.evaluate(z1, {"W1": Wv, "b1": bv, "x": xv}).ravel()
    by_indices = [sum(Wv[j, k] * xv[k] for k in range(4)) + bv[j] for j in range(3)]
    assert np.allclose(by_matrix, by_indices)
    print("W x + b           :", by_matrix.round(4))
    print("Σ_k w_jk x_k + b_j:", np.round(by_indices, 4))
    """),
    md(r"""
    Get the orientation wrong and the shapes refuse to fit.  matcalc checks shapes when
    an expression is built, so the mistake is caught before any number is computed:
    """),
    code(r"""
    try:
        W1.T @ a0 + b1
    except mc.ShapeError as error:
        print(error)
    """),
    md(r"""
    ## 3. A layer

    Applying the activation to every entry finishes the layer:

    $$\mathbf{z}^l = W^l \mathbf{a}^{l-1} + \mathbf{b}^l, \qquad \mathbf{a}^l = \sigma(\mathbf{z}^l).$$

    Writing $\sigma(\mathbf{z})$ for the vector of $\sigma(z_j)$ is the vectorised form of
    a function: the same function applied entry by entry.  A layer is therefore a
    matrix product, a vector addition and an element-wise function, three operations
    whose derivatives Part I and Part III provide.
    """),
    code(r"""
    a1 = mc.sigmoid(z1)
    by_matrix = mc.evaluate(a1, {"W1": Wv, "b1": bv, "x": xv}).ravel()
    by_indices = [1 / (1 + np.exp(-(sum(Wv[j, k] * xv[k] for k in range(4)) + bv[j]))) for j in range(3)]
    assert np.allclose(by_matrix, by_indices)
    a1
    """),
    md(r"""
    ## 4. A network

    A network is layers composed: the activations of one layer are the inputs of the
    next, $\mathbf{a}^0 = \mathbf{x}$ and $\mathbf{a}^l = \sigma(W^l \mathbf{a}^{l-1} +
    \mathbf{b}^l)$ for $l = 1, \dots, L$.  Computing $\mathbf{a}^L$ from $\mathbf{x}$ layer by
    layer is **forward propagation**.  `mc.nn.Network` builds the expression of a whole
    network; its sizes list the number of neurons per layer, inputs first.  The network
    below has 4 inputs, a hidden layer of 3 neurons and 2 outputs:
    """),
    code(r"""
    net = Network([4, 3, 2], activation="sigmoid", cost="quadratic")
    print("output a² =", net.output)
    print("shapes:", {p.name: mc.text_shape(p) for p in net.parameters})
    """),
    md(r"""
    The compiled forward pass agrees with the layer-by-layer computation written out in
    numpy:
    """),
    code(r"""
    params = net.init_params(seed=0)
    forward, backward = net.compile()
    X = rng.normal(size=(4, 1))  # one example, as a column
    a = X
    for layer in (1, 2):
        a = 1 / (1 + np.exp(-(params[f"W{layer}"] @ a + params[f"b{layer}"])))
    assert np.allclose(forward(params, X), a)
    a.ravel().round(4)
    """),
    md(r"""
    ## 5. A batch

    Training feeds many examples through the network at once.  Put one example per
    column of a matrix $X$ ($n$ rows, $B$ columns, $B$ the batch size); then $W X$
    computes the weighted inputs of every example at once, column by column, and the
    bias vector is added to every column (broadcast).  Nothing else changes, which is
    why the batch costs so little to write down.
    """),
    code(r"""
    B = mc.dims("B")
    X = mc.matrix("X", 4, B)
    batch_activations = mc.sigmoid(W1 @ X + b1)
    print(batch_activations, "  shape", mc.text_shape(batch_activations))
    """),
    code(r"""
    Xv = rng.normal(size=(4, 5))
    together = mc.evaluate(batch_activations, {"W1": Wv, "b1": bv, "X": Xv})
    one_by_one = np.column_stack([mc.evaluate(a1, {"W1": Wv, "b1": bv, "x": Xv[:, k]}).ravel() for k in range(5)])
    assert np.allclose(together, one_by_one)
    together.round(3)
    """),
    md(r"""
    ## 6. The cost

    Training needs a single number that says how wrong the network is.  The quadratic
    cost compares the output $\mathbf{a}^L$ with the desired output $\mathbf{y}$,
    averaged over the $B$ examples of a batch:

    $$C = \frac{1}{2B} \sum_{\text{examples}} \lVert \mathbf{y} - \mathbf{a}^L \rVert^2.$$

    Backpropagation relies on two properties of this cost, and of every cost used in
    Part IV: it is an **average of costs of single examples**, so the gradient of a
    batch is the average of per-example gradients; and it depends on the network only
    **through its output** $\mathbf{a}^L$.  The network's cost is an expression like any
    other:
    """),
    code(r"""
    net.cost
    """),
    code(r"""
    Xv = rng.normal(size=(4, 6))
    Yv = one_hot(rng.integers(0, 2, size=6), 2)
    batch_cost, _ = backward(params, Xv, Yv)
    per_example = [backward(params, Xv[:, [k]], Yv[:, [k]])[0] for k in range(6)]
    assert np.isclose(batch_cost, np.mean(per_example))
    print(f"cost of the batch {batch_cost:.6f} = mean of the 6 per-example costs {np.mean(per_example):.6f}")
    """),
    md(r"""
    ## 7. Exercises

    Part III differentiates a layer.  Two of its local Jacobians can be worked out now.

    **Exercise 2.1.** The Jacobian of $\mathbf{z} = W\mathbf{a} + \mathbf{b}$ with respect to
    the previous layer's activations $\mathbf{a}$.  Is it $W$ or $W^\top$?
    """),
    code(r"""
    k, m = mc.dims("k m")
    W, a, b = mc.matrix("W", m, k), mc.vector("a", k), mc.vector("b", m)
    layer = W @ a + b
    print("W  :", mc.check(W, layer, a))
    print("Wᵀ :", mc.check(W.T, layer, a))
    """),
    md(r"""
    **Exercise 2.2.** The Jacobian of the same $\mathbf{z}$ with respect to the bias
    $\mathbf{b}$.  One student answers $I$, another $\mathbf{1}$ (a vector of ones).
    """),
    code(r"""
    print("I :", mc.check(mc.eye(m), layer, b))
    print("𝟏 :", mc.check(mc.ones(m), layer, b))
    """),
]

# ------------------------------------------------------------------------------------------
# Part III: the derivatives of a neuron
# ------------------------------------------------------------------------------------------
PART_III = [
    md(r"""
    # Part III — The derivatives of a neuron

    A neuron's computation, $a = \max(0, \mathbf{w} \cdot \mathbf{x} + b)$, is built from
    a few operations: element-wise binary operations (here the products $w_k x_k$), a sum
    that reduces a vector to a number, the addition of a scalar (the bias), and the
    activation.  Parr & Howard derive the Jacobian of each operation once; the neuron's
    derivative is then the chain rule applied to these pieces, and so is the gradient of
    its cost with respect to its weights and bias, which is what gradient descent needs.

    **Reading guide.**

    | here | the lecture (times approximate) | the books (Parr & Howard unless named) |
    |---|---|---|
    | 1. element-wise binary operations, 2. the Hadamard product | Part III (from about 1:05) | "Derivatives of vector element-wise binary operators"; Nielsen ch. 2, "The Hadamard product, s ⊙ t" |
    | 3. scalar expansion | Part III | "Derivatives involving scalar expansion" |
    | 4. sum | Part III | "Vector sum reduction" |
    | 5. the activation, 6. the neuron | Part III (about 2:00–2:45) | "The gradient of neuron activation" |
    | 7. the cost, 8. gradient descent | Part III (to about 3:40) | "The gradient of the neural network loss function" |
    | 9. why not the tensor | Part III | "Matrix calculus" (the Jacobian of a matrix function) |
    | 10. exercises | | |
    """),
    code(r"""
    %matplotlib inline
    import numpy as np
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, Math, display

    import matcalc as mc

    n = mc.dims("n")
    w, x = mc.vector("w", n), mc.vector("x", n)
    z, b = mc.scalar("z"), mc.scalar("b")
    rng = np.random.default_rng(0)


""" + FINITE_DIFFERENCES + r"""

    def table(cases, values):
        # Each Jacobian derived by matcalc, typeset, and compared with finite differences.
        rows = []
        for F, var in cases:
            J = mc.jacobian(F, var)
            derived = np.atleast_2d(mc.evaluate(J, values))
            gap = np.max(np.abs(derived - finite_differences(F, var, values)))
            assert gap < 1e-6
            rows.append(rf"\frac{{\partial}}{{\partial {mc.latex(var)}}} \left({mc.latex(F)}\right) &= {mc.latex(J)} && \text{{(finite differences agree to {gap:.0e})}}")
        display(Math(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"))
    """),
    md(r"""
    ## 1. Element-wise binary operations

    Take two vectors of the same length and combine them entry by entry with an operator
    $\circ$ (plus, minus, times, divide): $y_i = w_i \circ x_i$.  Output $i$ depends on
    $w_i$ and $x_i$ only, so $\partial y_i/\partial w_j = 0$ whenever $i \ne j$: the
    Jacobian with respect to either operand is diagonal, and its diagonal holds the
    scalar derivative of $w_i \circ x_i$.  Parr & Howard name this the element-wise
    diagonal condition; it turns a matrix of $n^2$ entries into a vector of $n$.

    Reading the scalar derivatives off the diagonal: for $+$ it is 1 with respect to
    either operand, so the Jacobian is $I$; for $-$ it is $1$ and $-1$; for $\times$ it is
    the *other* operand; for $\div$ it is $1/x_i$ and $-w_i/x_i^2$.
    """),
    code(r"""
    values = {"w": rng.normal(size=4), "x": rng.uniform(0.5, 2, size=4), "z": 1.3}
    table([(w + x, w), (w - x, x), (w * x, w), (w * x, x), (w / x, w), (w / x, x)], values)
    """),
    md(r"""
    ## 2. The Hadamard product

    The element-wise product $\mathbf{w} \odot \mathbf{x}$ has its own name, the
    **Hadamard product**, because it is everywhere in backpropagation: BP1 and BP2 in
    Part IV are Hadamard products.  Its Jacobian $\operatorname{diag}(\mathbf{x})$ is
    never built as a matrix in practice, because multiplying by a diagonal matrix is an
    element-wise product again: $\operatorname{diag}(\mathbf{x})\, \mathbf{v} =
    \mathbf{x} \odot \mathbf{v}$.  That identity is how the chain rule's matrix products
    turn into the cheap element-wise products of BP1 and BP2.
    """),
    code(r"""
    v = mc.vector("v", n)
    print(mc.equivalent(mc.diag(x) @ v, x * v))
    """),
    md(r"""
    ## 3. Scalar expansion

    Adding a scalar to a vector, $\mathbf{y} = \mathbf{x} + z$, means adding $z$ to every
    entry: the scalar is *expanded* to the vector $z\mathbf{1}$ first.  With respect to
    $\mathbf{x}$ the Jacobian is $I$ (for $+$) or $zI$ (for $\times$), as in section 1.
    With respect to the scalar $z$ it is a column, one entry per output: every entry of
    $\mathbf{x} + z$ moves one-for-one with $z$, giving $\mathbf{1}$, and entry $i$ of
    $\mathbf{x} z$ moves by $x_i$, giving $\mathbf{x}$.  The bias of a neuron, added to
    the weighted sum, is the simplest case.
    """),
    code(r"""
    table([(x + z, x), (x + z, z), (x * z, x), (x * z, z)], values)
    """),
    md(r"""
    ## 4. Sum

    Summing the entries of a vector, $y = \operatorname{sum}(\mathbf{x}) = \sum_i x_i$,
    reduces it to a scalar.  Each entry contributes with weight one, so the Jacobian is
    the row $\mathbf{1}^\top$ (as a gradient, shaped like $\mathbf{x}$: the vector
    $\mathbf{1}$).  When the summed vector depends on a scalar, the derivatives of the
    entries add up: $\partial\, \operatorname{sum}(\mathbf{x} z)/\partial z =
    \operatorname{sum}(\mathbf{x})$.  A dot product is a Hadamard product followed by a
    sum, $\mathbf{w} \cdot \mathbf{x} = \operatorname{sum}(\mathbf{w} \odot
    \mathbf{x})$, so its gradient with respect to $\mathbf{w}$ is the chain rule of the
    two: $\mathbf{1}^\top \operatorname{diag}(\mathbf{x}) = \mathbf{x}^\top$.
    """),
    code(r"""
    table([(mc.sum(x), x), (mc.sum(x * z), z), (mc.dot(w, x), w)], values)
    """),
    md(r"""
    ## 5. The activation

    The rectifier $\max(0, z)$ is linear with slope 1 where $z > 0$ and constant 0 where
    $z < 0$, so its derivative is the **step function**: $\operatorname{step}(z) = 1$ for
    $z > 0$ and 0 for $z < 0$ (at $z = 0$ the derivative does not exist; any value in
    $[0, 1]$ serves, and matcalc and numpy take 0).  The sigmoid's derivative is the bump
    $\sigma'(z) = \sigma(z)(1 - \sigma(z))$, at most $1/4$, which is why deep sigmoid
    networks learn slowly: each layer multiplies the error by a factor below $1/4$.
    """),
    code(r"""
    # The derivatives are matcalc's: the gradient of sum(f(s)) is f′ applied to every entry of s.
    zs = np.linspace(-5, 5, 401)
    s = mc.vector("s", zs.size)
    relu_slope = mc.evaluate(mc.grad(mc.sum(mc.maximum(0, s)), s), {"s": zs}).ravel()
    sigma_slope = mc.evaluate(mc.grad(mc.sum(mc.sigmoid(s)), s), {"s": zs}).ravel()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    left.plot(zs, np.maximum(0, zs), label="max(0, z)")
    left.plot(zs, relu_slope, label="its derivative step(z)")
    right.plot(zs, 1 / (1 + np.exp(-zs)), label="σ(z)")
    right.plot(zs, sigma_slope, label="its derivative σ′(z)")
    for ax, title in ((left, "The rectifier"), (right, "The sigmoid")):
        ax.set(xlabel="z", title=title)
        ax.grid(alpha=0.3)
        ax.legend()
    plt.show()
    """),
    code(r"""
    print("d max(0, z)/dz =", mc.grad(mc.maximum(0, z), z))
    print("dσ(z)/dz       =", mc.grad(mc.sigmoid(z), z))
    print("σ′ = σ(1 − σ)  :", mc.equivalent(mc.grad(mc.sigmoid(z), z), mc.sigmoid(z) * (1 - mc.sigmoid(z))))
    """),
    md(r"""
    ## 6. The neuron

    Put the pieces together for $a = \max(0, \mathbf{w} \cdot \mathbf{x} + b)$.  Name the
    weighted sum $z = \mathbf{w}^\top \mathbf{x} + b$.  The chain rule gives
    $\partial a/\partial \mathbf{w} = \operatorname{step}(z)\, \mathbf{x}^\top$ (the
    activation's derivative times the dot product's Jacobian) and $\partial a/\partial b
    = \operatorname{step}(z)$ (the bias enters with derivative 1).  In words: when the
    neuron is active, nudging weight $w_k$ changes the output by $x_k$ per unit; when it
    is silent, nothing changes.  matcalc derives it line by line, naming the dot product
    $u = \mathbf{w}^\top \mathbf{x}$ on its own so that each line applies one rule; the
    result lines write the gradient shaped like $\mathbf{w}$ (a column), the form a
    learning rule uses.
    """),
    derive_cell(
        "mc.derive(activation, [w, b], name='a')",
        before="activation = mc.maximum(0, mc.dot(w, x) + b)",
    ),
    md(r"""
    ## 7. The gradient of the neuron's cost

    To train the neuron we need examples: $N$ inputs $\mathbf{x}_i$, one per column of a
    matrix $X$, with targets $y_i$.  The mean squared error

    $$C(\mathbf{w}, b) = \frac{1}{N} \sum_{i=1}^{N} \left(y_i - \max(0, \mathbf{w} \cdot \mathbf{x}_i + b)\right)^2$$

    is a sum over examples of the neuron composed with a square.  Its gradient follows
    from the same rules: the square contributes $2(\text{error})$, the activation
    contributes $\operatorname{step}(z_i)$, and the weighted sum contributes
    $\mathbf{x}_i$.  Read the result as a weighted average of the inputs: each example
    pulls the weights along its own input $\mathbf{x}_i$, in proportion to its error, and
    only if the neuron is active for it.
    """),
    derive_cell(
        "mc.derive(cost, [w, b], name='C')",
        before="""
        N = mc.dims("N")
        X, y = mc.matrix("X", n, N), mc.vector("y", N)
        cost = mc.sum((y - mc.maximum(0, X.T @ w + b)) ** 2) / N
        """,
    ),
    code(r"""
    values = {"w": rng.normal(size=3), "b": 0.2, "X": rng.normal(size=(3, 6)), "y": rng.normal(size=6)}
    for var, g in zip([w, b], mc.grad(cost, [w, b])):
        derived = np.ravel(mc.evaluate(g, values))
        numeric = finite_differences(cost, var, values).ravel()
        assert np.allclose(derived, numeric, atol=1e-6)
        print(f"∂C/∂{var.name}: derived {derived.round(5)}, finite differences {numeric.round(5)}")
    """),
    md(r"""
    ## 8. Gradient descent

    The gradient points uphill; a small step against it lowers the cost:
    $\mathbf{w} \leftarrow \mathbf{w} - \eta\, \nabla_{\mathbf{w}} C$, $b \leftarrow b - \eta\,
    \partial C/\partial b$, with a step size (learning rate) $\eta$.  Computing the
    gradient on a random minibatch of examples instead of all of them gives
    **stochastic gradient descent**: each step is cheaper and noisier, and on average it
    points the same way.  Below, a linear neuron (no activation) is fitted to noisy data;
    `mc.compile` turns the cost and its gradient into numpy code.
    """),
    code(r"""
    linear_cost = mc.sum((y - (X.T @ w + b)) ** 2) / N
    fn = mc.compile(linear_cost, wrt=[w, b])
    true_w = np.array([1.5, -2.0, 0.5])
    Xv = rng.normal(size=(3, 200))
    yv = Xv.T @ true_w + 0.3 + 0.05 * rng.normal(size=200)
    wv, bv = np.zeros(3), 0.0
    losses = []
    for step in range(100):
        batch = rng.choice(200, size=20, replace=False)  # a minibatch of 20 examples per step
        loss, (gw, gb) = fn(w=wv, b=bv, X=Xv[:, batch], y=yv[batch])
        wv, bv = wv - 0.1 * gw.ravel(), bv - 0.1 * float(gb[0, 0])
        losses.append(loss)
    assert losses[-1] < 0.05 * losses[0]
    print("learned w =", wv.round(2), " b =", round(bv, 2), "  (true: [1.5, -2.0, 0.5] and 0.3)")
    """),
    code(r"""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.semilogy(range(1, 101), losses)
    ax.set(xlabel="step", ylabel="cost of the minibatch (log scale)", title="SGD on a linear neuron")
    ax.grid(alpha=0.3, which="both")
    plt.show()
    """),
    md(r"""
    ## 9. Why not the derivative of a whole layer with respect to its matrix?

    The Jacobian of a layer's output $W\mathbf{x}$ with respect to the matrix $W$ would
    need three indices (output $i$, row $j$, column $k$ of $W$): a tensor, outside the
    matrices that the rules above produce.  matcalc says so rather than build one:
    """),
    code(r"""
    m = mc.dims("m")
    Wm = mc.matrix("W", m, n)
    try:
        mc.jacobian(Wm @ x, Wm)
    except mc.DerivativeError as error:
        print(error)
    """),
    md(r"""
    Training never needs it.  What a learning rule needs is the gradient of the
    *scalar* cost with respect to $W$, a matrix shaped like $W$; the chain rule reaches
    it through $\mathbf{z} = W\mathbf{x}$ without the tensor, and it comes out as an outer
    product, the error times the input transposed (Part IV's BP4):
    """),
    code(r"""
    ym = mc.vector("y", m)
    layer_cost = mc.sum((mc.sigmoid(Wm @ x) - ym) ** 2) / 2
    mc.grad(layer_cost, Wm)
    """),
    md(r"""
    ## 10. Exercises

    **Exercise 3.1.** The Jacobian of the Hadamard product $\mathbf{w} \odot \mathbf{x}$
    with respect to $\mathbf{w}$.  A tempting answer is $\mathbf{x}$.
    """),
    code(r"""
    print("diag(x) :", mc.check(mc.diag(x), w * x, w))
    print("x       :", mc.check(x, w * x, w))
    """),
    md(r"""
    **Exercise 3.2.** The derivative of $\mathbf{x} z$ with respect to the scalar $z$
    (scalar expansion).  $\mathbf{1}$ or $\mathbf{x}$?
    """),
    code(r"""
    print("x :", mc.check(x, x * z, z))
    print("𝟏 :", mc.check(mc.ones(n), x * z, z))
    """),
    md(r"""
    **Exercise 3.3.** A proof of the neuron's gradient, in LaTeX.  The first proof
    ends with the gradient shaped like $\mathbf{w}$; the second writes the row
    $\mathbf{x}^\top$ instead, and matcalc points at the layout.
    """),
    code(r"""
    proof = r'''
    z &= \mathbf{w}^\top \mathbf{x} + b \\
    \frac{\partial a}{\partial \mathbf{w}} &= \frac{\partial a}{\partial z} \frac{\partial z}{\partial \mathbf{w}} \\
      &= \operatorname{step}(z)\, \mathbf{x}
    '''
    print(mc.check_proof(proof, activation, w, name="a"))
    """),
    code(r"""
    row_instead_of_column = r'''
    z &= \mathbf{w}^\top \mathbf{x} + b \\
    \frac{\partial a}{\partial \mathbf{w}} &= \frac{\partial a}{\partial z} \frac{\partial z}{\partial \mathbf{w}} \\
      &= \operatorname{step}(z)\, \mathbf{x}^\top
    '''
    verdict = mc.check_proof(row_instead_of_column, activation, w, name="a")
    assert not verdict.ok
    print(verdict.message)
    """),
    md(r"""
    **Exercise 3.4.** The gradient of the mean squared error with respect to the bias.
    One student forgets the factor 2 of the square; another forgets the step function.
    """),
    code(r"""
    error = y - mc.maximum(0, X.T @ w + b)
    active = mc.step(X.T @ w + b)
    print("right        :", mc.check(-2 * mc.sum(error * active) / N, cost, b, name="C"))
    print("factor of 2  :", mc.check(-mc.sum(error * active) / N, cost, b, name="C"))
    print("no step(z)   :", mc.check(-2 * mc.sum(error) / N, cost, b, name="C"))
    """),
]

# ------------------------------------------------------------------------------------------
# Part IV: backpropagation
# ------------------------------------------------------------------------------------------
PART_IV = [
    md(r"""
    # Part IV — Backpropagation

    A network's cost depends on every weight and bias, through every layer after it.
    Differentiating with respect to each weight separately would repeat the same work
    over and over: all the weights of layer 1 share the path from layer 1 to the cost.
    Backpropagation organises the chain rule so that this shared work is done once.  It
    defines the **error** of each neuron, computes the output layer's error first, passes
    it back layer by layer, and reads every gradient off the errors.  Nielsen condenses
    the method into four equations, BP1–BP4; here matcalc derives them from the network's
    cost, labels them, vectorises them over a batch, compiles them, and trains a network
    on handwritten digits.

    **Reading guide.**

    | here | the lecture (times approximate) | Nielsen, *Neural Networks and Deep Learning*, ch. 2 |
    |---|---|---|
    | 1. the error of a node | Part IV (from about 3:40) | "The four fundamental equations behind backpropagation" (the definition of δ) |
    | 2. the derivation, 3. BP1–BP4 | Part IV (about 3:40–4:30) | the same section, and "Proof of the four fundamental equations" |
    | 4. vectorising BP4 | Part IV (about 4:30) | "The code for backpropagation" (the fully matrix-based approach, in the problems) |
    | 5. the algorithm | Part IV (about 4:40) | "The backpropagation algorithm", "In what sense is backpropagation a fast algorithm?" |
    | 6. training | Part IV, the end | ch. 1, "Implementing our network to classify digits" |
    | 7. exercises | | |
    """),
    code(r"""
    %matplotlib inline
    import numpy as np
    import matplotlib.pyplot as plt
    from IPython.display import Math, display

    import matcalc as mc
    from matcalc import demo
    from matcalc.nn import Network, one_hot

    rng = np.random.default_rng(0)


    def labelled_equations(derivation):
        # The derivation's steps labelled BP1–BP4, typeset one per line.
        rows = []
        for step in derivation.steps:
            if not step.label:
                continue
            if step.define is not None:  # BP1, BP2: the line that names δˡ
                equation = step.define.latex + " = " + step.pieces[-1].latex(step.names)
            else:  # BP3, BP4: a gradient
                equation = " = ".join(piece.latex(step.names) for piece in step.pieces)
            rows.append(rf"\text{{{step.label}}} \quad & {equation}")
        return Math(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")
    """),
    md(r"""
    ## 1. The error of a node

    Change the weighted input $z^l_j$ of neuron $j$ in layer $l$ by a small amount
    $\Delta z$; the cost changes by about $\frac{\partial C}{\partial z^l_j} \Delta z$.
    That partial derivative is the neuron's **error**,

    $$\delta^l_j = \frac{\partial C}{\partial z^l_j}.$$

    A large $|\delta^l_j|$ means the cost is sensitive to that neuron and its weighted
    input is far from where it should be; $\delta^l_j$ near zero means the neuron is, for
    this example, about right.  The vector $\boldsymbol{\delta}^l$ collects the errors of
    layer $l$.  Why $z$ and not the activation $a$?  Because $z^l_j$ sits right after the
    neuron's weights and bias: once $\delta^l_j$ is known, their gradients are one
    multiplication away (BP3, BP4).  And $\boldsymbol{\delta}^l$ depends on the next layer's
    errors only through one matrix product (BP2), so the errors are computed from the
    output backwards, each layer reusing the one after it.

    The network below has 4 inputs, a hidden layer of 3 sigmoid neurons and 2 sigmoid
    outputs, with the quadratic cost averaged over a batch of $B$ examples (one per
    column of $X$).
    """),
    code(r"""
    network = Network([4, 3, 2], activation="sigmoid", cost="quadratic")
    network.cost
    """),
    md(r"""
    ## 2. The derivation

    matcalc differentiates the cost with respect to all four parameters in one sweep from
    the cost backwards.  It names the intermediates ($\mathbf{z}_1$, $\mathbf{a}_1$, …;
    the layer index is a subscript in code), applies the rules of Parts I and III, and
    marks where an error $\boldsymbol{\delta}$ appears.  Subscripts here play the role of
    Nielsen's superscripts: $\boldsymbol{\delta}_2 = \boldsymbol{\delta}^2$.  With a batch,
    $\boldsymbol{\delta}_l$ is a matrix with one column per example, and the factor
    $1/B$ of the average is carried in it.
    """),
    network_derivation_cell(),
    md(r"""
    ## 3. The four equations, BP1–BP4

    Four kinds of line in that derivation are Nielsen's four equations.
    `network.derivation()` labels them (each step's `step.label` is "BP1" … "BP4" or
    empty) and `network.equations()` lists them.  Typeset on their own:
    """),
    code(r"""
    labelled_equations(network.derivation())
    """),
    code(r"""
    for line in network.equations():
        print(line)
    """),
    md(r"""
    Read them against Nielsen's single-example forms, with $L$ the output layer
    (here $L = 2$) and $\mathbf{r} = \mathbf{a}^L - \mathbf{y}$:

    * **BP1**, the output error: $\boldsymbol{\delta}^L = \nabla_{\mathbf{a}} C \odot
      \sigma'(\mathbf{z}^L)$.  For the quadratic cost $\nabla_{\mathbf{a}} C = \mathbf{a}^L -
      \mathbf{y}$: how far the output is from the target, scaled by how responsive the
      output neuron is.
    * **BP2**, an error from the next one: $\boldsymbol{\delta}^l = \left((W^{l+1})^\top
      \boldsymbol{\delta}^{l+1}\right) \odot \sigma'(\mathbf{z}^l)$.  The transpose carries
      the errors backwards along the same connections that carried activations forwards,
      and the Hadamard product with $\sigma'$ passes them through the activation.  It is
      the chain rule through $\mathbf{z}^{l+1} = W^{l+1}\mathbf{a}^l + \mathbf{b}^{l+1}$ and
      $\mathbf{a}^l = \sigma(\mathbf{z}^l)$, with $\operatorname{diag}(\sigma')$ turned into
      $\odot$ as in Part III.
    * **BP3**, the bias: $\partial C/\partial b^l_j = \delta^l_j$.  The bias enters $z^l_j$
      with derivative 1.  With a batch, the bias is added to every column, so its
      gradient sums the errors over the examples: $\operatorname{sum}(\boldsymbol{\delta}_l,
      \text{axis}=1)$, the same as $\boldsymbol{\delta}_l \mathbf{1}$ (a product with a
      vector of ones).
    * **BP4**, the weights: $\partial C/\partial w^l_{jk} = a^{l-1}_k \delta^l_j$, the
      activation flowing into the weight times the error at its end.  As matrices: the
      outer product $\boldsymbol{\delta}^l (\mathbf{a}^{l-1})^\top$.

    Each equation can also be checked on its own.  For a single sigmoid layer with the
    quadratic cost, $\partial C/\partial W = \boldsymbol{\delta}\, \mathbf{x}^\top$ with
    $\boldsymbol{\delta} = (\mathbf{a} - \mathbf{y}) \odot \sigma'(\mathbf{z})$:
    """),
    code(r"""
    n, m = mc.dims("n m")
    x, W, b, y = mc.vector("x", n), mc.matrix("W", m, n), mc.vector("b", m), mc.vector("y", m)
    a = mc.sigmoid(W @ x + b)
    C = mc.sum((a - y) ** 2) / 2
    delta = (a - y) * a * (1 - a)        # BP1, with σ′ = σ(1 − σ)
    print("BP3  ∂C/∂b = δ    :", mc.check(delta, C, b, name="C"))
    print("BP4  ∂C/∂W = δ xᵀ :", mc.check(delta @ x.T, C, W, name="C"))
    """),
    md(r"""
    ## 4. Vectorising BP4

    BP4 for one example is an outer product, $\boldsymbol{\delta}\, \mathbf{x}^\top$: entry
    $(j, k)$ is $\delta_j x_k$, exactly the index form $a^{l-1}_k \delta^l_j$.  For a batch,
    the gradient of the average cost is the average of the examples' outer products.
    Stack the errors as the columns of a matrix $\Delta$ and the inputs as the columns
    of $X$: then $\Delta X^\top = \sum_i \boldsymbol{\delta}_i \mathbf{x}_i^\top$, one matrix
    product in place of a loop over examples.  That is the $\boldsymbol{\delta}_1 X^\top$
    of the derivation above (with the $1/B$ inside $\boldsymbol{\delta}$).  The compiled
    gradient agrees with the loop:
    """),
    code(r"""
    params = network.init_params(seed=0)
    forward, backward = network.compile()
    X = rng.uniform(size=(4, 5))
    Y = one_hot(rng.integers(0, 2, size=5), 2)
    _, grads = backward(params, X, Y)
    per_example = sum(backward(params, X[:, [k]], Y[:, [k]])[1]["W1"] for k in range(5)) / 5
    assert np.allclose(grads["W1"], per_example)
    print("∂C/∂W1 of the batch = mean of the 5 per-example gradients; largest gap",
          f"{np.max(np.abs(grads['W1'] - per_example)):.1e}")
    """),
    md(r"""
    ## 5. The algorithm

    Put together, backpropagation for a batch $X$ with targets $Y$ is:

    1. **Feed forward**: for $l = 1, \dots, L$ compute $\mathbf{z}^l = W^l \mathbf{a}^{l-1} +
       \mathbf{b}^l$ and $\mathbf{a}^l = \sigma(\mathbf{z}^l)$, keeping every $\mathbf{z}^l$
       and $\mathbf{a}^l$.
    2. **Output error** (BP1): $\boldsymbol{\delta}^L = \nabla_{\mathbf{a}} C \odot
       \sigma'(\mathbf{z}^L)$.
    3. **Backpropagate** (BP2): for $l = L-1, \dots, 1$, $\boldsymbol{\delta}^l =
       ((W^{l+1})^\top \boldsymbol{\delta}^{l+1}) \odot \sigma'(\mathbf{z}^l)$.
    4. **Gradients** (BP3, BP4): $\partial C/\partial \mathbf{b}^l = $ the errors summed
       over the batch, $\partial C/\partial W^l = \boldsymbol{\delta}^l
       (\mathbf{a}^{l-1})^\top$.

    The cost of the backward pass is about that of the forward pass: each layer's error
    costs one matrix product, like each layer's activations.  Differentiating each weight
    on its own, by finite differences, would instead cost one forward pass *per weight*.
    Written by hand in numpy, the four steps give the same numbers as the compiled code:
    """),
    code(r"""
    def backprop(params, X, Y):
        sigma = lambda v: 1 / (1 + np.exp(-v))
        a0 = X
        z1 = params["W1"] @ a0 + params["b1"]; a1 = sigma(z1)               # 1. feed forward
        z2 = params["W2"] @ a1 + params["b2"]; a2 = sigma(z2)
        B = X.shape[1]
        delta2 = (a2 - Y) / B * a2 * (1 - a2)                               # 2. BP1
        delta1 = (params["W2"].T @ delta2) * a1 * (1 - a1)                 # 3. BP2
        return {"W1": delta1 @ a0.T, "b1": delta1.sum(axis=1, keepdims=True),  # 4. BP4, BP3
                "W2": delta2 @ a1.T, "b2": delta2.sum(axis=1, keepdims=True)}

    by_hand = backprop(params, X, Y)
    for name in grads:
        assert np.allclose(by_hand[name], grads[name])
    print("hand-written BP1–BP4 = compiled gradients for", ", ".join(grads))
    """),
    md(r"""
    matcalc's compiled backward pass is the same algorithm, generated from the derivation:
    the forward values are computed once and reused (the `_t` temporaries), the errors
    flow backwards, and the bias gradients are sums over the batch.
    """),
    code(r"""
    print(backward.source)
    """),
    md(r"""
    ## 6. Training

    Now a network learns something real: scikit-learn's 1,797 handwritten digits (8×8
    images, bundled with the library, no download), 75% for training and 25% held out
    to test.  The network has 64 inputs, 32 hidden rectifier neurons and 10 outputs; the
    outputs go through a softmax and the cost is the cross-entropy, the usual choice for
    classification.  Each epoch shuffles the training images, cuts them into batches of
    32, and takes one gradient step per batch.

    Two choices make the curve smooth.  The step size starts at 0.2 and shrinks as
    $0.2/(1 + 0.2(\text{epoch} - 1))$: large steps early, when the cost is far from its
    minimum, smaller ones later, when the noise of a minibatch's gradient would
    otherwise keep the weights jittering.  And the batches are of equal size: a ragged
    last batch of a few images would take a full step along a very noisy gradient just
    before the epoch is measured (an earlier version of the demo did that, and its test
    accuracy dropped from 97% to 88% and back).  One line per epoch reports the step
    size, the cost and the accuracy on the training and the test images, and the time.
    """),
    code(r"""
    X_train, y_train, X_test, y_test = demo.digits()
    Y_train, Y_test = one_hot(y_train, 10), one_hot(y_test, 10)
    digits_net = Network([64, 32, 10], activation="relu", cost="cross_entropy")
    print(demo.TRAINING)
    trained, history = demo.train(digits_net, X_train, Y_train, X_test, Y_test, epochs=15)
    accuracy = digits_net.accuracy(trained, X_test, y_test)
    assert accuracy > 0.95
    """),
    code(r"""
    demo.figure(history, title="A [64, 32, 10] network on the digits")
    """),
    md(r"""
    The training and test curves stay together: the network is not memorising its
    training images.  For comparison, the same network trained with a constant step of
    1.0, five times the schedule's first step:
    """),
    code(r"""
    _, large = digits_net.train(X_train, Y_train, epochs=15, lr=1.0, seed=0, X_test=X_test, Y_test=Y_test, log=None)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    for record, label in ((history, "step 0.2/(1 + 0.2(epoch − 1))"), (large, "constant step 1.0")):
        left.plot(record.column("epoch"), record.column("loss"), "o-", markersize=3, label=label)
        right.plot(record.column("epoch"), record.column("test_accuracy"), "o-", markersize=3, label=label)
    left.set(xlabel="epoch", ylabel="training cost", title="Cost on the training set")
    right.set(xlabel="epoch", ylabel="test accuracy", title="Accuracy on the test set", ylim=(0.8, 1.0))
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    plt.show()
    """),
    md(r"""
    The large step is faster: in the same 15 epochs it goes further down the cost.  But
    its curve is jagged.  Whenever a step overshoots the valley it was descending, the
    training cost goes up for an epoch and the test accuracy drops with it, so a single
    epoch's readout says little about whether training is going well, and a run stopped
    at the wrong epoch ends worse than the cautious one.  Choosing the step size trades
    speed for steadiness; the schedule used here errs on the side of a curve that can be
    read.  (Try `lr=0.5, decay=0.5`, or a larger batch, and watch both panels.)
    """),
    md(r"""
    ## 7. Exercises

    **Exercise 4.1.** BP4 for one layer.  Is $\partial C/\partial W$ equal to
    $\boldsymbol{\delta}\, \mathbf{x}^\top$ or to $\mathbf{x}\, \boldsymbol{\delta}^\top$?
    And what if $\sigma$ stands where $\sigma'$ belongs?
    """),
    code(r"""
    print("δ xᵀ                :", mc.check(delta @ x.T, C, W, name="C"))
    print("x δᵀ                :", mc.check(x @ delta.T, C, W, name="C"))
    print("((a − y) ⊙ σ(z)) xᵀ :", mc.check(((a - y) * a) @ x.T, C, W, name="C"))
    """),
    md(r"""
    **Exercise 4.2.** A proof of BP1 for the bias of one sigmoid layer, typed in LaTeX
    (the file `bp1_proof.tex` beside this notebook holds the same proof, for
    `matcalc check-proof` on the command line).  The second version writes $\sigma$ for
    $\sigma'$ in its first step.
    """),
    code(r"""
    bp1 = r'''
    \mathbf{z} &= W \mathbf{x} + \mathbf{b} \\
    \mathbf{a} &= \sigma(\mathbf{z}) \\
    \frac{\partial C}{\partial \mathbf{b}}
      &= \frac{\partial C}{\partial \mathbf{a}} \odot \sigma'(\mathbf{z}) \\
      &= (\mathbf{a} - \mathbf{y}) \odot \sigma'(\mathbf{z}) \\
      &= (\mathbf{a} - \mathbf{y}) \odot \mathbf{a} \odot (\mathbf{1} - \mathbf{a})
    '''
    print(mc.check_proof(bp1, C, b, name="C"))
    """),
    code(r"""
    wrong = mc.check_proof(bp1.replace(r"\odot \sigma'", r"\odot \sigma"), C, b, name="C")
    assert not wrong.ok
    wrong
    """),
    md(r"""
    **Exercise 4.3.** BP2 through one hidden layer: with $\boldsymbol{\delta}_2$ given, a
    proof that $\partial C/\partial \mathbf{z}_1 = (W_2^\top \boldsymbol{\delta}_2) \odot
    \sigma'(\mathbf{z}_1)$.  Here the proof is checked on its own, without `f`: the cost
    is given among the definitions (`where`), the sizes of the names it uses in `shapes`.
    """),
    code(r"""
    bp2 = r'''
    \mathbf{a}_1 = \sigma(\mathbf{z}_1) \\
    \mathbf{z}_2 = W_2 \mathbf{a}_1 + \mathbf{b}_2 \\
    \delta_2 := (\sigma(\mathbf{z}_2) - \mathbf{y}) \odot \sigma'(\mathbf{z}_2) \\
    \frac{\partial C}{\partial \mathbf{z}_1} &= \left(W_2^\top \delta_2\right) \odot \sigma'(\mathbf{z}_1) \\
      &= \left(W_2^\top \delta_2\right) \odot \mathbf{a}_1 \odot (\mathbf{1} - \mathbf{a}_1)
    '''
    shapes = {"z1": ("k",), "W2": ("m", "k"), "b2": ("m",), "y": ("m",)}
    where = {"C": "sum((sigmoid(W2@sigmoid(z1) + b2) - y)**2)/2"}
    print(mc.check_proof(bp2, shapes=shapes, name="C", where=where))
    """),
    md(r"""
    Two wrong versions.  The first writes $\mathbf{a}_1$ for $\sigma'(\mathbf{z}_1)$, the
    activation for its derivative.  The second forgets the transpose: $W_2
    \boldsymbol{\delta}_2$ does not even have a shape ($W_2$ is $m \times k$,
    $\boldsymbol{\delta}_2$ has $m$ entries), and matcalc stops at the product that does
    not fit.
    """),
    code(r"""
    activation_for_derivative = bp2.replace(r"\odot \mathbf{a}_1 \odot (\mathbf{1} - \mathbf{a}_1)", r"\odot \mathbf{a}_1")
    verdict = mc.check_proof(activation_for_derivative, shapes=shapes, name="C", where=where)
    assert not verdict.ok
    print(verdict.message)
    try:
        mc.check_proof(bp2.replace(r"W_2^\top \delta_2", r"W_2 \delta_2"), shapes=shapes, name="C", where=where)
    except mc.ParseError as error:
        print(error)
    """),
]

# ------------------------------------------------------------------------------------------
# 5. The clinic: typical mistakes
# ------------------------------------------------------------------------------------------
CLINIC = [
    md(r"""
    # 5. Check your own derivation

    The four parts end here, with the tool turned on your own work.  When you derive a
    gradient by hand, the result can be wrong in a few typical ways: transposed (the
    layout mixed up), off by a constant factor, with the wrong sign, with $\sigma$ where
    $\sigma'$ belongs, with $\odot$ for a matrix product, with a term missing or extra,
    or with the factors of a matrix product in the wrong order.  `mc.check` compares
    your claim with the true derivative, symbolically first and then with numbers on
    several random sizes, and when the claim is wrong it tries these mistakes to name
    the one you made.  `mc.check_proof` does the same for every link of a derivation.

    **Reading guide.** The mistakes are the ones the lecture warns about along the way:
    the layout (Part I), σ and σ′ (Part III), the order and the transposes of BP2 and
    BP4 (Part IV).
    """),
    code(r"""
    import matcalc as mc

    n, m = mc.dims("n m")
    x, W, b, y = mc.vector("x", n), mc.matrix("W", m, n), mc.vector("b", m), mc.vector("y", m)
    A, B, X = mc.matrix("A", n, n), mc.matrix("B", n, n), mc.matrix("X", n, n)
    z = W @ x + b
    a = mc.sigmoid(z)
    C = mc.sum((a - y) ** 2) / 2
    delta = (a - y) * a * (1 - a)
    """),
    md(r"""
    A right answer passes, however it is written: $\boldsymbol{\delta}\, \mathbf{x}^\top$
    and the outer product of $\boldsymbol{\delta}$ and $\mathbf{x}$ are the same matrix.
    """),
    code(r"""
    print(mc.check(delta @ x.T, C, W, name="C"))
    print(mc.check(mc.outer(delta, x), C, W, name="C"))
    """),
    md("And each typical mistake gets its diagnosis:"),
    code(r"""
    mistakes = {
        "layout: x δᵀ": (x @ delta.T, C, W),
        "a factor of 2": (2 * delta @ x.T, C, W),
        "a wrong sign": (-delta, C, b),
        "σ where σ′ belongs": (((a - y) * mc.sigmoid(z)) @ x.T, C, W),
        "⊙ for a matrix product": ((A + A.T) * x, x.T @ A @ x, x),
        "a missing term": (A @ x, x.T @ A @ x, x),
        "an extra term": (delta + y, C, b),
        "factors in the wrong order": (B.T @ A.T, mc.trace(A @ X @ B), X),
    }
    for label, (claim, f, var) in mistakes.items():
        verdict = mc.check(claim, f, var)
        assert not verdict.ok
        print(f"{label:28} {verdict.message}")
    """),
    md(r"""
    How to read the diagnoses, and what each usually means on paper:

    * **transpose** (layout): the entries are right but arranged as the transpose.  The
      derivation mixed numerator layout (one row per output) with denominator layout;
      check the shape of every factor, $\partial C/\partial W$ must be shaped like $W$.
    * **a constant factor, a sign**: the structure is right; look for a lost $\tfrac12$
      or 2 from a square, or $\mathbf{y} - \mathbf{a}$ written for $\mathbf{a} - \mathbf{y}$.
    * **σ for σ′**: the chain rule passed through the activation without differentiating it.
    * **⊙ for a matrix product** (or back): an element-wise rule used where the layer
      mixes its inputs, or the reverse.
    * **a missing or an extra term**: a variable that appears twice (as in
      $\mathbf{x}^\top A \mathbf{x}$) contributes one term per appearance.
    * **the order of a product**: matrix products do not commute; the chain rule puts the
      outer function's Jacobian on the left.

    When no typical mistake explains the difference, the verdict gives a counterexample:
    sizes and an entry where the claim and the true derivative disagree.  A verdict of
    "correct" is symbolic when the canonical forms agree, and numeric otherwise (several
    random sizes and values).
    """),
    md("""
    Claims can be typed as text too, in numpy or MATLAB syntax, or in LaTeX, the way
    the lecture writes them:
    """),
    code(r"""
    f = mc.parse("x'*A*x")
    claim = mc.parse("(A + A.T) @ x", {"A": ("n", "n"), "x": ("n",)})
    print(mc.check(claim, f, mc.variables(f)["x"]))
    claim
    """),
    md(r"""
    A whole proof, link by link.  The one below derives BP4 for one layer; the second
    version transposes the outer product in its last step, and matcalc names that step
    and the mistake:
    """),
    code(r"""
    proof = r'''
    \mathbf{z} &= W \mathbf{x} + \mathbf{b} \\
    \boldsymbol{\delta} &= (\sigma(\mathbf{z}) - \mathbf{y}) \odot \sigma'(\mathbf{z}) \\
    \frac{\partial C}{\partial W} &= \boldsymbol{\delta}\, \mathbf{x}^\top \\
      &= \left((\sigma(\mathbf{z}) - \mathbf{y}) \odot \sigma'(\mathbf{z})\right) \mathbf{x}^\top
    '''
    print(mc.check_proof(proof, C, W, name="C"))
    """),
    code(r"""
    transposed = r'''
    \mathbf{z} &= W \mathbf{x} + \mathbf{b} \\
    \boldsymbol{\delta} &= (\sigma(\mathbf{z}) - \mathbf{y}) \odot \sigma'(\mathbf{z}) \\
    \frac{\partial C}{\partial W} &= \boldsymbol{\delta}\, \mathbf{x}^\top \\
      &= \mathbf{x} \left((\sigma(\mathbf{z}) - \mathbf{y}) \odot \sigma'(\mathbf{z})\right)^\top
    '''
    verdict = mc.check_proof(transposed, C, W, name="C")
    assert not verdict.ok
    verdict
    """),
]

NOTEBOOKS = {
    "01_matrix_calculus_review.ipynb": PART_I,
    "02_forward_propagation.ipynb": PART_II,
    "03_derivatives_of_a_neuron.ipynb": PART_III,
    "04_backpropagation.ipynb": PART_IV,
    "05_check_your_derivation.ipynb": CLINIC,
}


def main(argv: list[str]) -> int:
    run = "--no-execute" not in argv
    wanted = [a for a in argv if not a.startswith("--")]
    chosen = [name for name in NOTEBOOKS if not wanted or any(name.startswith(w) for w in wanted)]
    with tempfile.TemporaryDirectory() as prefix:
        kernel = kernel_for_this_python(prefix) if run else ""
        for name in chosen:
            path = notebook(name, NOTEBOOKS[name])
            if run:
                execute(path, kernel)
            print(f"wrote {path.relative_to(HERE.parent)}" + (" (executed)" if run else ""))
    if not LECTURE_DETAIL:
        print("note: mc.derive has no detail='lecture' yet; the SWITCH cells show the default form")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
