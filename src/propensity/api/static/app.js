// The dashboard: five tabs over the public API, driven by each model's feature schema.
// Here: start-up, model selection and tabs, and the Predict, Chat and Drift tabs; Metrics and
// Models & retraining have their own modules.
import { api, ApiError } from "./api.js";
import { $, clearError, credentialHeaders, guarded, h, number, percent, showError, state } from "./dom.js";
import { renderMetrics } from "./metrics.js";
import { onRetrain, onRollback, refreshChampion, renderVersions } from "./models.js";

const root = document.documentElement;

// Keeps the page explaining itself even if a bug of ours throws outside a handler.
window.addEventListener("error", (event) => showError("Unexpected error", event.error || event.message));
window.addEventListener("unhandledrejection", (event) => showError("Unexpected error", event.reason));

// ---------------------------------------------------------------------------------------------
// Models and tabs

async function loadModels() {
  state.models = await api.models();
  const select = $("#model-select");
  select.replaceChildren(
    ...state.models.map((m) => h("option", { value: m.name }, `${m.name} · ${m.title}`)),
  );
  const wanted = new URLSearchParams(location.search).get("model") || root.dataset.defaultModel;
  state.model = state.models.some((m) => m.name === wanted) ? wanted : state.models[0]?.name || "";
  select.value = state.model;
}

async function selectModel(name) {
  state.model = name;
  state.detail = null;
  $("#predict-result").replaceChildren();
  $("#chat-log").replaceChildren();
  $("#job").replaceChildren();
  await guarded(`Loading model ${name}`, refreshChampion);
  renderChatExamples();
  if (!state.detail) $("#champion-badge").textContent = "no champion serving";
  renderPredictForm();
  await openTab(state.tab);
}

async function openTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll("[role=tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
  }
  for (const panel of document.querySelectorAll("[role=tabpanel]")) {
    panel.hidden = panel.id !== `tab-${tab}`;
  }
  if (tab === "metrics") await guarded("Loading metrics", renderMetrics);
  if (tab === "models") await guarded("Loading versions", renderVersions);
  if (tab === "drift") await guarded("Loading the drift report", renderDrift);
}

// ---------------------------------------------------------------------------------------------
// Predict

function renderPredictForm() {
  const container = $("#predict-fields");
  container.replaceChildren();
  if (!state.detail) return;
  for (const feature of state.detail.features) {
    const id = `feature-${feature.name}`;
    let input;
    let hint = "";
    if (feature.categories && feature.categories.length) {
      // Nothing preselected: a field the person leaves alone is imputed by the service (and the
      // answer says so), never sent as if someone had chosen the training default.
      const fallback = feature.impute != null ? `(leave to the model: ${feature.impute})` : "(leave to the model)";
      input = h(
        "select",
        { id, name: feature.name },
        h("option", { value: "" }, fallback),
        feature.categories.map((c) => h("option", { value: c }, c)),
      );
      hint = `${feature.categories.length} categories`;
    } else {
      const range = feature.range || {};
      const integer = range.integer === true;
      input = h("input", {
        id,
        name: feature.name,
        type: "number",
        step: integer ? "1" : "any",
        placeholder: feature.impute ?? "",
        "data-min": range.min,
        "data-max": range.max,
      });
      if (range.p01 !== undefined) hint = `typical ${fmtRange(range.p01, integer)}–${fmtRange(range.p99, integer)} (seen ${fmtRange(range.min, integer)}–${fmtRange(range.max, integer)})`;
    }
    container.append(
      h("label", { class: "field", for: id }, h("span", { class: "name" }, feature.name), input, h("small", {}, hint)),
    );
  }
}

function fmtRange(value, integer) {
  if (typeof value !== "number") return "?";
  return integer ? String(Math.round(value)) : Number(value.toPrecision(4)).toString();
}

function collectFeatures() {
  const features = {};
  for (const feature of state.detail.features) {
    const input = document.getElementById(`feature-${feature.name}`);
    const raw = input.value.trim();
    if (raw === "") continue; // the model imputes it (and says so)
    features[feature.name] = input.type === "number" ? Number(raw) : raw;
  }
  return features;
}

