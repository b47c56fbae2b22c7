// The page of `matcalc serve`: live parsing as the user types, the derivative and
// its steps, the check of an answer or a proof, and the exports.
//
// What the server says reaches the DOM only as text (textContent) or through
// KaTeX with trust off, never as HTML: a name or an error message that holds
// markup is shown, not run.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const DEBOUNCE_MS = 250;
  const PROPERTIES = ["symmetric", "probability"];

  const state = {
    parsed: null, // the last good /api/parse answer
    wrt: [], // the names ticked, in the order they were ticked
    shapes: {}, // name -> {sizes, symmetric, probability}: what the user declared
    rows: new Map(), // name -> the table row's elements, kept while the name is in f
    derived: null,
    pdflatex: false,
  };

  // -- typesetting and errors -----------------------------------------------------------
  function math(element, tex, display) {
    element.textContent = "";
    if (!tex) return;
    if (window.katex) {
      try {
        window.katex.render(tex, element, {
          displayMode: display,
          throwOnError: false,
          trust: false, // no \href, \url, \htmlClass …: the TeX cannot make markup
          strict: "ignore",
          output: "htmlAndMathml",
          maxExpand: 1000,
          maxSize: 100,
        });
        return;
      } catch (error) {
        // KaTeX refused the TeX outright: show its source as text below
      }
    }
    element.textContent = tex;
  }

  function showError(box, error) {
    box.textContent = "";
    box.hidden = !error;
    if (!error) return;
    const message = document.createElement("p");
    message.className = "message";
    message.textContent = error.message;
    box.append(message);
    if (typeof error.line === "string") {
      const caret = document.createElement("pre");
      caret.className = "caret";
      const where = error.line_number > 1 ? `line ${error.line_number}: ` : "";
      caret.textContent = `${where}${error.line}\n${" ".repeat(where.length + error.column)}^`;
      box.append(caret);
    }
  }

  function setStatus(words) {
    $("status").textContent = words;
  }

  // -- requests ---------------------------------------------------------------------------
  const inFlight = {};

  // POST to /api/<endpoint>; a newer request of the same key aborts the older one, whose
  // answer is then dropped (null), so a slow answer never overwrites a newer one.
  async function post(endpoint, body, key) {
    if (inFlight[key]) inFlight[key].abort();
    const controller = new AbortController();
    inFlight[key] = controller;
    let response, data;
    try {
      response = await fetch(`/api/${endpoint}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      data = response.ok && endpoint === "pdf" ? await response.blob() : await response.json();
    } catch (error) {
      if (controller.signal.aborted) return null;
      const message = response
        ? `the server answered ${response.status} without an explanation`
        : "the server does not answer: is matcalc serve still running?";
      return { ok: false, error: { kind: "network", message } };
    } finally {
      if (inFlight[key] === controller) delete inFlight[key];
    }
    if (controller.signal.aborted) return null;
    if (response.ok) return { ok: true, data };
    return { ok: false, error: data.error || { kind: "internal", message: String(response.status) } };
  }

  function debounced(action) {
    let timer = null;
    return () => {
      clearTimeout(timer);
      timer = setTimeout(action, DEBOUNCE_MS);
    };
  }

  // -- the request's fields ---------------------------------------------------------------
  function spec(name) {
    const declared = state.shapes[name];
    if (!declared) return null;
    const properties = PROPERTIES.filter((p) => declared[p]);
    let sizes = declared.sizes.trim();
    if (!sizes && !properties.length) return null;
    if (!sizes) {
      const row = state.rows.get(name);
      sizes = row ? row.sizes.placeholder : "";
      if (!sizes) return null;
    }
    return [sizes, ...properties].join(",");
  }

  function shapes() {
    const out = {};
    for (const name of Object.keys(state.shapes)) {
      const text = spec(name);
      if (text) out[name] = text;
    }
    return out;
  }

  function formulaFields() {
    return {
      formula: $("formula").value,
      syntax: $("syntax").value,
      shapes: shapes(),
      name: $("name").value.trim() || "f",
    };
  }

  function deriveFields() {
    return {
      ...formulaFields(),
      wrt: state.wrt,
      kind: $("kind").value,
      layout: $("layout").value,
      detail: $("detail").value,
    };
  }

  // -- 1. the formula, read as the user types ----------------------------------------------
  async function parse() {
    updatePermalink();
    if (!$("formula").value.trim()) {
      state.parsed = null;
      math($("parsed"), "", true);
      $("read-as").textContent = "";
      showError($("formula-error"), null);
      updateVariables([]);
      clearDerivative();
      setStatus("");
      return;
    }
    setStatus("reading…");
    const answer = await post("parse", formulaFields(), "parse");
    if (!answer) return;
    setStatus("");
    if (!answer.ok) {
      state.parsed = null;
      $("formula").setAttribute("aria-invalid", "true");
      showError($("formula-error"), answer.error);
      clearDerivative();
      return;
    }
    $("formula").removeAttribute("aria-invalid");
    showError($("formula-error"), null);
    const parsed = answer.data;
    state.parsed = parsed;
    const name = $("name").value.trim() || "f";
    math($("parsed"), `${parsed.name_latex} = ${parsed.latex}`, true);  // the server's TeX
    const syntax = { numpy: "numpy-like", matlab: "MATLAB-like", latex: "LaTeX" }[parsed.syntax];
    $("read-as").textContent = `read as ${syntax} syntax; ${name} is ${
      parsed.scalar ? "a scalar" : parsed.shape
    }`;
    updateVariables(parsed.variables);
    derive();
  }

  function newRow(name) {
    const tr = document.createElement("tr");
    const cell = () => tr.appendChild(document.createElement("td"));
    const by = document.createElement("input");
    by.type = "checkbox";
    by.dataset.wrt = name;
    by.setAttribute("aria-label", `differentiate by ${name}`);
    by.addEventListener("change", () => {
      state.wrt = by.checked ? [...state.wrt, name] : state.wrt.filter((n) => n !== name);
      updatePermalink();
      clearVerdict();
      derive();
    });
    cell().append(by);
    const label = cell();
    label.className = "name";
    const typeset = document.createElement("span");
    const typed = document.createElement("code");
    typed.textContent = name;
    label.append(typeset, " ", typed);
    const shape = cell();
    const sizes = document.createElement("input");
    sizes.size = 8;
    sizes.spellcheck = false;
    sizes.dataset.sizes = name;
    sizes.setAttribute("aria-label", `the sizes of ${name}`);
    sizes.value = (state.shapes[name] && state.shapes[name].sizes) || "";
    sizes.addEventListener("input", () => declare(name));
    cell().append(sizes);
    const flags = {};
    for (const property of PROPERTIES) {
      const box = document.createElement("input");
      box.type = "checkbox";
      box.dataset[property] = name;
      box.setAttribute("aria-label", `${name} is ${property}`);
      box.checked = Boolean(state.shapes[name] && state.shapes[name][property]);
      box.addEventListener("change", () => declare(name));
      cell().append(box);
      flags[property] = box;
    }
    const why = cell();
    why.className = "note";
    return { tr, by, typeset, shape, sizes, flags, why };
  }

  function declare(name) {
    const row = state.rows.get(name);
    state.shapes[name] = {
      sizes: row.sizes.value,
      symmetric: row.flags.symmetric.checked,
      probability: row.flags.probability.checked,
    };
    scheduleParse();
  }

  function updateVariables(variables) {
    const body = $("variables").querySelector("tbody");
    const names = new Set(variables.map((v) => v.name));
    for (const [name, row] of state.rows) {
      if (!names.has(name)) {
        row.tr.remove();
        state.rows.delete(name);
      }
    }
    state.wrt = state.wrt.filter((n) => names.has(n));
    for (const v of variables) {
      let row = state.rows.get(v.name);
      if (!row) {
        row = newRow(v.name);
        state.rows.set(v.name, row);
      }
      body.append(row.tr); // in the formula's order
      row.by.checked = state.wrt.includes(v.name);
      math(row.typeset, v.latex, false);
      row.shape.textContent = v.kind === "scalar" ? "scalar" : `${v.kind}, ${v.shape}`;
      if (v.properties.length) row.shape.textContent += `, ${v.properties.join(", ")}`;
      row.sizes.placeholder = v.sizes;
      row.flags.symmetric.disabled = v.kind !== "matrix";
      row.flags.probability.disabled = v.kind === "scalar";
      row.why.textContent = v.why;
    }
    $("variables").hidden = variables.length === 0;
  }

  // -- 2. the derivative --------------------------------------------------------------------
  function clearDerivative() {
    state.derived = null;
    math($("result"), "", true);
    $("steps").querySelector("tbody").textContent = "";
    $("steps-text").textContent = "";
    $("layout-words").textContent = "";
    $("latex-source").textContent = "";
    $("code").textContent = "";
    showError($("derive-error"), null);
    $("derive-hint").hidden = Boolean(state.parsed && state.wrt.length);
  }

  async function derive() {
    if (!state.parsed || !state.wrt.length) {
      clearDerivative();
      return;
    }
    $("derive-hint").hidden = true;
    setStatus("deriving…");
    const fields = deriveFields();
    code(fields);
    const answer = await post("derive", fields, "derive");
    if (!answer) return;
    setStatus("");
    if (!answer.ok) {
      clearDerivative();
      $("derive-hint").hidden = true;
      showError($("derive-error"), answer.error);
      return;
    }
    showError($("derive-error"), null);
    const derived = answer.data;
    state.derived = derived;
    const results = $("result");
    results.textContent = "";
    for (const result of derived.results) {
      const line = document.createElement("div");
      line.className = "result-line";
      line.dataset.variable = result.variable;
      results.append(line);
      math(line, result.latex, true);
    }
    $("layout-words").textContent = derived.layout_words;
    showSteps(derived.steps);
    $("steps-text").textContent = derived.steps_text;
    $("latex-source").textContent = derived.latex_source;
  }

  // One row a step: the rule, the equation typeset (a sentence as text), the note.
  function showSteps(steps) {
    const body = $("steps").querySelector("tbody");
    body.textContent = "";
    for (const step of steps) {
      const tr = body.insertRow();
      const rule = tr.insertCell();
      rule.className = "rule";
      rule.textContent = step.label ? `${step.rule} (${step.label})` : step.rule;
      const equation = tr.insertCell();
      equation.className = "equation";
      const holder = equation.appendChild(document.createElement("div"));
      holder.className = "math"; // a long equation scrolls in its cell
      if (step.latex) math(holder, `\\displaystyle ${step.latex}`, false);
      else holder.textContent = step.text;
      const note = tr.insertCell();
      note.className = "note";
      note.textContent = step.note;
    }
  }

  async function code(fields) {
    if (!state.parsed.scalar) {
      $("code").textContent = "(the code computes a gradient: choose a scalar f)";
      return;
    }
    const answer = await post("code", { ...fields, wrt: fields.wrt.slice(0, 1), kind: "auto" }, "code");
    if (!answer) return;
    $("code").textContent = answer.ok ? answer.data.code : `(${answer.error.message})`;
  }

  // -- 3. the check -------------------------------------------------------------------------
  function clearVerdict() {
    $("verdict").textContent = "";
    $("verdict").className = "";
    math($("verdict-math"), "", true);
    $("verdict-text").textContent = "";
    $("verdict-text-box").hidden = true;
    showError($("check-error"), null);
  }

  async function checkAnswer() {
    clearVerdict();
    if (!state.parsed) {
      showError($("check-error"), { message: "first type a formula that reads" });
      return;
    }
    if (!state.wrt.length) {
      showError($("check-error"), { message: "first tick the variable to differentiate by" });
      return;
    }
    $("verdict").textContent = "checking…";
    const answer = await post(
      "check",
      { ...deriveFields(), answer: $("answer").value, mode: $("mode").value },
      "check"
    );
    if (!answer) return;
    $("verdict").textContent = "";
    if (!answer.ok) {
      const box = answer.error.field === "formula" ? $("formula-error") : $("check-error");
      showError(box, answer.error);
      return;
    }
    const verdict = answer.data;
    const mark = document.createElement("strong");
    mark.textContent = verdict.ok ? "✓ " : "✗ ";
    const words = document.createElement("span");
    words.textContent = verdict.message;
    $("verdict").append(mark, words);
    $("verdict").className = verdict.ok ? "ok" : "wrong";
    if (verdict.mode === "proof") {
      math($("verdict-math"), verdict.latex, true);
      $("verdict-text").textContent = verdict.text;
      $("verdict-text-box").hidden = false;
    } else {
      math($("verdict-math"), `\\text{your answer: }\\quad ${verdict.latex}`, true);
    }
  }

  // -- 4. exports ---------------------------------------------------------------------------
  async function copy(text, button) {
    let done = false;
    try {
      await navigator.clipboard.writeText(text);
      done = true;
    } catch (error) {
      // no clipboard API (an address that is not localhost): select and copy
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      done = document.execCommand("copy");
      area.remove();
    }
    const before = button.dataset.label || button.textContent;
    button.dataset.label = before;
    button.textContent = done ? "Copied" : "Select and copy by hand";
    setTimeout(() => (button.textContent = before), 1500);
  }

  async function pdf() {
    if (!state.derived) {
      $("pdf-status").textContent = "first derive something";
      return;
    }
    $("pdf-status").textContent = "compiling…";
    const answer = await post("pdf", deriveFields(), "pdf");
    if (!answer) return;
    if (!answer.ok) {
      $("pdf-status").textContent = answer.error.message;
      return;
    }
    const url = URL.createObjectURL(answer.data);
    const link = document.createElement("a");
    link.href = url;
    link.download = "derivation.pdf";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    $("pdf-status").textContent = "downloaded derivation.pdf";
  }

  // The input lives in the URL's fragment, which never reaches the server.
  function updatePermalink() {
    const params = new URLSearchParams();
    const put = (key, value, fallback) => {
      if (value && value !== fallback) params.set(key, value);
    };
    put("f", $("formula").value, "");
    put("syntax", $("syntax").value, "auto");
    put("name", $("name").value.trim(), "f");
    put("wrt", state.wrt.join(","), "");
    put("kind", $("kind").value, "auto");
    put("layout", $("layout").value, "numerator");
    put("detail", $("detail").value, "compact");
    put("answer", $("answer").value, "");
    put("mode", $("mode").value, "auto");
    put(
      "shapes",
      Object.keys(state.shapes)
        .map((name) => (spec(name) ? `${name}=${spec(name)}` : ""))
        .filter(Boolean)
        .join(";"),
      ""
    );
    const hash = params.toString();
    history.replaceState(null, "", hash ? `#${hash}` : location.pathname);
    $("permalink").href = hash ? `#${hash}` : "#";
  }

  function choose(select, value) {
    if ([...select.options].some((o) => o.value === value)) select.value = value;
  }

  function readPermalink() {
    const params = new URLSearchParams(location.hash.slice(1));
    $("formula").value = params.get("f") || "";
    choose($("syntax"), params.get("syntax") || "auto");
    $("name").value = params.get("name") || "f";
    state.wrt = (params.get("wrt") || "").split(",").filter(Boolean);
    choose($("kind"), params.get("kind") || "auto");
    choose($("layout"), params.get("layout") || "numerator");
    choose($("detail"), params.get("detail") || "compact");
    $("answer").value = params.get("answer") || "";
    choose($("mode"), params.get("mode") || "auto");
    state.shapes = Object.create(null);  // keys from the URL: no prototype to write to
    for (const item of (params.get("shapes") || "").split(";").filter(Boolean)) {
      const [name, text = ""] = item.split("=");
      const parts = text.split(",").map((p) => p.trim());
      state.shapes[name] = {
        sizes: parts.filter((p) => !PROPERTIES.includes(p)).join(","),
        symmetric: parts.includes("symmetric"),
        probability: parts.includes("probability"),
      };
    }
  }

  async function health() {
    try {
      const response = await fetch("/api/health");
      const data = await response.json();
      $("version").textContent = `matcalc ${data.version}`;
      state.pdflatex = data.pdflatex;
      if (!data.pdflatex) {
        $("pdf-button").disabled = true;
        $("pdf-status").textContent = "pdflatex is not installed here; copy the LaTeX instead";
      }
    } catch (error) {
      $("version").textContent = "matcalc (the server does not answer)";
    }
  }

  // -- wiring ---------------------------------------------------------------------------------
  const scheduleParse = debounced(parse);
  const scheduleDerive = debounced(() => {
    updatePermalink();
    derive();
  });

  $("formula").addEventListener("input", () => {
    clearVerdict();
    scheduleParse();
  });
  $("syntax").addEventListener("change", scheduleParse);
  $("name").addEventListener("input", scheduleParse);
  for (const id of ["kind", "layout", "detail"]) $(id).addEventListener("change", scheduleDerive);
  $("answer").addEventListener("input", debounced(updatePermalink));
  $("answer").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      checkAnswer();
    }
  });
  $("mode").addEventListener("change", updatePermalink);
  $("check-button").addEventListener("click", checkAnswer);
  $("pdf-button").addEventListener("click", pdf);
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", () => {
      const source = $(button.dataset.copy);
      copy(source.tagName === "A" ? source.href : source.textContent, button);
    });
  }
  window.addEventListener("hashchange", () => {
    readPermalink();
    parse();
  });

  readPermalink();
  health();
  parse();
})();
