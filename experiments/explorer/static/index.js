// The gate explorer's page. TensorBoard's iframe imports this module and calls render().
// Everything read from the server or typed is put on the page as text (textContent, new Option),
// never as HTML; every URL is relative (the iframe's <base> points at this plugin's routes).

const state = {
  runs: [], run: null, layer: null, gate: null, trace: null, units: [], switchStep: null,
  probe: null, probeKey: null, timer: null, serial: 0, edited: false, defaultRun: null,
  clampSerial: 0, sourceEdited: false,
};
const AXIS = 44;  // px left of the heatmaps for the unit axis; the word chips start after it
const $ = {};

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function getJson(route, params) {
  const response = await fetch(`./${route}?${new URLSearchParams(params)}`);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${route}: HTTP ${response.status}`);
  return body;
}

function fmt(value) {
  return Number(value).toFixed(3);
}

// ---------------------------------------------------------------- colours

// Gates in [0, 1] on white → blue; signed or unbounded values on red ← white → blue.
function scaleFor(matrices) {
  let low = Infinity, high = -Infinity;
  for (const m of matrices) for (const row of m) for (const v of row) {
    low = Math.min(low, v); high = Math.max(high, v);
  }
  if (low >= 0 && high <= 1) return { low: 0, high: 1, signed: false };
  const bound = Math.max(Math.abs(low), Math.abs(high), 1e-9);
  return { low: -bound, high: bound, signed: true };
}

function colour(value, scale) {
  const t = Math.min(1, Math.max(0, (value - scale.low) / (scale.high - scale.low)));
  const mix = (a, b, s) => Math.round(a + (b - a) * s);
  if (!scale.signed) return `rgb(${mix(255, 20, t)},${mix(255, 80, t)},${mix(255, 200, t)})`;
  if (t < 0.5) { const s = (0.5 - t) * 2; return `rgb(${mix(255, 200, s)},${mix(255, 40, s)},${mix(255, 40, s)})`; }
  const s = (t - 0.5) * 2;
  return `rgb(${mix(255, 20, s)},${mix(255, 80, s)},${mix(255, 200, s)})`;
}

// ---------------------------------------------------------------- drawing

// The chosen units' mean gate value at every step of a (time, units) matrix.
function unitMean(matrix, units) {
  const chosen = units.length ? units : matrix[0] ? matrix[0].map((_, u) => u) : [];
  return matrix.map((row) => chosen.reduce((sum, u) => sum + row[u], 0) / Math.max(1, chosen.length));
}

function drawStrip(container, tokens, matrix, units, options = {}) {
  container.replaceChildren();
  const values = unitMean(matrix, units);
  const scale = scaleFor([values.map((v) => [v])]);
  tokens.forEach((token, t) => {
    const value = values[t];
    const cell = el("span", { class: "token", "data-step": String(t), "data-value": String(value) }, [
      el("span", { class: "word", text: token }),
      el("span", { class: "value", text: fmt(value) }),
    ]);
    cell.title = `t=${t} “${token}”: ${value}`;
    cell.style.background = colour(value, scale);
    if (t === options.mark) cell.classList.add("marked");
    if (options.onPick) cell.addEventListener("click", () => options.onPick(t));
    container.append(cell);
  });
}

// Where each step's column lies, [left, right) in px from the canvas's left edge: under its word
// chip in `strip` (drawn just above, from the same left edge, past the unit axis), so the
// columns line up with the words; equal columns when the chips are not laid out.
function columnEdges(strip, time) {
  const chips = strip ? [...strip.querySelectorAll(".token")] : [];
  const origin = strip ? strip.getBoundingClientRect().left : 0;
  const boxes = chips.map((c) => c.getBoundingClientRect());
  if (chips.length === time && time && boxes[time - 1].right > boxes[0].left) {
    return boxes.map((b, t) => [b.left - origin, t + 1 < time ? boxes[t + 1].left - origin : b.right - origin]);
  }
  const cell = Math.max(3, Math.min(24, Math.floor(900 / Math.max(1, time))));
  return [...Array(time).keys()].map((t) => [AXIS + t * cell, AXIS + (t + 1) * cell]);
}

// The heatmap (units × words) under the word chips of `strip`: a unit axis on the left, the
// words as the time axis below (`xAxis`), each column under its word.
// `onPick(t, unit)`, when given, is called with the clicked column's step and row's unit.
function drawHeatmap(canvas, readout, tokens, matrix, units, strip = null, xAxis = null, onPick = null) {
  const time = matrix.length, n = time ? matrix[0].length : 0;
  const rows = units.length ? units : [...Array(n).keys()];
  const height = Math.max(3, Math.min(24, Math.floor(480 / Math.max(1, rows.length))));
  const edges = columnEdges(strip, time);
  const width = Math.ceil(time ? edges[time - 1][1] : AXIS);
  canvas.width = width; canvas.height = rows.length * height;
  canvas.style.width = `${width}px`; canvas.style.height = `${canvas.height}px`;
  const context = canvas.getContext("2d");
  const scale = scaleFor([matrix]);
  rows.forEach((u, r) => matrix.forEach((row, t) => {
    context.fillStyle = colour(row[u], scale);
    context.fillRect(edges[t][0], r * height, edges[t][1] - edges[t][0], height);
  }));
  context.fillStyle = "#444"; context.font = "10px sans-serif"; context.textAlign = "right";
  const every = Math.ceil(11 / height);  // unit numbers at least 11 px apart
  rows.forEach((u, r) => { if (r % every === 0) context.fillText(`${u}`, AXIS - 4, r * height + height / 2 + 4); });
  context.save(); context.translate(10, canvas.height / 2); context.rotate(-Math.PI / 2);
  context.textAlign = "center"; context.fillText("unit", 0, 0); context.restore();
  if (xAxis) {
    xAxis.replaceChildren();
    xAxis.style.width = `${width}px`;
    let last = -Infinity;
    tokens.forEach((token, t) => {
      const centre = (edges[t][0] + edges[t][1]) / 2;
      if (centre - last < 28) return;  // words at least 28 px apart; the chips name every one
      last = centre;
      const tick = el("span", { class: "tick", "data-step": String(t), text: token });
      tick.style.left = `${centre}px`;
      xAxis.append(tick);
    });
  }
  const at = (event) => {
    const box = canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * width;
    const t = edges.findIndex(([left, right]) => x >= left && x < right);
    const r = Math.floor(((event.clientY - box.top) / box.height) * rows.length);
    return t < 0 || r < 0 || r >= rows.length ? null : [t, rows[r]];
  };
  canvas.onmousemove = (event) => {
    const cell = at(event);
    if (cell) readout.textContent = `unit ${cell[1]}, t=${cell[0]} “${tokens[cell[0]]}”: ${matrix[cell[0]][cell[1]]}`;
  };
  canvas.onclick = onPick ? (event) => { const cell = at(event); if (cell) onPick(...cell); } : null;
  canvas.style.cursor = onPick ? "pointer" : "";
  const range = scale.signed ? `red ${fmt(scale.low)} · white 0 · blue ${fmt(scale.high)}` : "white 0 · blue 1";
  readout.textContent = `${rows.length} units × ${time} steps (${range}); hover for a value`;
}

// Curves over time: one per series, each {name, values}, on a shared vertical axis, with axes:
// `axes.x` / `axes.y` their titles, `axes.ticks` the label of each step (default: its index).
function drawCurves(canvas, series, axes = {}) {
  const width = 900, height = 200, left = 56, right = 16, top = 12, bottom = 40;
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, width, height);
  const all = series.flatMap((s) => s.values);
  if (!all.length) return;
  const low = Math.min(...all), high = Math.max(...all), span = high - low || 1;
  const steps = Math.max(...series.map((s) => s.values.length));
  const xAt = (t) => left + (steps > 1 ? t / (steps - 1) : 0.5) * (width - left - right);
  const yAt = (v) => height - bottom - ((v - low) / span) * (height - top - bottom);
  context.strokeStyle = "#888"; context.fillStyle = "#444"; context.font = "11px sans-serif";
  context.beginPath(); context.moveTo(left, top); context.lineTo(left, height - bottom);
  context.lineTo(width - right, height - bottom); context.stroke();
  context.textAlign = "right";
  for (const v of span ? [low, (low + high) / 2, high] : [low]) context.fillText(fmt(v), left - 4, yAt(v) + 4);
  context.textAlign = "center";
  const ticks = axes.ticks || [...Array(steps).keys()].map(String);
  const every = Math.max(1, Math.ceil(steps / 20));
  for (let t = 0; t < steps; t += every) {
    context.fillText(String(ticks[t]), xAt(t), height - bottom + 14);
    context.beginPath(); context.moveTo(xAt(t), height - bottom); context.lineTo(xAt(t), height - bottom + 4); context.stroke();
  }
  if (axes.x) context.fillText(axes.x, (left + width - right) / 2, height - 6);
  if (axes.y) {
    context.save(); context.translate(12, (top + height - bottom) / 2); context.rotate(-Math.PI / 2);
    context.fillText(axes.y, 0, 0); context.restore();
  }
  const palette = ["#1f6fd1", "#d1491f", "#2a9d3a", "#8a3ac2", "#c29a1f", "#444"];
  context.textAlign = "left";
  series.forEach((s, k) => {
    context.strokeStyle = palette[k % palette.length];
    context.beginPath();
    s.values.forEach((v, t) => { if (t) context.lineTo(xAt(t), yAt(v)); else context.moveTo(xAt(t), yAt(v)); });
    context.stroke();
    if (s.values.length === 1) context.fillRect(xAt(0) - 2, yAt(s.values[0]) - 2, 4, 4);
    context.fillStyle = context.strokeStyle;
    context.fillText(s.name, left + 8, top + 10 + 12 * k);
  });
}

// A prediction in a few words: the most probable class and its probability, or the value.
function predictionText(prediction) {
  if (!prediction) return "";
  return prediction.top ? `${prediction.top[0].label} ${fmt(prediction.top[0].probability)}` : fmt(prediction.value);
}

function showPrediction(container, prediction, target) {
  container.replaceChildren();
  if (!prediction) return;
  if (prediction.top) {
    container.append(el("span", { class: "label", text: prediction.at ? `prediction (${prediction.at}): ` : "prediction: " }));
    prediction.top.forEach((c, i) => container.append(el("span", {
      class: i ? "class" : "class best", "data-label": c.label, text: `${c.label} ${fmt(c.probability)}`,
    })));
  } else {
    container.append(el("span", { class: "label", text: "prediction: " }),
      el("span", { class: "class best", "data-value": String(prediction.value), text: fmt(prediction.value) }));
  }
  if (target != null) container.append(el("span", { class: "label", text: ` · target ${target}` }));
  if (prediction.steps) {
    const steps = prediction.steps.map((s) => (typeof s === "number" ? fmt(s) : s));
    container.append(el("div", { class: "steps", text: `at every step: ${steps.join(" ")}` }));
  }
}

// ---------------------------------------------------------------- units

function parseUnits(text, count) {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean).map(Number))]
    .filter((u) => Number.isInteger(u) && u >= 0 && u < count);
}

function setUnits(units) {
  state.units = units;
  $.units.value = units.join(", ");
  redraw();
}

// Units whose value at the switch step is furthest from their mean over the other steps.
function unitsAtSwitch(matrix, step, k = 5) {
  const score = matrix[0].map((_, u) => {
    const others = matrix.filter((_, t) => t !== step).map((row) => row[u]);
    const mean = others.reduce((a, b) => a + b, 0) / Math.max(1, others.length);
    return [Math.abs(matrix[step][u] - mean), u];
  });
  return score.sort((a, b) => b[0] - a[0]).slice(0, k).map(([, u]) => u);
}

function unitsByVariance(matrix, k = 5) {
  const score = matrix[0].map((_, u) => {
    const column = matrix.map((row) => row[u]);
    const mean = column.reduce((a, b) => a + b, 0) / column.length;
    return [column.reduce((a, v) => a + (v - mean) ** 2, 0) / column.length, u];
  });
  return score.sort((a, b) => b[0] - a[0]).slice(0, k).map(([, u]) => u);
}

// ---------------------------------------------------------------- the page

function build() {
  const select = (id) => ($[id] = el("select", { id }));
  const button = (id, text) => ($[id] = el("button", { id, type: "button", text }));
  document.body.replaceChildren(
    el("header", {}, [
      el("label", { text: "Run " }, [select("run")]),
      el("label", { text: "Layer " }, [select("layer")]),
      el("label", { text: "Gate " }, [select("gate")]),
      button("reload", "Reload runs"),
      ($.runInfo = el("span", { id: "run-info", class: "info" })),
    ]),
    el("section", { id: "ask" }, [
      el("h2", { text: "Ask the model" }),
      ($.next = el("p", { id: "next", class: "next" })),
      ($.hint = el("p", { id: "hint", class: "info" })),
      ($.facts = el("div", { id: "facts", class: "info" })),
      ($.vocab = el("details", { id: "vocab", class: "info" }, [
        el("summary", { text: "Vocabulary" }), ($.vocabList = el("div", { id: "vocab-list" })),
      ])),
      ($.input = el("textarea", { id: "input", rows: "3", spellcheck: "false" })),
      el("div", {}, [button("trace", "Trace"), ($.status = el("span", { id: "status", class: "info" }))]),
      ($.error = el("div", { id: "error", class: "error", role: "alert" })),
      ($.prediction = el("div", { id: "prediction", class: "prediction" })),
      ($.notes = el("div", { id: "notes", role: "status" })),
      el("div", { class: "controls" }, [
        el("label", { text: "Units " }, [($.units = el("input", { id: "units", placeholder: "all (e.g. 3, 17)" }))]),
        button("switchUnits", "Most different at the switch word"),
        button("varianceUnits", "Highest variance"),
        button("allUnits", "All units"),
        ($.switchInfo = el("span", { id: "switch-info", class: "info" })),
      ]),
      el("div", { class: "aligned" }, [
        ($.strip = el("div", { id: "strip", class: "strip" })),
        ($.heatmap = el("canvas", { id: "heatmap" })),
        ($.heatmapX = el("div", { id: "heatmap-x", class: "axis-x" })),
        el("div", { class: "axis-title", text: "word (time step)" }),
      ]),
      ($.readout = el("div", { id: "readout", class: "info" })),
      el("div", { class: "controls" }, [
        el("label", { text: "Click a heatmap column to clamp the gate there to " }, [select("clamp-value")]),
        el("label", { text: " at " }, [select("clamp-units")]),
        ($.sourceLabel = el("label", { id: "source-label", hidden: "" }, [
          el("span", { text: " second input (its gate at the clicked word is patched in): " }),
          ($.source = el("textarea", { id: "patch-source", rows: "1", cols: "48", spellcheck: "false" })),
        ])),
      ]),
      ($.intervention = el("div", { id: "intervention", role: "status" })),
      ($.curves = el("div", { id: "curves" }, [
        el("div", { class: "info", text: "input features over time" }),
        ($.inputCurve = el("canvas", { id: "input-curve" })),
        el("div", { class: "info", text: "the chosen units of the gate over time" }),
        ($.gateCurve = el("canvas", { id: "gate-curve" })),
      ])),
    ]),
    el("section", { id: "training" }, [
      el("h2", { text: "Over training (the logged probe)" }),
      el("div", { class: "controls" }, [
        el("label", { text: "Example " }, [select("example")]),
        el("label", { text: "Epoch " }, [($.epoch = el("input", { id: "epoch", type: "range", min: "0", max: "0", value: "0" }))]),
        ($.epochLabel = el("span", { id: "epoch-label", class: "info" })),
      ]),
      ($.probeInfo = el("div", { id: "probe-info", class: "info" })),
      ($.probeCurve = el("canvas", { id: "probe-curve" })),
      ($.probePrediction = el("div", { id: "probe-prediction", class: "prediction" })),
      el("div", { class: "aligned" }, [
        ($.probeStrip = el("div", { id: "probe-strip", class: "strip" })),
        ($.probeHeatmap = el("canvas", { id: "probe-heatmap" })),
        ($.probeHeatmapX = el("div", { id: "probe-heatmap-x", class: "axis-x" })),
      ]),
      ($.probeReadout = el("div", { id: "probe-readout", class: "info" })),
    ]),
  );
  $["clamp-value"].replaceChildren(new Option("0", "0"), new Option("1", "1"),
    new Option("its value in a second input", "patch"));
  $["clamp-value"].addEventListener("change", choseClamp);
  $.source.addEventListener("input", () => { state.sourceEdited = $.source.value.trim() !== ""; });
  $["clamp-units"].replaceChildren(new Option("every unit", "all"), new Option("the clicked unit", "one"));
  $.run.addEventListener("change", () => selectRun($.run.value));
  $.layer.addEventListener("change", () => { fillGates(); changedGate(); });
  $.gate.addEventListener("change", changedGate);
  $.reload.addEventListener("click", loadRuns);
  $.trace.addEventListener("click", trace);
  $.input.addEventListener("input", () => {
    state.edited = true;  // what the person typed stays when they switch runs
    clearTimeout(state.timer);
    state.timer = setTimeout(trace, 400);
  });
  $.units.addEventListener("change", () => setUnits(parseUnits($.units.value, unitCount())));
  $.switchUnits.addEventListener("click", () => {
    const matrix = currentMatrix();
    if (matrix && state.switchStep != null) setUnits(unitsAtSwitch(matrix, state.switchStep));
  });
  $.varianceUnits.addEventListener("click", () => {
    const matrix = currentMatrix();
    if (matrix) setUnits(unitsByVariance(matrix));
  });
  $.allUnits.addEventListener("click", () => setUnits([]));
  $.example.addEventListener("change", redrawProbe);
  $.vocab.addEventListener("toggle", loadVocab);
  $.epoch.addEventListener("input", redrawProbe);
}

// The step a probe example marks as the one that matters: context_switch's but/and, adding's
// first marker, copy's delimiter; null when the task marks none.
function markedStep(example) {
  const marks = example.marks || {};
  const steps = marks.switch || marks.markers || marks.delimiter;
  return steps && steps.length ? steps[0] : null;
}

function currentMatrix() {
  const gates = state.trace && state.trace.gates[state.layer];
  return gates ? gates[state.gate] : null;
}

function unitCount() {
  const matrix = currentMatrix();
  return matrix && matrix.length ? matrix[0].length : Infinity;
}

async function loadRuns() {
  $.error.textContent = "";
  try {
    const body = await getJson("runs", {});
    state.runs = body.runs;
    state.maxSteps = body.max_steps;
    state.defaultRun = body.default;
  } catch (error) {
    $.error.textContent = String(error.message);
    return;
  }
  if (!state.runs.length) {
    $.error.textContent = "No run to explore: train with logger=tensorboard (logger.every_n_epochs " +
      "not null), or export a run's SavedModel (python -m experiments.export RUN_DIR) into the logdir.";
    return;
  }
  const previous = state.run && state.run.run;
  $.run.replaceChildren(...state.runs.map((r) => {
    const about = [r.model, r.data, r.seq_len != null ? `seq_len ${r.seq_len}` : null,
      r.traceable ? null : r.why.startsWith("no exported SavedModel") ? "no SavedModel" : "SavedModel unusable",
      r.probe ? null : "no logged probe"].filter((a) => a != null);
    return new Option(`${r.run} (${about.join(", ")})`, r.run);
  }));
  const same = state.runs.find((r) => r.run === previous);
  // Reloading keeps the same run's view (what was typed, layer, gate, units); a new run starts
  // from its example.
  const view = same ? { text: $.input.value, layer: state.layer, gate: state.gate, units: state.units } : null;
  // The first visit opens where the tutorial is (the server's `default`: the LSTM at the
  // shortest length, with its task's sentence).
  selectRun((same || state.runs.find((r) => r.run === state.defaultRun) || state.runs[0]).run, view);
}

function selectRun(name, view = null) {
  const run = state.runs.find((r) => r.run === name);
  const typed = state.edited && state.run && state.run.task.input_kind === run.task.input_kind
    ? $.input.value : null;  // a sentence the person typed stays when switching runs
  if (state.run && state.run.task.input_kind !== run.task.input_kind) {
    state.sourceEdited = false;  // text is no second input for a feature run, nor the reverse
  }
  state.run = run;
  $.run.value = name;
  $.layer.replaceChildren(...Object.keys(run.layers).map((l) => {
    const cell = run.layers[l].cell;
    return new Option(cell ? `${l} (${cell})` : l, l);
  }));
  if (view && run.layers[view.layer]) $.layer.value = view.layer;
  fillGates();
  if (view && run.layers[state.layer]?.gates.includes(view.gate)) $.gate.value = state.gate = view.gate;
  const task = run.task;
  const tutorial = task.tutorial || null;
  const example = tutorial ? { text: tutorial.text } : run.example;
  const prefilled = tutorial ? "; prefilled with a sentence in the task's own words."
    : example.text != null || example.values != null ? "; prefilled with a validation example." : ".";
  const about = task.input_kind == null ? "" : `, ${task.input_kind}, output ${task.output}`;
  $.runInfo.textContent = `task ${task.name ?? "unknown"}${about}`;
  if (task.input_kind == null) {  // a SavedModel that cannot be read: `trace` shows why
    $.hint.textContent = "This run's SavedModel cannot be read, so nothing can be typed.";
    $.input.value = "";
  } else if (task.input_kind === "tokens" && task.vocab_size == null) {
    $.hint.textContent = `Token ids, whole numbers separated by spaces, at most ${state.maxSteps}: this run ` +
      "has no vocabulary file (preprocessing.json) beside its SavedModel" + prefilled;
    $.input.value = "";
  } else if (task.input_kind === "tokens") {
    $.hint.textContent = (task.characters ? "Characters" : "Words separated by spaces") +
      ` from the run's vocabulary (below), at most ${state.maxSteps}` + prefilled;
    $.input.value = example.text ?? "";
  } else {
    $.hint.textContent = `A JSON array (time, ${task.input_dim}) of numbers, at most ${state.maxSteps} steps` +
      prefilled;
    $.input.value = example.values ? "[\n" + example.values.map((row) => JSON.stringify(row)).join(",\n") + "\n]" : "";
  }
  if (view) $.input.value = view.text;
  else if (typed != null) $.input.value = typed;
  else state.edited = false;
  showTutorial(tutorial);
  $.curves.hidden = task.input_kind !== "features";
  $.vocab.hidden = task.vocab_size == null;
  $.vocabList.replaceChildren();
  $.vocab.open = tutorial != null && task.vocab_size != null;  // the words one may type, shown
  loadVocab();
  $.example.replaceChildren();
  state.probeKey = null;
  state.units = view ? view.units : [];
  $.units.value = state.units.join(", ");
  state.trace = null;
  state.switchStep = null;
  trace();
  loadProbe();
}

