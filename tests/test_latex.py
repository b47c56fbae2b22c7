"""Every derivation compiles with a real LaTeX engine (pdflatex, batch mode)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import lectures
import numpy as np
import pytest
from operation_specs import SPECS

import matcalc as mc
from matcalc import derivation as D
from matcalc import document

HAVE_PDFLATEX = shutil.which("pdflatex") is not None


def test_ci_has_the_latex_engine() -> None:
    """CI installs texlive (.ci/run); there the compile tests must really compile."""
    if os.environ.get("CI"):
        assert HAVE_PDFLATEX and shutil.which("pdftoppm"), "CI must install texlive and poppler"


def compile_or_explain(derivations, path: Path, title: str) -> Path | None:
    """Compile; without pdflatex, check the clear message and the written .tex instead."""
    if HAVE_PDFLATEX:
        pdf = document.write_document(derivations, path, title)
        assert pdf.exists() and pdf.stat().st_size > 1000
        return pdf
    with pytest.raises(mc.LatexError, match="pdflatex is not installed"):
        document.write_document(derivations, path, title)
    assert path.with_suffix(".tex").exists()
    return None


def all_lectures():
    out = []
    for build in (lectures.neuron, lectures.one_layer, lectures.network):
        out += list(build()[0].values())
    return out


@pytest.mark.parametrize("index", range(4), ids=["activation", "loss", "one layer", "network"])
def test_lecture_derivation_compiles(index, tmp_path) -> None:
    derivation = all_lectures()[index]
    compile_or_explain([derivation], tmp_path / "lecture.tex", derivation.title)


def test_a_derivation_for_every_rule_compiles(tmp_path) -> None:
    derivations, rules = [], set()
    for spec in SPECS:
        f = spec.scalar
        variables = spec.wrt
        derivation = mc.derive(f, variables)
        derivations.append(derivation)
        rules |= {f"{step.rule} ({step.note})" for step in derivation.steps}
        if spec.vector_jacobian:  # and a Jacobian derivation, in both layouts
            var = mc.variables(spec.expr)[spec.vector_jacobian[0]]
            if spec.expr.is_vector and not spec.expr.is_scalar:
                derivations.append(mc.derive(spec.expr, var, name="F", layout="denominator"))
    # several variables take the chain rule of Jacobians even where one alone goes by
    # differentials (its rules: determinant, trace, inverse)
    A, X = mc.matrix("A", 3, 3), mc.matrix("X", 3, 3)
    for f in (mc.det(A @ X), mc.trace(mc.inv(A) @ X), mc.logdet(A @ X.T)):
        derivation = mc.derive(f, [A, X])
        derivations.append(derivation)
        rules |= {f"{step.rule} ({step.note})" for step in derivation.steps}
    seen = " | ".join(rules)
    missing = [rule for rule in D.VOCABULARY if rule not in seen]
    assert not missing, f"no derivation shows {missing}"
    compile_or_explain(derivations, tmp_path / "rules.tex", "One derivation per operation")


def test_latex_errors_are_reported(tmp_path) -> None:
    tex = tmp_path / "broken.tex"
    tex.write_text("\\documentclass{article}\\begin{document}$\\notacommand x$\\end{document}\n")
    if HAVE_PDFLATEX:
        with pytest.raises(mc.LatexError, match="Undefined control sequence"):
            document.compile_latex(tex)
    else:
        with pytest.raises(mc.LatexError, match="pdflatex is not installed"):
            document.compile_latex(tex)


def test_missing_pdflatex_says_so_and_still_writes_the_tex(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(document.shutil, "which", lambda name: None)
    derivation = all_lectures()[2]
    with pytest.raises(mc.LatexError, match="pdflatex is not installed.*source is in"):
        derivation.write_pdf(tmp_path / "one_layer.pdf")
    assert (tmp_path / "one_layer.tex").read_text().startswith("\\documentclass")


def read_png_gray(path: Path) -> np.ndarray:
    """A tiny PNG reader for pdftoppm's 8-bit gray or RGB output (filters 0-4)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, color = header[0], header[1], header[2], header[3]
    assert depth == 8 and color in (0, 2), "expected 8-bit gray or RGB"
    bpp = 1 if color == 0 else 3
    raw = zlib.decompress(b"".join(chunks))
    size = width * bpp
    rows, prev = [], np.zeros(size, dtype=np.int32)
    for r in range(height):
        start = r * (size + 1)
        kind = raw[start]
        cur = np.frombuffer(raw[start + 1 : start + 1 + size], np.uint8).astype(np.int32)
        if kind == 2:
            cur = (cur + prev) & 255
        elif kind in (1, 3, 4):
            for i in range(size):
                a = cur[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                if kind == 1:
                    pred = a
                elif kind == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[i] = (cur[i] + pred) & 255
        rows.append(cur)
        prev = cur
    pixels = np.array(rows, dtype=np.uint8).reshape(height, width, bpp)
    return pixels.mean(axis=2)


def test_rendered_page_is_not_blank(tmp_path) -> None:
    derivation = all_lectures()[2]
    pdf = compile_or_explain([derivation], tmp_path / "page.tex", "One layer")
    if pdf is None:
        return  # no LaTeX engine here: the message was checked instead (CI always has one)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-gray",
            "-r",
            "40",
            "-f",
            "1",
            "-l",
            "1",
            str(pdf),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    (png,) = tmp_path.glob("page*.png")
    pixels = read_png_gray(png)
    dark = np.mean(pixels < 128)
    assert 0.002 < dark < 0.5, f"{dark:.4f} of the page is ink"
