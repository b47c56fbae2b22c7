"""LaTeX documents of derivations, and pdflatex.

A document is a title and sections; anything with a ``section()`` method
giving LaTeX (a ``Derivation``) can be a section.  ``compile_latex`` runs
pdflatex in batch mode and turns every error into a ``LatexError``.
"""

from __future__ import annotations

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


def write_tex(sections: Sequence[Section], path: str | Path, title: str) -> Path:
    """Write the .tex document of the sections; its path."""
    tex = Path(path)
    tex.parent.mkdir(parents=True, exist_ok=True)
    tex.write_text(latex_document(sections, title), encoding="utf-8")
    return tex


def write_document(sections: Sequence[Section], path: str | Path, title: str) -> Path:
    """Write a .tex document of the derivations and compile it to PDF."""
    return compile_latex(write_tex(sections, Path(path).with_suffix(".tex"), title))


def compile_latex(tex: Path) -> Path:
    """pdflatex in batch mode; any error or undefined control sequence raises."""
    program = shutil.which("pdflatex")
    if program is None:
        raise LatexError(
            f"pdflatex is not installed, so no PDF was made; the LaTeX source is in {tex} "
            "(install texlive-latex-base and texlive-latex-recommended, or compile it elsewhere)"
        )
    with tempfile.TemporaryDirectory() as work:
        run = subprocess.run(
            [
                program,
                "-interaction=batchmode",
                "-halt-on-error",
                f"-output-directory={work}",
                str(tex),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        log = Path(work, tex.with_suffix(".log").name)
        log_text = log.read_text(errors="replace") if log.exists() else run.stdout
        problems = [line for line in log_text.splitlines() if line.startswith("!")]
        if "Undefined control sequence" in log_text:
            problems.append("Undefined control sequence")
        pdf = Path(work, tex.with_suffix(".pdf").name)
        if run.returncode != 0 or problems or not pdf.exists():
            raise LatexError(f"pdflatex failed on {tex}: {'; '.join(problems) or run.returncode}")
        target = tex.with_suffix(".pdf")
        shutil.copyfile(pdf, target)
    return target
