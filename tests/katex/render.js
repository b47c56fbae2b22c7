// Renders LaTeX strings the way Jupyter and VS Code will: with KaTeX
// (throwOnError, strict) and with MathJax 3 (the TeX packages of its default
// configuration: base, ams, newcommand, noundefined, and boldsymbol, which that
// configuration autoloads; no textmacros, so a macro inside \text{} is shown
// literally, and counts as a failure).
//
// stdin: a JSON array of {"latex": string, "display": bool}.
// stdout: a JSON array of {"index": n, "renderer": "katex" | "mathjax", "error": message},
// one per failure (empty when every string renders).
"use strict";

const fs = require("fs");
const katex = require("katex");
const { mathjax } = require("mathjax-full/js/mathjax.js");
const { TeX } = require("mathjax-full/js/input/tex.js");
const { liteAdaptor } = require("mathjax-full/js/adaptors/liteAdaptor.js");
const { RegisterHTMLHandler } = require("mathjax-full/js/handlers/html.js");
const { STATE } = require("mathjax-full/js/core/MathItem.js");
const { SerializedMmlVisitor } = require("mathjax-full/js/core/MmlTree/SerializedMmlVisitor.js");
require("mathjax-full/js/input/tex/base/BaseConfiguration.js");
require("mathjax-full/js/input/tex/ams/AmsConfiguration.js");
require("mathjax-full/js/input/tex/newcommand/NewcommandConfiguration.js");
require("mathjax-full/js/input/tex/noundefined/NoUndefinedConfiguration.js");
require("mathjax-full/js/input/tex/boldsymbol/BoldsymbolConfiguration.js");

RegisterHTMLHandler(liteAdaptor());
const tex = new TeX({
  packages: ["base", "ams", "newcommand", "noundefined", "boldsymbol"],
  formatError: (jax, error) => {
    throw error;
  },
});
const page = mathjax.document("", { InputJax: tex });
const visitor = new SerializedMmlVisitor();

function mathjaxProblem(latex, display) {
  const mml = visitor.visitTree(page.convert(latex, { display, end: STATE.CONVERT }));
  const red = mml.match(/<mtext[^>]*mathcolor="red"[^>]*>([^<]*)</);
  if (red) return `undefined control sequence ${red[1]}`;
  const literal = mml.match(/<mtext[^>]*>([^<]*\\[^<]*)</);
  if (literal) return `macro shown literally inside \\text: ${literal[1]}`;
  if (mml.includes("<merror")) return "merror";
  return null;
}

const items = JSON.parse(fs.readFileSync(0, "utf8"));
const failures = [];
items.forEach((item, index) => {
  const display = item.display !== false;
  try {
    katex.renderToString(item.latex, { throwOnError: true, displayMode: display, strict: "error" });
  } catch (error) {
    failures.push({ index, renderer: "katex", error: String(error.message || error) });
  }
  try {
    const problem = mathjaxProblem(item.latex, display);
    if (problem) failures.push({ index, renderer: "mathjax", error: problem });
  } catch (error) {
    failures.push({ index, renderer: "mathjax", error: String(error.message || error) });
  }
});
process.stdout.write(JSON.stringify(failures));