function fillGates() {
  state.layer = $.layer.value;
  const layer = state.run.layers[state.layer] ?? { gates: [] };  // none: an unreadable SavedModel
  $.gate.replaceChildren(...layer.gates.map((g) => new Option(g, g)));
  $.gate.value = layer.gates.includes(layer.memory_gate) ? layer.memory_gate : layer.gates[0];
  state.gate = $.gate.value;
}

function changedGate() {
  state.layer = $.layer.value;
  state.gate = $.gate.value;
  redraw();
  loadProbe();
}

// The task's facts (a name → favourite table, the filler length) and what to try next.
function showTutorial(tutorial) {
  const facts = (tutorial && tutorial.facts) || {};
  $.next.textContent = tutorial && tutorial.hint ? tutorial.hint : "";
  $.next.hidden = !$.next.textContent;
  $.facts.replaceChildren();
  if (facts.filler != null) {
    $.facts.append(el("div", { text: `Trained with exactly ${facts.filler} filler words between ` +
      "“but <name>” (or “and”) and “likes ___”; each name has one favourite food:" }));
  }
  const favourite = facts.favourite || {};
  if (Object.keys(favourite).length) {
    $.facts.append(el("table", { id: "favourites" }, [
      el("tr", {}, [el("th", { text: "name" }), ...Object.keys(favourite).map((n) => el("td", { text: n }))]),
      el("tr", {}, [el("th", { text: "favourite food" }), ...Object.values(favourite).map((f) => el("td", { text: f }))]),
    ]));
  }
}

