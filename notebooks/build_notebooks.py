"""Write the teaching notebooks (without outputs; the test suite runs them).

    python notebooks/build_notebooks.py

Every formula the notebooks show is produced or checked by matcalc: the
Markdown cells hold prose, the code cells compute.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def notebook(name: str, cells: list) -> None:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, HERE / name)


md, code = new_markdown_cell, new_code_cell

notebook(
    "01_matrix_calculus_review.ipynb",
    [
        md(
            "# 1. Matrix calculus review\n\nGradients, Jacobians and the Jacobian chain rule "
            "(Parr & Howard, *The Matrix Calculus You Need for Deep Learning*). Every formula below "
            "is derived by matcalc and shown as LaTeX."
        ),
        code(
            "import numpy as np\nimport matcalc as mc\n\nn, m = mc.dims('n m')\n"
            "x = mc.vector('x', n)\nA = mc.matrix('A', n, n)\nW = mc.matrix('W', m, n)"
        ),
        md(
            "## Gradients\nThe gradient of a scalar function has the shape of its variable. "
            "For the quadratic form $x^\\top A x$:"
        ),
        code("f = x.T @ A @ x\nmc.grad(f, x)"),
        md("Checked against numbers the engine did not produce (central differences):"),
        code(
            "rng = np.random.default_rng(0)\nvalues = {'x': rng.normal(size=4), 'A': rng.normal(size=(4, 4))}\n"
            "derived = mc.evaluate(mc.grad(f, x), values).ravel()\n"
            "h = 1e-6\nnumeric = np.array([(mc.evaluate(f, {**values, 'x': values['x'] + h * e})\n"
            "                     - mc.evaluate(f, {**values, 'x': values['x'] - h * e})) / (2 * h)\n"
            "                    for e in np.eye(4)])\nassert np.allclose(derived, numeric, atol=1e-6)\n"
            "np.max(np.abs(derived - numeric))"
        ),
        md(
            "## Jacobians\nA vector function has a Jacobian, one row per output (numerator layout). "
            "An elementwise function gives a diagonal matrix, kept as `diag(...)`:"
        ),
        code("F = mc.sigmoid(W @ x)\nmc.jacobian(F, x)"),
        md(
            "## The Jacobian chain rule\nThe derivation names the intermediate $z = Wx$ and multiplies the "
            "local Jacobians:"
        ),
        code("mc.derive(F, x, name='F')"),
        md(
            "## The scalar chain rule is its 1×1 case\nFor a scalar $t$, every Jacobian is 1×1 and the chain "
            "rule is the familiar product of derivatives:"
        ),
        code("t = mc.scalar('t')\ng = mc.sin(t ** 2)\nd = mc.derive(g, t, name='g')\nd"),
        code(
            "value = mc.evaluate(d.result, {'t': 0.7})\nassert abs(value - 2 * 0.7 * np.cos(0.7 ** 2)) < 1e-12\nvalue"
        ),
    ],
)

notebook(
    "02_forward_propagation.ipynb",
    [
        md(
            "# 2. Forward propagation\n\nA neuron, the indexing of weights and biases, and a whole layer "
            "as $Wx + b$."
        ),
        code(
            "import numpy as np\nimport matcalc as mc\n\nn = mc.dims('n')\nw, x = mc.vector('w', n), mc.vector('x', n)\n"
            "b = mc.scalar('b')"
        ),
        md("## The neuron function\nA weighted sum plus a bias, then an activation:"),
        code("z = mc.dot(w, x) + b\nneuron = mc.maximum(0, z)\nneuron"),
        code(
            "values = {'w': [0.5, -1.0, 2.0], 'x': [1.0, 2.0, 0.5], 'b': 0.25}\nmc.evaluate(neuron, values)"
        ),
        md(
            "## Weight and bias indexing\nRow $j$ of $W$ holds the weights into neuron $j$; entry $W_{jk}$ "
            "connects input $k$ to neuron $j$. The matrix form computes every neuron at once:"
        ),
        code(
            "W = mc.matrix('W', 3, 4)\nbias = mc.vector('b', 3)\nxin = mc.vector('x', 4)\nlayer = W @ xin + bias\nlayer"
        ),
        code(
            "rng = np.random.default_rng(1)\nWv, bv, xv = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=4)\n"
            "by_matrix = mc.evaluate(layer, {'W': Wv, 'b': bv, 'x': xv}).ravel()\n"
            "by_loops = [sum(Wv[j, k] * xv[k] for k in range(4)) + bv[j] for j in range(3)]\n"
            "assert np.allclose(by_matrix, by_loops)\nby_matrix"
        ),
        md(
            "## A layer of neurons, and a batch\nWith one example per column, the bias broadcasts across the batch:"
        ),
        code(
            "B = mc.dims('B')\nX = mc.matrix('X', 4, B)\nactivations = mc.sigmoid(W @ X + bias)\n"
            "print(activations, mc.text_shape(activations))\nactivations"
        ),
    ],
)

notebook(
    "03_derivatives_of_a_neuron.ipynb",
    [
        md(
            "# 3. Derivatives of a neuron's operations\n\nParr & Howard's tables, derived and checked numerically, "
            "then the neuron, its cost, and gradient descent."
        ),
        code(
            "import numpy as np\nimport matcalc as mc\n\nn = mc.dims('n')\nw, x = mc.vector('w', n), mc.vector('x', n)\n"
            "z, b = mc.scalar('z'), mc.scalar('b')\nrng = np.random.default_rng(0)\n\n"
            "def numeric_jacobian(F, var, values, h=1e-6):\n"
            "    base = np.asarray(values[var.name], dtype=float)\n"
            "    cols = []\n"
            "    for k in range(base.size):\n"
            "        e = np.zeros(base.size); e[k] = h\n"
            "        up = np.atleast_1d(mc.evaluate(F, {**values, var.name: (base.ravel() + e).reshape(base.shape)})).ravel()\n"
            "        down = np.atleast_1d(mc.evaluate(F, {**values, var.name: (base.ravel() - e).reshape(base.shape)})).ravel()\n"
            "        cols.append((up - down) / (2 * h))\n"
            "    return np.stack(cols, axis=1)"
        ),
        md(
            "## Elementwise binary operations, the Hadamard product, scalar expansion and sum\n"
            "Each Jacobian is derived, printed, and compared with central differences:"
        ),
        code(
            "values = {'w': rng.normal(size=4), 'x': rng.uniform(0.5, 2, size=4), 'z': 1.3}\n"
            "cases = [(w + x, w), (w - x, x), (w * x, w), (w / x, x), (x + z, z), (x * z, x), (mc.sum(x), x), (mc.sum(x * z), z)]\n"
            "for F, var in cases:\n"
            "    J = mc.jacobian(F, var)\n"
            "    gap = np.max(np.abs(np.atleast_2d(mc.evaluate(J, {var: values[var.name], **values})) - numeric_jacobian(F, var, values)))\n"
            "    assert gap < 1e-6\n"
            "    print(f'∂({F})/∂{var.name} = {J}    (finite differences agree to {gap:.0e})')"
        ),
        md("## The neuron's activation\n$\\max(0, w \\cdot x + b)$ and its gradient:"),
        code(
            "activation = mc.maximum(0, mc.dot(w, x) + b)\nmc.derive(activation, [w, b], name='a')"
        ),
        md(
            "## The cost with respect to the weights and the bias\nThe mean squared error over $N$ examples "
            "(one per column of $X$):"
        ),
        code(
            "N = mc.dims('N')\nX, y = mc.matrix('X', n, N), mc.vector('y', N)\n"
            "cost = mc.sum((y - mc.maximum(0, X.T @ w + b)) ** 2) / N\nd = mc.derive(cost, [w, b], name='C')\nd"
        ),
        md(
            "## Gradient descent and SGD on a toy problem\nA linear neuron fitted to noisy data; the gradient "
            "comes from `mc.compile`:"
        ),
        code(
            "toy = mc.sum((y - (X.T @ w + b)) ** 2) / N\nfn = mc.compile(toy, wrt=[w, b])\n"
            "true_w = np.array([1.5, -2.0, 0.5])\nXv = rng.normal(size=(3, 200))\nyv = Xv.T @ true_w + 0.3 + 0.05 * rng.normal(size=200)\n"
            "wv, bv = np.zeros(3), 0.0\nlosses = []\nfor _ in range(100):\n"
            "    batch = rng.choice(200, size=20, replace=False)  # stochastic: a minibatch per step\n"
            "    loss, (gw, gb) = fn(w=wv, b=bv, X=Xv[:, batch], y=yv[batch])\n"
            "    wv, bv = wv - 0.1 * gw.ravel(), bv - 0.1 * float(gb[0, 0])\n    losses.append(loss)\n"
            "assert losses[-1] < 0.05 * losses[0]\nwv.round(2), round(bv, 2)"
        ),
        code(
            "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
            "plt.figure(figsize=(5, 3))\nplt.semilogy(losses)\nplt.xlabel('step'); plt.ylabel('loss'); plt.title('SGD on a linear neuron')\nplt.show()"
        ),
        md(
            "## Why a whole layer's derivative as a tensor does not work well\nThe Jacobian of $Wx$ with respect "
            "to the matrix $W$ has three indices. matcalc says so rather than building it:"
        ),
        code(
            "m = mc.dims('m')\nWm = mc.matrix('W', m, n)\ntry:\n    mc.jacobian(Wm @ x, Wm)\nexcept mc.DerivativeError as error:\n    print(error)"
        ),
        md(
            "What a learning rule needs is the gradient of the *scalar* cost, shaped like $W$: an outer product."
        ),
        code(
            "ym = mc.vector('y', m)\nlayer_cost = mc.sum((mc.sigmoid(Wm @ x) - ym) ** 2) / 2\nmc.grad(layer_cost, Wm)"
        ),
    ],
)

notebook(
    "04_backpropagation.ipynb",
    [
        md(
            "# 4. Backpropagation\n\nNielsen's four equations, derived by the engine for a small network, "
            "vectorised over a batch, compiled, and trained on handwritten digits."
        ),
        code(
            "import numpy as np\nimport matcalc as mc\nfrom matcalc.nn import Network, one_hot\n\n"
            "network = Network([64, 16, 10], activation='sigmoid', cost='quadratic')\nd = network.derivation()\nd"
        ),
        md(
            "## The error of a node and the four equations\n$\\delta^l = \\partial C / \\partial z^l$ is "
            "found once per layer and reused by the layer below:"
        ),
        code("for line in network.equations():\n    print(line)"),
        md(
            "## Vectorising equation 4\nWith one example per column, $\\delta X^\\top$ sums the per-example outer "
            "products. Checked against a loop over the examples:"
        ),
        code(
            "rng = np.random.default_rng(0)\nparams = network.init_params(seed=0)\nX = rng.uniform(size=(64, 5))\n"
            "Y = one_hot(rng.integers(0, 10, size=5), 10)\nforward, backward = network.compile()\n_, grads = backward(params, X, Y)\n"
            "per_example = sum(backward(params, X[:, [k]], Y[:, [k]])[1]['W1'] for k in range(5)) / 5\n"
            "assert np.allclose(grads['W1'], per_example)\nnp.max(np.abs(grads['W1'] - per_example))"
        ),
        md(
            "## The algorithm, compiled\nThe backward pass as generated numpy code: the forward values are "
            "computed once and reused."
        ),
        code("print(backward.source)"),
        md("## Training on the digits\nscikit-learn's 1,797 bundled 8×8 images (no download)."),
        code(
            "from matcalc.demo import digits\nX_train, y_train, X_test, y_test = digits()\n"
            "net = Network([64, 32, 10], activation='relu', cost='cross_entropy')\n"
            "params, history = net.train(X_train, one_hot(y_train, 10), epochs=15, lr=0.1, batch_size=32,\n"
            "                            X_test=X_test, Y_test=one_hot(y_test, 10), log=None)\n"
            "accuracy = net.accuracy(params, X_test, y_test)\nassert accuracy > 0.93\naccuracy"
        ),
        code(
            "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
            "fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))\nleft.plot(history.column('loss')); left.set_title('loss')\n"
            "right.plot(history.column('accuracy'), label='training'); right.plot(history.column('test_accuracy'), label='test')\n"
            "right.set_title('accuracy'); right.legend()\nplt.show()"
        ),
    ],
)

notebook(
    "05_check_your_derivation.ipynb",
    [
        md(
            "# 5. Check your own derivation\n\nWrong answers that students typically give, and matcalc's "
            "diagnosis of each."
        ),
        code(
            "import matcalc as mc\n\nn, m = mc.dims('n m')\nx, W, b, y = mc.vector('x', n), mc.matrix('W', m, n), mc.vector('b', m), mc.vector('y', m)\n"
            "A, B, X = mc.matrix('A', n, n), mc.matrix('B', n, n), mc.matrix('X', n, n)\nz = W @ x + b\na = mc.sigmoid(z)\nC = mc.sum((a - y) ** 2) / 2\n"
            "delta = (a - y) * a * (1 - a)"
        ),
        md("The right answer passes, whichever way it is written:"),
        code(
            "print(mc.check(delta @ x.T, C, W, name='C'))\nprint(mc.check(mc.outer(delta, x), C, W, name='C'))"
        ),
        md("And typical mistakes get a diagnosis:"),
        code(
            "mistakes = {\n"
            "    'layout: x δᵀ': (x @ delta.T, C, W),\n"
            "    'a factor of 2': (2 * delta @ x.T, C, W),\n"
            "    'a wrong sign': (-delta, C, b),\n"
            "    'σ where σ′ belongs': (((a - y) * mc.sigmoid(z)) @ x.T, C, W),\n"
            "    '⊙ for a matrix product': ((A + A.T) * x, x.T @ A @ x, x),\n"
            "    'a missing term': (A @ x, x.T @ A @ x, x),\n"
            "    'an extra term': (delta + y, C, b),\n"
            "    'factors in the wrong order': (B.T @ A.T, mc.trace(A @ X @ B), X),\n"
            "}\n"
            "for label, (claim, f, var) in mistakes.items():\n"
            "    verdict = mc.check(claim, f, var)\n"
            "    assert not verdict.ok\n"
            "    print(f'{label:28} {verdict.message}')"
        ),
        md("Claims can be typed as text too, in either syntax:"),
        code(
            "f = mc.parse(\"x'*A*x\")\nclaim = mc.parse('(A + A.T) @ x', {'A': ('n', 'n'), 'x': ('n',)})\n"
            "print(mc.check(claim, f, mc.variables(f)['x']))\nclaim"
        ),
    ],
)
