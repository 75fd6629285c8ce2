// The demo page: fills the model list from GET v1/models, sends the text to POST v1/ner, and shows
// the entities inline. Every piece of text reaches the page through textContent / text nodes, never
// innerHTML: the submitted text is user data.
"use strict";

const EXAMPLES = {
  en: "Angela Merkel met Emmanuel Macron in Paris on Tuesday, said Reuters. Later, IBM and the United Nations "
    + "announced a joint programme in Geneva.",
  zh: "张三在北京大学工作。中国外交部发言人在上海表示，联合国将在日内瓦召开会议。",
};
// One colour per label; labels beyond these get the fallbacks in order of first appearance.
const COLOURS = { PER: "#2563eb", LOC: "#059669", ORG: "#d97706", MISC: "#7c3aed", GPE: "#0d9488" };
const FALLBACK = ["#db2777", "#dc2626", "#0891b2", "#65a30d", "#4b5563", "#9333ea"];
const assigned = new Map();

const $ = (id) => document.getElementById(id);
let models = [];

function colour(label) {
  if (COLOURS[label]) return COLOURS[label];
  if (!assigned.has(label)) assigned.set(label, FALLBACK[assigned.size % FALLBACK.length]);
  return assigned.get(label);
}

// The API's offsets are Python string indices (code points); a JavaScript string counts UTF-16
// units, so an emoji before an entity would shift it by one. Slice an array of code points instead.
function segments(text, entities) {
  const chars = Array.from(text);
  const out = [];
  let pos = 0;
  for (const e of entities) {
    if (e.start > pos) out.push({ text: chars.slice(pos, e.start).join("") });
    out.push({ text: chars.slice(e.start, e.end).join(""), entity: e });
    pos = e.end;
  }
  if (pos < chars.length) out.push({ text: chars.slice(pos).join("") });
  return out;
}

function entityElement(text, e) {
  const mark = document.createElement("mark");
  mark.className = "ent";
  mark.dataset.label = e.label;
  mark.dataset.score = String(e.score);
  mark.title = `${e.label} · score ${e.score.toFixed(3)}`;
  mark.tabIndex = 0;
  mark.style.setProperty("--ent", colour(e.label));
  const body = document.createElement("span");
  body.className = "ent-text";
  body.textContent = text;
  const tag = document.createElement("span");
  tag.className = "ent-label";
  tag.textContent = e.label;
  tag.setAttribute("aria-hidden", "true");
  mark.setAttribute("aria-label", `${text}: ${e.label}, score ${e.score.toFixed(3)}`);
  mark.append(body, tag);
  return mark;
}

function showEntities(text, entities) {
  const output = $("output");
  output.replaceChildren();
  if (!text) {
    output.append(placeholder("Nothing to tag: the text is empty."));
    return;
  }
  for (const part of segments(text, entities)) {
    output.append(part.entity ? entityElement(part.text, part.entity) : document.createTextNode(part.text));
  }
  if (!entities.length) output.append(placeholder("  (no entities found)"));
}

function placeholder(message) {
  const span = document.createElement("span");
  span.className = "placeholder";
  span.textContent = message;
  return span;
}

// The legend lists the selected model's labels, with how many of each the last answer found.
function showLegend(labels, entities = []) {
  const counts = new Map();
  for (const e of entities) counts.set(e.label, (counts.get(e.label) || 0) + 1);
  const legend = $("legend");
  legend.replaceChildren();
  for (const label of [...new Set([...labels, ...counts.keys()])]) {
    const item = document.createElement("li");
    item.dataset.label = label;
    item.style.setProperty("--ent", colour(label));
    item.append(document.createTextNode(label));
    if (counts.has(label)) {
      const n = document.createElement("span");
      n.className = "n";
      n.textContent = `× ${counts.get(label)}`;
      item.append(n);
    }
    legend.append(item);
  }
}

function selectedModel() {
  return models.find((m) => m.name === $("model").value);
}

function showError(message, body) {
  const box = $("error");
  box.replaceChildren();
  const error = body && body.error;
  if (error && error.code) {
    const code = document.createElement("code");
    code.textContent = error.code;
    box.append(code, document.createTextNode(`: ${error.message}`));
    if (error.request_id) box.append(document.createTextNode(` (request ${error.request_id})`));
  } else {
    box.textContent = message;
  }
  box.hidden = false;
}

function showRaw(body) {
  $("raw").textContent = typeof body === "string" ? body : JSON.stringify(body, null, 2);
  $("raw-box").open = true;
}

async function readBody(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function loadModels() {
  const select = $("model");
  try {
    const response = await fetch("v1/models", { headers: { Accept: "application/json" } });
    const body = await readBody(response);
    if (!response.ok) throw new Error(`GET v1/models answered ${response.status}`);
    models = body.models;
  } catch (err) {
    showError(`Could not list the models: ${err.message}`);
    return;
  }
  if (!models.length) {
    $("status").textContent = "models are still loading…";
    setTimeout(loadModels, 2000);
    return;
  }
  $("status").textContent = "";
  select.replaceChildren();
  for (const m of models) {
    const option = document.createElement("option");
    option.value = m.name;
    option.textContent = `${m.name} (${m.language})`;
    option.selected = m.default;
    select.append(option);
  }
  showLegend(selectedModel().labels);
}

function useExample(language) {
  $("text").value = EXAMPLES[language];
  const match = models.find((m) => m.language === language);
  if (match) $("model").value = match.name;
  const model = selectedModel();
  if (model) showLegend(model.labels);
  updateCount();
  $("text").focus();
}

function updateCount() {
  const n = Array.from($("text").value).length;  // code points, as NER_MAX_CHARS counts them
  $("count").textContent = `${n} character${n === 1 ? "" : "s"}`;
}

async function submit(event) {
  event.preventDefault();
  const text = $("text").value;  // the text the offsets will point into, even if edited meanwhile
  const model = $("model").value || null;
  const button = $("submit");
  button.disabled = true;
  $("status").textContent = "tagging…";
  $("error").hidden = true;
  try {
    const response = await fetch("v1/ner", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(model ? { text, model } : { text }),
    });
    const body = await readBody(response);
    showRaw(body);
    if (!response.ok) {
      showError(`The service answered ${response.status}.`, body);
      $("output").replaceChildren(placeholder("No result: see the error above."));
      $("status").textContent = `error ${response.status}`;
      return;
    }
    showEntities(text, body.entities);
    const info = models.find((m) => m.name === body.model);
    showLegend(info ? info.labels : [], body.entities);
    const n = body.entities.length;
    $("status").textContent = `${n} entit${n === 1 ? "y" : "ies"} (model ${body.model})`;
  } catch (err) {
    showError(`Request failed: ${err.message}`);
    $("status").textContent = "error";
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("form").addEventListener("submit", submit);
  $("text").addEventListener("input", updateCount);
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("form").requestSubmit();
    }
  });
  $("model").addEventListener("change", () => showLegend(selectedModel() ? selectedModel().labels : []));
  for (const button of document.querySelectorAll("[data-example]")) {
    button.addEventListener("click", () => useExample(button.dataset.example));
  }
  loadModels();
});