function predictionCard(model, prediction) {
  const target = state.detail?.target || {};
  const positive = prediction.prediction === 1;
  const card = h(
    "div",
    { class: `prediction ${positive ? "positive" : "negative"}` },
    h("div", { class: "probability", "data-testid": "probability" }, percent(prediction.probability)),
    h(
      "dl",
      {},
      h("dt", {}, "label"),
      h("dd", { "data-testid": "label" }, `${prediction.label} (${prediction.prediction})`),
      h("dt", {}, "threshold"),
      h("dd", {}, number(prediction.threshold, 3)),
      h("dt", {}, "version"),
      h("dd", { "data-testid": "version" }, `${prediction.model} ${prediction.version}`),
      h("dt", {}, "prediction id"),
      h("dd", { class: "mono" }, prediction.prediction_id),
    ),
    h("h4", {}, "Top reasons"),
    h(
      "ol",
      { class: "reasons" },
      prediction.reasons.map((r) =>
        h(
          "li",
          { class: r.contribution >= 0 ? "up" : "down" },
          h("span", { class: "reason-text" }, r.text),
          h("span", { class: "reason-bar", "data-size": Math.min(100, Math.round(Math.abs(r.contribution) * 40)) }),
        ),
      ),
    ),
    prediction.imputed.length ? h("p", { class: "hint" }, `Filled with training values: ${prediction.imputed.join(", ")}`) : null,
    prediction.unknown?.length ? h("p", { class: "hint" }, `Not seen in training: ${prediction.unknown.join(", ")}`) : null,
    feedbackControls(model, prediction.prediction_id, target),
  );
  // Widths via the CSSOM: the Content-Security-Policy forbids inline style attributes.
  card.querySelectorAll(".reason-bar").forEach((bar) => {
    bar.style.width = `${bar.dataset.size}px`;
  });
  return card;
}

function feedbackControls(model, predictionId, target) {
  const status = h("span", { class: "feedback-status", "data-testid": "feedback-status" });
  const send = (y) => async () => {
    status.textContent = "sending…";
    try {
      const stored = await api.feedback(model, predictionId, y, credentialHeaders());
      status.textContent = stored.duplicate
        ? `already recorded (y=${stored.y})`
        : `feedback stored: y=${stored.y} (${stored.feedback_id}), from ${stored.subject} via ${stored.source}`;
      status.className = "feedback-status ok";
    } catch (error) {
      status.textContent = "";
      showError("Sending feedback", error);
    }
  };
  return h(
    "div",
    { class: "feedback" },
    h("span", {}, "True outcome: "),
    h("button", { type: "button", class: "feedback-yes", onclick: send(1) }, `${target.positive_label || "yes"} (1)`),
    h("button", { type: "button", class: "feedback-no", onclick: send(0) }, `${target.negative_label || "no"} (0)`),
    status,
  );
}

async function onPredict(event) {
  event.preventDefault();
  if (!state.detail) return;
  const model = state.model;
  await guarded("Prediction", async () => {
    const prediction = await api.predict(model, collectFeatures());
    $("#predict-result").replaceChildren(predictionCard(model, prediction));
  });
}

// ---------------------------------------------------------------------------------------------
// Chat

// The examples come from the model's own config ([chat] examples), served with its detail.
function renderChatExamples() {
  const examples = state.detail?.chat_examples || [];
  $("#chat-input").placeholder = examples[0] || "Describe the client";
  $("#chat-examples").replaceChildren(
    ...examples.map((text) =>
      h("button", { type: "button", class: "example", "data-testid": "chat-example", onclick: () => { $("#chat-input").value = text; } }, text),
    ),
  );
}