// Nothing of an earlier answer stays on the page once a request fails or cannot be made.
function clearResults() {
  state.trace = null;
  for (const node of [$.strip, $.prediction, $.notes, $.heatmapX, $.intervention]) node.replaceChildren();
  $.heatmap.width = $.heatmap.height = 0;
  $.heatmap.style.width = $.heatmap.style.height = "0px";
  $.readout.textContent = $.switchInfo.textContent = "";
}

async function trace() {
  const run = state.run;
  if (!run) return;
  const serial = ++state.serial;
  state.clampSerial++;  // a clamp still on its way was of the input before
  $.error.textContent = "";
  if (!run.traceable) {
    clearResults();
    $.error.textContent = `Run ${run.run} cannot be traced: ${run.why}`;
    return;
  }
  const key = run.task.input_kind === "tokens" ? "text" : "values";
  if (!$.input.value.trim()) {
    $.status.textContent = "type an input to trace";
    return;
  }
  $.status.textContent = "tracing…";
  try {
    const body = await getJson("trace", { run: run.run, [key]: $.input.value });
    if (serial !== state.serial) return;  // a later request superseded this one
    state.trace = body;
    followInput();
    $.intervention.replaceChildren();  // it was of the input before
    $.notes.replaceChildren(...(body.notes || []).map((note) => el("div", {
      class: "note", text: `Outside what this run was trained on: ${note}.`,
    })));
    const unknown = body.unknown.length ? ` · read as <unk>: ${body.unknown.join(" ")}` : "";
    $.status.textContent = `${body.tokens.length} steps traced in ${(body.seconds * 1000).toFixed(0)} ms${unknown}`;
    const words = body.tokens;
    const but = words.indexOf("but");
    const mark = markedStep(run.example);
    state.switchStep = but >= 0 ? but : mark != null && mark < words.length ? mark : 0;
    redraw();
  } catch (error) {
    if (serial !== state.serial) return;
    $.status.textContent = "";
    clearResults();
    $.error.textContent = String(error.message);
  }
}

