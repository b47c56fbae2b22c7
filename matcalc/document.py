"""LaTeX documents of derivations, and pdflatex.

A document is a title and sections; anything with a ``section()`` method
giving LaTeX (a ``Derivation``) can be a section.  ``compile_latex`` runs
pdflatex in batch mode and turns every error into a ``LatexError``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from .errors import LatexError
from .notation import latex_text


class Section(Protocol):
    def section(self) -> str: ...


def latex_document(sections: Sequence[Section], title: str) -> str:
    """One LaTeX document holding several derivations, one section each."""
    return "\n".join(
        [
            r"\documentclass[11pt]{article}",
            r"\usepackage[a4paper,margin=1.5cm,landscape]{geometry}",
            r"\usepackage{amsmath,amssymb}",
            r"\allowdisplaybreaks",
            r"\setlength{\jot}{7pt}",
            rf"\title{{{latex_text(title)}}}",
            r"\date{}",
            r"\begin{document}",
            r"\maketitle",
            *[d.section() for d in sections],
            r"\end{document}",
            "",
        ]
    )


def _file(path: str | Path) -> Path:
    """path as a file to write: not a directory, not empty."""
    found = Path(path)
    if found.name in ("", ".", "..") or found.is_dir():
        raise LatexError(f"{path} is a directory, not a file to write")
    return found


def write_tex(sections: Sequence[Section], path: str | Path, title: str) -> Path:
    """Write the .tex document of the sections; its path."""
    tex = _file(path)
    tex.parent.mkdir(parents=True, exist_ok=True)
    tex.write_text(latex_document(sections, title), encoding="utf-8")
    return tex


def write_document(
    sections: Sequence[Section], path: str | Path, title: str, force: bool = False
) -> Path:
    """Write a .tex document of the derivations beside the PDF and compile it.

    The .tex is a file the caller did not name: one that exists with other content
    (the user's own paper.tex beside paper.pdf) is never overwritten unless force.
    """
    tex = _file(path).with_suffix(".tex")
    source = latex_document(sections, title)
    if tex.exists() and not force:
        try:
            same = tex.read_text(encoding="utf-8") == source
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            raise LatexError(
                f"{tex} exists and is not this document: it is not overwritten "
                "(choose another name, or force it: --force, force=True)"
            )
    return compile_latex(write_tex(sections, tex, title))


TEX_SECONDS = 60
# TeX runs caged: no shell commands, and it reads and writes only in its own
# directory and the TeX tree (kpathsea's "paranoid" setting), whatever the
# user's texmf.cnf or environment says.
CAGE = {
    **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TEXMFHOME", "TMPDIR")},
    "shell_escape": "f",
    "openin_any": "p",
    "openout_any": "p",
}


def compile_latex(tex: Path) -> Path:
    """pdflatex in batch mode; any error or undefined control sequence raises."""
    program = shutil.which("pdflatex")
    if program is None:
        raise LatexError(
            f"pdflatex is not installed, so no PDF was made; the LaTeX source is in {tex} "
            "(install texlive-latex-base and texlive-latex-recommended, or compile it elsewhere)"
        )
    with tempfile.TemporaryDirectory() as work:
        # a fixed name in the cage: a file name is never read by TeX as code
        shutil.copyfile(tex, Path(work, "document.tex"))
        try:
            run = subprocess.run(
                [
                    program,
                    "-no-shell-escape",
                    "-interaction=batchmode",
                    "-halt-on-error",
                    "document.tex",
                ],
                capture_output=True,
                text=True,
                timeout=TEX_SECONDS,
                env=CAGE,
                cwd=work,
            )
        except subprocess.TimeoutExpired:
            raise LatexError(
                f"pdflatex did not finish {tex} in {TEX_SECONDS} s (a macro that never ends?)"
            ) from None
        log = Path(work, "document.log")
        log_text = log.read_text(errors="replace") if log.exists() else run.stdout
        problems = [line for line in log_text.splitlines() if line.startswith("!")]
        if "Undefined control sequence" in log_text:
            problems.append("Undefined control sequence")
        pdf = Path(work, "document.pdf")
        if run.returncode != 0 or problems or not pdf.exists():
            raise LatexError(f"pdflatex failed on {tex}: {'; '.join(problems) or run.returncode}")
        target = tex.with_suffix(".pdf")
        shutil.copyfile(pdf, target)
    return target