async function onChat(event) {
  event.preventDefault();
  const message = $("#chat-input").value.trim();
  if (!message) return;
  const model = state.model;
  const log = $("#chat-log");
  log.append(h("div", { class: "bubble user" }, message));
  clearError();
  try {
    const answer = await api.chat(model, message);
    const understood = Object.entries(answer.understood);
    const doubts = Object.entries(answer.implausible || {});
    const excluded = Object.entries(answer.excluded || {});
    log.append(
      h(
        "div",
        { class: "bubble bot", "data-testid": "chat-answer" },
        h("p", {}, answer.reply),
        h("p", { class: "understood" }, "Understood: ", understood.map(([k, v]) => h("span", { class: "chip", "data-feature": k }, `${k} = ${v}`))),
        doubts.length ? h("p", { class: "doubts", "data-testid": "chat-doubts" }, "Please check: ", doubts.map(([k, d]) => h("span", { class: "chip doubt", "data-feature": k, title: d.reason }, `${k} = ${d.value}`))) : null,
        excluded.length ? h("p", { class: "hint excluded" }, `Ruled out: ${excluded.map(([k, v]) => `${k} ≠ ${v.join(", ")}`).join("; ")}`) : null,
        answer.defaults.length ? h("p", { class: "hint defaults" }, `Filled with defaults: ${answer.defaults.join(", ")}`) : null,
        answer.ask?.length ? h("p", { class: "hint ask", "data-testid": "chat-ask" }, `Tell me next: ${answer.ask.join(", ")}`) : null,
        answer.unrecognised?.length ? h("p", { class: "hint" }, `Not understood: ${answer.unrecognised.join(" · ")}`) : null,
        answer.prediction ? predictionCard(model, answer.prediction) : null,
      ),
    );
    $("#chat-input").value = "";
  } catch (error) {
    const text = error instanceof ApiError ? error.message : String(error);
    log.append(h("div", { class: "bubble bot error" }, text));
    showError("Chat", error);
  }
  log.scrollTop = log.scrollHeight;
}

// ---------------------------------------------------------------------------------------------
// Drift

async function renderDrift() {
  const container = $("#drift-report");
  container.replaceChildren();
  let report;
  try {
    report = await api.drift(state.model);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      container.append(h("p", { class: "hint", "data-testid": "drift-empty" }, `No drift report yet: ${error.message}. The scheduled run computes it from logged predictions.`));
      return;
    }
    throw error;
  }
  const features = Object.entries(report.features || {});
  const drifted = new Set(report.drifted_features || []);
  const sources = report.window?.sources ? ` (${report.window.sources.join(", ")})` : "";
  container.append(
    h(
      "p",
      { "data-testid": "drift-status" },
      `Status ${report.status}; ${report.current_rows ?? 0} logged predictions${sources} against ${report.reference_rows ?? "?"} training rows; computed ${report.computed_at || "?"}. `,
      drifted.size ? h("strong", { class: "drifted" }, `Drift in ${[...drifted].join(", ")}`) : "No feature drifted.",
    ),
  );
  if (report.decision) container.append(h("p", { class: "hint", "data-testid": "drift-decision" }, report.decision));
  if (!features.length) {
    container.append(h("p", { class: "hint" }, `Too few logged predictions to compare yet (needs ${report.min_rows ?? "more"}).`));
    return;
  }
  container.append(
    h(
      "table",
      { class: "drift", "data-testid": "drift-table" },
      h("tr", {}, ["feature", "type", "PSI", "test statistic", "p-value", "adjusted p-value", "drift", "decision"].map((t) => h("th", {}, t))),
      features.map(([name, f]) =>
        h(
          "tr",
          { class: drifted.has(name) || f.drift ? "drifted" : "", "data-feature": name },
          h("td", {}, name),
          h("td", {}, f.type),
          h("td", {}, number(f.psi)),
          h("td", {}, number(f.ks_statistic ?? f.chi2_statistic)),
          h("td", {}, number(f.ks_pvalue ?? f.chi2_pvalue, 4)),
          h("td", {}, number(f.adjusted_pvalue, 4)),
          h("td", {}, f.drift ? "yes" : "no"),
          h("td", {}, f.decision || (f.reasons || []).join("; ")),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Wiring

async function start() {
  $("#error-close").addEventListener("click", clearError);
  for (const button of document.querySelectorAll("[role=tab]")) {
    button.addEventListener("click", () => openTab(button.dataset.tab));
  }
  $("#model-select").addEventListener("change", (event) => selectModel(event.target.value));
  $("#predict-form").addEventListener("submit", onPredict);
  $("#chat-form").addEventListener("submit", onChat);
  $("#retrain-form").addEventListener("submit", onRetrain);
  $("#credential-form").addEventListener("submit", (event) => event.preventDefault());
  $("#rollback").addEventListener("click", onRollback);
  // Credentials live in the two fields only (memory): never in sessionStorage or localStorage,
  // where any script on the origin could read them later. A reload forgets them.
  await guarded("Loading the models", loadModels);
  if (state.model) await selectModel(state.model);
  root.dataset.ready = "true"; // tests wait for this
}

start();