function redraw() {
  const matrix = currentMatrix();
  if (matrix) {
    const tokens = state.trace.tokens;
    state.units = state.units.filter((u) => u < unitCount());
    drawStrip($.strip, tokens, matrix, state.units, {
      mark: state.switchStep,
      onPick: (t) => { state.switchStep = t; redraw(); },
    });
    drawHeatmap($.heatmap, $.readout, tokens, matrix, state.units, $.strip, $.heatmapX, intervene);
    showPrediction($.prediction, state.trace.prediction);
    const who = state.units.length ? `units ${state.units.join(", ")}` : "mean of all units";
    $.switchInfo.textContent = `switch word: “${tokens[state.switchStep]}” (t=${state.switchStep}; click a word to change it) · strip: ${who}`;
    if (state.trace.input) {
      const features = state.trace.input[0].length;
      drawCurves($.inputCurve, [...Array(features).keys()].map((f) => ({
        name: `feature ${f}`, values: state.trace.input.map((row) => row[f]),
      })), { x: "time step", y: "value" });
      const units = state.units.length ? state.units.slice(0, 6) : null;
      drawCurves($.gateCurve, units ? units.map((u) => ({ name: `${state.gate} unit ${u}`, values: matrix.map((row) => row[u]) }))
        : [{ name: `${state.gate}, mean of all units`, values: unitMean(matrix, []) }],
      { x: "time step", y: state.gate });
    }
  }
  redrawProbe();
}

