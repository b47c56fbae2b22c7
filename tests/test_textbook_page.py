"""The textbook page: write_tex / write_pdf give a portrait A4 (or Letter) document
on which every line fits (no overfull box in pdflatex's log, no ink in the margins
of the rendered pages), each rule a right-hand annotation, a legend of the symbols
used, and Nielsen's BP1–BP4 as tags.  Two pdflatex runs: the demo network's
derivation on A4, and a long derivation whose result must break, on Letter."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_latex import read_png_gray

import matcalc as mc
from matcalc import document

TOOLS = ("pdflatex", "pdfinfo", "pdftoppm", "pdftotext")
DPI = 50
MARGIN_CM = 2.5


def demo_network() -> mc.Derivation:
    return mc.nn.Network([784, 30, 10]).derivation()


def two_sigmoid_layers() -> mc.Derivation:
    f = mc.parse(
        "sum((sigmoid(W2@sigmoid(W1@x + b1) + b2) - y)**2)/2",
        {"W1": (30, 784), "x": 784, "b1": 30, "W2": (10, 30), "b2": 10, "y": 10},
    )
    return mc.derive(f, mc.variables(f)["W1"])


def compile_page(derivation: mc.Derivation, folder: Path, paper: str) -> dict:
    """write_tex, then pdflatex as write_pdf runs it (keeping the log); the source,
    the log, the page size and the pages as PNG."""
    for tool in TOOLS:
        assert shutil.which(tool), f"{tool} is missing: .ci/run installs texlive and poppler"
    tex = derivation.write_tex(folder / "page.tex", paper=paper)
    pdf = document.compile_latex(tex, log=folder / "page.log")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info.stdout)
    assert size is not None, info.stdout
    subprocess.run(
        ["pdftoppm", "-png", "-gray", "-r", str(DPI), str(pdf), str(folder / "page")], check=True
    )
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True)
    return {
        "tex": tex.read_text(encoding="utf-8"),
        "log": (folder / "page.log").read_text(errors="replace"),
        "size": (float(size.group(1)), float(size.group(2))),
        "pages": sorted(folder.glob("page*.png")),
        "text": text.stdout,
    }


@pytest.fixture(scope="module")
def network_page(tmp_path_factory) -> dict:
    return compile_page(demo_network(), tmp_path_factory.mktemp("network"), "a4")


@pytest.fixture(scope="module")
def long_page(tmp_path_factory) -> dict:
    return compile_page(two_sigmoid_layers(), tmp_path_factory.mktemp("long"), "letter")


@pytest.fixture(params=["network", "long"])
def page(request, network_page, long_page) -> dict:
    return network_page if request.param == "network" else long_page


def test_no_line_is_overfull(page) -> None:
    overfull = [line for line in page["log"].splitlines() if "Overfull \\hbox" in line]
    assert not overfull, overfull


def test_the_pages_are_portrait_a4_and_letter(network_page, long_page) -> None:
    assert network_page["size"] == pytest.approx((595.28, 841.89), abs=0.5)
    assert long_page["size"] == pytest.approx((612.0, 792.0), abs=0.5)
    assert "a4paper,portrait" in network_page["tex"]
    assert "letterpaper,portrait" in long_page["tex"]
    assert "landscape" not in network_page["tex"] + long_page["tex"]


def test_every_page_renders_with_no_ink_in_the_side_margins(page) -> None:
    """Page 1 (and the others) as PNG: ink on the page, none in the left and right
    margins (a line running off the text block would put some there)."""
    assert page["pages"] and page["pages"][0].name == "page-1.png"
    margin = int((MARGIN_CM - 0.5) / 2.54 * DPI)  # half a centimetre of tolerance
    for png in page["pages"]:
        pixels = read_png_gray(png)
        assert 0.002 < np.mean(pixels < 128) < 0.5, f"{png.name} looks blank"
        sides = np.concatenate([pixels[:, :margin], pixels[:, -margin:]], axis=1)
        assert not np.any(sides < 128), f"{png.name} has ink in a side margin"


def test_bp1_to_bp4_are_tagged(network_page) -> None:
    for label in ("BP1", "BP2", "BP3", "BP4"):
        assert rf"\tag{{{label}}}" in network_page["tex"]
        assert f"({label})" in network_page["text"]


def test_the_legend_says_what_each_symbol_used_means(network_page, long_page) -> None:
    legend = network_page["tex"].split(r"\paragraph{Notation.}")[1].split(r"\paragraph")[0]
    for symbol in (r"[$\odot$]", r"[$\sigma'$]", r"[$\mathbf{1}$]", "[$B$]", r"[$A^{\circ k}$]"):
        assert symbol in legend
    assert r"\item[layout] numerator layout: $\partial y/\partial x$" in legend
    assert "batch size" in network_page["text"] and "sum(A, axis = 1)" in network_page["text"]
    long_legend = long_page["tex"].split(r"\paragraph{Notation.}")[1].split(r"\paragraph")[0]
    assert "[$B$]" not in long_legend  # no batch here: not in its legend
    assert r"\operatorname{step}" not in legend  # nor the step function


def test_rules_are_right_hand_annotations_in_the_lectures_words(network_page) -> None:
    steps = network_page["tex"].split(r"\paragraph{The steps}")[1]
    assert r"&& \rulenote{elementwise function} \tag{BP1}" in steps
    assert r"\rulenote{definition $(30\times B)$}" in steps
    assert "dy/dx" not in network_page["tex"] and "?" not in steps


def test_the_long_result_is_broken_across_lines(long_page) -> None:
    result = long_page["tex"].split(r"\paragraph{The result.}")[1]
    assert result.count(r"\\") >= 1 and "\n& \\qquad " in result
    assert r"\right." in result and r"\left." in result  # a group cut and reopened


def test_a_formula_is_broken_before_an_operator_and_every_line_balances() -> None:
    latex = mc.latex(two_sigmoid_layers().result)
    lines = document.break_formula(latex, 200.0)
    assert len(lines) >= 3
    for line in lines:
        assert line.count(r"\left") == line.count(r"\right")
        assert line.count("{") == line.count("}")
        assert document.width_of(line.split(r"\vphantom")[0]) <= 240
    assert all(line.startswith(("{}", r"\left.")) for line in lines[1:])
    assert document.break_formula("a + b", 200.0) == ["a + b"]


def test_the_paper_is_a4_or_letter(tmp_path) -> None:
    with pytest.raises(mc.LatexError, match="paper must be one of a4, letter"):
        demo_network().write_tex(tmp_path / "page.tex", paper="a5")
    assert r"\usepackage[letterpaper,portrait" in demo_network().document(paper="letter")
