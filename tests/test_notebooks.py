"""The teaching notebooks, stored with their outputs, and the training they teach.

The notebooks are stored executed (a reader browsing the repository sees the
formulas, the printouts and the plots).  Each is executed again here on a Jupyter
kernel running this Python (nbclient, ipykernel) and its outputs compared, cell by
cell, with the stored ones: text/plain, text/latex, text/markdown and the streams,
after volatile parts (timings, memory addresses, paths) are normalised; images only
by their presence.  When matcalc's output changes, the stored notebooks go stale and
``.venv/bin/python notebooks/build_notebooks.py`` writes them again.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import install
from nbclient import NotebookClient

from matcalc import demo
from matcalc.nn import Network, one_hot

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REBUILD = "run `.venv/bin/python notebooks/build_notebooks.py` to store them again"
TEXT = ("text/plain", "text/latex", "text/markdown")
VOLATILE = [
    (re.compile(r"\d+\.\d+ ?(?:s|ms|µs)\b"), "<time>"),  # (0.01 s), done in 3.2 s
    (re.compile(r"0x[0-9a-fA-F]{4,}"), "0x<address>"),
    (re.compile(re.escape(str(ROOT))), "<repo>"),
    (re.compile(r"/tmp/[^\s'\"]*"), "<tmp>"),
    (re.compile(r"[ \t]+$", re.MULTILINE), ""),
]


def normalised(text: str | list[str]) -> str:
    text = "".join(text) if isinstance(text, list) else text
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def digest(cell) -> list:
    """What a code cell showed, in a comparable form."""
    shown: list = []
    for output in cell.get("outputs", []):
        kind = output.output_type
        if kind == "stream":
            if shown and shown[-1][0] == f"stream {output.name}":
                shown[-1] = (shown[-1][0], shown[-1][1] + normalised(output.text))
            else:
                shown.append((f"stream {output.name}", normalised(output.text)))
        elif kind in ("display_data", "execute_result"):
            data = output.get("data", {})
            texts = {mime: normalised(data[mime]) for mime in TEXT if mime in data}
            images = sorted(mime for mime in data if mime.startswith("image/"))
            shown.append(("display", texts, images))
        elif kind == "error":
            shown.append(("error", output.ename, normalised(output.evalue)))
    return shown


def readable(shown: list) -> list[str]:
    """A digest as lines, one block per output and type, for a diff."""
    lines = []
    for number, item in enumerate(shown, 1):
        if item[0] == "display":
            for mime, text in item[1].items():
                lines += [f"-- output {number}, {mime}:", *text.splitlines()]
            lines.append(f"-- output {number}, images: {item[2]}")
        else:
            lines += [f"-- output {number}, {item[0]}:", *item[-1].splitlines()]
    return lines


def code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def outputs(notebook) -> list:
    return [output for cell in code_cells(notebook) for output in cell.get("outputs", [])]


@pytest.fixture(scope="module")
def kernel(tmp_path_factory) -> str:
    """A kernelspec that runs this very Python (the one with matcalc installed)."""
    prefix = tmp_path_factory.mktemp("kernel")
    install(prefix=str(prefix), kernel_name="matcalc-test")
    jupyter_path = str(prefix / "share" / "jupyter")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        filter(None, [jupyter_path, os.environ.get("JUPYTER_PATH")])
    )
    return "matcalc-test"


def test_the_five_notebooks_exist() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]
    assert (ROOT / "notebooks" / "05_check_your_derivation.ipynb") in NOTEBOOKS


def test_the_stored_notebooks_are_what_build_notebooks_writes() -> None:
    """Nobody edited a notebook by hand: its cells are the build script's."""
    spec = importlib.util.spec_from_file_location(
        "build", ROOT / "notebooks" / "build_notebooks.py"
    )
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert sorted(build.NOTEBOOKS) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        stored = nbformat.read(path, as_version=4)
        written = [(cell.cell_type, cell.source) for cell in build.NOTEBOOKS[path.name]]
        assert [(cell.cell_type, cell.source) for cell in stored.cells] == written, (
            f"{path.name} differs from notebooks/build_notebooks.py: {REBUILD}"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_with_outputs_that_teach(path: Path) -> None:
    """A fresh clone shows outputs: typeset formulas, plots (inline, no Agg), no errors,
    a reading guide, and exercises checked by matcalc."""
    notebook = nbformat.read(path, as_version=4)
    sources = "\n".join(cell.source for cell in notebook.cells)
    assert "matplotlib.use(" not in sources, "plots must show inline"
    assert notebook.cells[0].cell_type == "markdown" and "Reading guide" in notebook.cells[0].source
    shown = outputs(notebook)
    assert shown, f"{path.name} is stored without outputs: {REBUILD}"
    assert not [o for o in shown if o.output_type == "error"]
    assert any("text/latex" in o.get("data", {}) for o in shown), "formulas display as LaTeX"
    assert "mc.check(" in sources or "mc.check_proof(" in sources, "exercises checked by matcalc"
    prose = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    assert sum(len(text.split()) for text in prose) > 300, "prose a student can learn from"
    if path.name[:2] in ("02", "03", "04"):
        assert any("image/png" in o.get("data", {}) for o in shown), "plots are stored as PNG"


def test_backpropagation_shows_bp1_to_bp4_typeset() -> None:
    notebook = nbformat.read(ROOT / "notebooks" / "04_backpropagation.ipynb", as_version=4)
    latex = "\n".join(
        o.data["text/latex"] for o in outputs(notebook) if "text/latex" in o.get("data", {})
    )
    for label in ("BP1", "BP2", "BP3", "BP4"):
        assert rf"\text{{{label}}}" in latex, label


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_outputs_are_current(path: Path, kernel: str) -> None:
    """Executed again, every cell shows what the stored notebook shows."""
    stored = nbformat.read(path, as_version=4)
    fresh = nbformat.read(path, as_version=4)
    for cell in code_cells(fresh):
        cell.outputs = []
    resources = {"metadata": {"path": str(path.parent)}}
    NotebookClient(
        fresh, timeout=120, kernel_name=kernel, resources=resources, coalesce_streams=True
    ).execute()
    for index, (old, new) in enumerate(zip(code_cells(stored), code_cells(fresh), strict=True)):
        if digest(old) != digest(new):
            diff = difflib.unified_diff(
                readable(digest(old)), readable(digest(new)), "stored", "executed now", lineterm=""
            )
            first_line = old.source.splitlines()[0] if old.source else ""
            pytest.fail(
                f"{path.name}, code cell {index + 1} ({first_line!r}) shows something else "
                f"now: the stored outputs are stale; {REBUILD}\n" + "\n".join(diff)[:6000]
            )


def roughness(history) -> tuple[float, float]:
    """After the first three epochs: the largest fall of the test accuracy below its best
    so far, and the largest rise of the training cost from one epoch to the next
    (relative)."""
    accuracy, loss = history.column("test_accuracy"), history.column("loss")
    best, fall, rise = accuracy[2], 0.0, 0.0
    for epoch in range(3, len(history)):
        best = max(best, accuracy[epoch])
        fall = max(fall, best - accuracy[epoch])
        rise = max(rise, (loss[epoch] - loss[epoch - 1]) / loss[epoch - 1])
    return fall, rise


def test_the_demo_training_curve_is_smooth_and_reported_per_epoch() -> None:
    """The demo's (and notebook 04's) step-size schedule gives a curve that teaches: the
    test accuracy never falls more than 2 points below its best after epoch 3, the
    training cost never rises more than 2% in an epoch, one line of progress per epoch.
    The old constant step of 0.1 fails the same test."""
    X_train, y_train, X_test, y_test = demo.digits()
    Y_train, Y_test = one_hot(y_train, 10), one_hot(y_test, 10)
    network = Network([64, 32, 10], activation="relu", cost="cross_entropy")
    lines: list[str] = []
    _, history = demo.train(network, X_train, Y_train, X_test, Y_test, epochs=30, log=lines.append)
    fall, rise = roughness(history)
    assert fall <= 0.02 and rise <= 0.02, (fall, rise)
    assert history[-1]["test_accuracy"] >= 0.95
    assert len(lines) == 30
    readout = re.compile(
        r"epoch +\d+/30  step [0-9.]+  train loss [0-9.]+ accuracy [0-9.]+%  "
        r"test loss [0-9.]+ accuracy [0-9.]+%  \([0-9.]+ s\)"
    )
    assert all(readout.fullmatch(line) for line in lines), lines[0]
    assert set(history[0]) >= {"epoch", "lr", "loss", "accuracy", "test_loss", "test_accuracy"}

    _, old = network.train(
        X_train, Y_train, epochs=30, lr=0.1, batch_size=32, seed=0,
        X_test=X_test, Y_test=Y_test, log=None,
    )  # fmt: skip
    old_fall, old_rise = roughness(old)
    assert old_fall > 0.02 or old_rise > 0.02, (old_fall, old_rise)


def test_the_training_figure_has_both_panels_labelled() -> None:
    X_train, y_train, X_test, y_test = demo.digits()
    network = Network([64, 16, 10], activation="relu", cost="cross_entropy")
    _, history = demo.train(
        network, X_train, one_hot(y_train, 10), X_test, one_hot(y_test, 10), epochs=3, log=None
    )
    figure = demo.figure(history)
    loss, accuracy = figure.axes
    for axes in (loss, accuracy):
        assert axes.get_xlabel() == "epoch" and axes.get_ylabel()
        assert [t.get_text() for t in axes.get_legend().get_texts()] == ["training set", "test set"]
    assert "cost" in loss.get_ylabel() and "accuracy" in accuracy.get_ylabel()
    width, height = figure.get_size_inches()
    assert width >= 10 and height >= 4