// Clamp the shown gate at step `t` (every unit, or `unit` when "the clicked unit" is chosen) and
// show the prediction before → after and which gates and states changed from which step on.
async function intervene(t, unit) {
  const run = state.run, traced = state.trace;
  if (!run || !traced) return;
  const serial = ++state.clampSerial;
  const key = run.task.input_kind === "tokens" ? "text" : "values";
  const params = {
    run: run.run, [key]: $.input.value, layer: state.layer, gate: state.gate, step: t,
    value: $["clamp-value"].value,
  };
  if ($["clamp-units"].value === "one") params.unit = unit;
  if (params.value === "patch") params.source = $.source.value;
  $.error.textContent = "";
  $.status.textContent = "clamping…";
  try {
    const body = await getJson("intervene", params);
    if (serial !== state.clampSerial) return;
    $.status.textContent = "";
    const c = body.clamp;
    const where = c.unit == null ? "every unit" : `unit ${c.unit}`;
    const changed = [];
    for (const [layer, keys] of Object.entries(body.changes)) {
      for (const [name, change] of Object.entries(keys)) {
        if (change.from == null) continue;
        const largest = Math.max(...change.largest);
        changed.push(el("li", { class: "changed", "data-key": `${layer}/${name}`,
          text: `${layer}/${name} from t=${change.from} “${body.tokens[change.from]}” (largest change ${fmt(largest)})` }));
      }
    }
    const source = body.source;
    const unknown = source && source.unknown.length ? ` (read as <unk>: ${source.unknown.join(" ")})` : "";
    const how = c.value === "patch"
      ? `patched at t=${c.step} “${body.tokens[c.step]}” from t=${c.step} “${source.tokens[c.step]}” of “${source.tokens.join(" ")}”${unknown}`
      : `clamped to ${c.value} at t=${c.step} “${body.tokens[c.step]}”`;
    $.intervention.replaceChildren(
      el("div", { class: "clamp", text: `${c.layer}/${c.gate} ${how}, ${where}:` }),
      el("div", { id: "before-after", class: "prediction",
        text: `prediction ${predictionText(body.before)} → ${predictionText(body.after)}` }),
      changed.length ? el("ul", { class: "changes" }, changed)
        : el("div", { class: "info", text: "no gate or state changed by more than 1e-6" }),
    );
  } catch (error) {
    if (serial !== state.clampSerial) return;
    $.status.textContent = "";
    $.intervention.replaceChildren();
    $.error.textContent = String(error.message);
  }
}

// Patching needs a second input: shown only then. Until the person edits it, it follows the
// traced input with "but" made "and" (the patch reads the same step of both, so the twin must
// keep every other word in place; the person can type any other).
function choseClamp() {
  $.sourceLabel.hidden = $["clamp-value"].value !== "patch";
  followInput();
}

function followInput() {
  if (!state.sourceEdited) $.source.value = $.input.value.replace(/\bbut\b/, "and");
}

async function loadProbe() {
  const run = state.run;
  const key = `${run.run}|${state.layer}|${state.gate}`;
  if (state.probeKey === key) return;
  state.probeKey = key;
  state.probe = null;
  $.epoch.disabled = $.example.disabled = !run.probe;
  $.probeInfo.textContent = run.probe ? "" : "This run has no logged probe, so there is no epoch slider: " +
    "it was not trained with the explorer's GateLogger (logger=tensorboard, logger.every_n_epochs), " +
    "only its SavedModel is here. Typed input (above) is traced all the same.";
  if (!run.probe) {
    redrawProbe();
    return;
  }
  try {
    const body = await getJson("probe", { run: run.run, layer: state.layer, gate: state.gate });
    if (state.probeKey !== key) return;
    state.probe = body;
    if (!$.example.options.length) {
      $.example.replaceChildren(...body.examples.map((e, i) => new Option(
        `probe ${i}${e.target != null ? ` (target ${e.target})` : ""}`, String(i))));
    }
    $.epoch.max = String(Math.max(0, body.steps.length - 1));
    $.epoch.value = $.epoch.max;
  } catch (error) {
    $.probeInfo.textContent = String(error.message);
  }
  redrawProbe();
}

function redrawProbe() {
  const probe = state.probe;
  if (!probe || !probe.steps.length) {
    for (const node of [$.probeStrip, $.probePrediction, $.probeHeatmapX]) node.replaceChildren();
    $.probeHeatmap.hidden = $.probeCurve.hidden = true;
    $.epochLabel.textContent = $.probeReadout.textContent = "";
    return;
  }
  const index = Number($.epoch.value), ex = Number($.example.value || 0);
  const example = probe.examples[ex];
  const matrix = probe.values[index][ex];
  const tokens = example.tokens || matrix.map((_, t) => String(t));
  const step = probe.steps[index];
  $.epochLabel.textContent = `step ${step} (epoch ${step + 1}), ${index + 1} of ${probe.steps.length} logged`;
  const mark = markedStep(example);
  const units = state.units.filter((u) => matrix.length && u < matrix[0].length);
  drawStrip($.probeStrip, tokens, matrix, units, { mark });
  $.probeHeatmap.hidden = false;
  drawHeatmap($.probeHeatmap, $.probeReadout, tokens, matrix, units, $.probeStrip, $.probeHeatmapX);
  const predictions = probe.predictions[index];
  showPrediction($.probePrediction, predictions && predictions[ex], example.target);
  $.probeCurve.hidden = mark == null;
  if (mark == null) {
    $.probeInfo.textContent = "";
    return;
  }
  // The gate at the marked step and elsewhere, at every logged epoch: how the behaviour formed.
  const atMark = [], elsewhere = [];
  for (const matrices of probe.values) {
    const values = unitMean(matrices[ex], units);
    const rest = values.filter((_, t) => t !== mark);
    atMark.push(values[mark]);
    elsewhere.push(rest.reduce((a, b) => a + b, 0) / Math.max(1, rest.length));
  }
  $.probeInfo.textContent = `${state.gate} at “${tokens[mark]}” (t=${mark}): ${fmt(atMark[index])}; ` +
    `mean elsewhere ${fmt(elsewhere[index])} · the curves: both over the ${probe.steps.length} logged epochs`;
  drawCurves($.probeCurve, [
    { name: `${state.gate} at “${tokens[mark]}”`, values: atMark },
    { name: `${state.gate} elsewhere`, values: elsewhere },
  ], { x: "epoch", y: `mean ${state.gate}`, ticks: probe.steps.map((s) => s + 1) });
}

async function loadVocab() {
  const run = state.run;
  if (!$.vocab.open || $.vocabList.childNodes.length || !run) return;
  try {
    const body = await getJson("vocab", { run: run.run, start: 0, count: 300 });
    if (state.run !== run) return;
    const more = body.total > body.tokens.length ? ` … (${body.total} in all; the first ${body.tokens.length} listed)` : "";
    $.vocabList.textContent = body.tokens.join(" ") + more;
  } catch (error) {
    $.vocabList.textContent = String(error.message);
  }
}

export async function render() {
  document.head.append(el("link", { rel: "stylesheet", href: "./style.css" }));
  build();
  await loadRuns();
}
