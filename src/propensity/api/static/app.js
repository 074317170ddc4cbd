// The dashboard: five tabs over the public API, driven by each model's feature schema.
import { api, ApiError } from "./api.js";
import { barChart, confusionMatrix, lineChart } from "./charts.js";

const root = document.documentElement;
const $ = (selector) => document.querySelector(selector);
const state = { models: [], model: "", detail: null, tab: "predict", jobTimer: null };

const HEADLINE = ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "brier"];
const TREND = ["roc_auc", "pr_auc", "f1"];

// ---------------------------------------------------------------------------------------------
// Small DOM helpers and the error banner (an API error is always shown, never a blank page)

function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function percent(value) {
  return `${(100 * value).toFixed(1)}%`;
}

function number(value, digits = 3) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
}

function showError(context, error) {
  const message = error instanceof ApiError ? error.message : error?.message || String(error);
  const status = error instanceof ApiError && error.status ? ` (HTTP ${error.status})` : "";
  $("#error-text").textContent = `${context}: ${message}${status}`;
  $("#error-banner").hidden = false;
}

function clearError() {
  $("#error-banner").hidden = true;
  $("#error-text").textContent = "";
}

// Keeps the page explaining itself even if a bug of ours throws outside a handler.
window.addEventListener("error", (event) => showError("Unexpected error", event.error || event.message));
window.addEventListener("unhandledrejection", (event) => showError("Unexpected error", event.reason));

async function guarded(context, action) {
  clearError();
  try {
    return await action();
  } catch (error) {
    showError(context, error);
    return undefined;
  }
}

function credentialHeaders() {
  const headers = {};
  const token = $("#admin-token").value.trim();
  const jwt = $("#admin-jwt").value.trim();
  if (token) headers["X-Admin-Token"] = token;
  if (jwt) headers.Authorization = `Bearer ${jwt}`;
  return headers;
}

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
// Metrics

function withInterval(evaluation, name) {
  const bounds = evaluation.intervals?.[name];
  const value = number(evaluation[name]);
  return bounds ? `${value} [${number(bounds.low)}, ${number(bounds.high)}]` : value;
}

function evaluationRow(label, evaluation) {
  return h("tr", {}, h("th", {}, label), HEADLINE.map((name) => h("td", {}, withInterval(evaluation, name))));
}

function liftTable(rows) {
  return h(
    "table",
    { class: "metrics", "data-testid": "lift-table" },
    h("caption", {}, "Lift and gains by decile of score (1 = highest)"),
    h("tr", {}, ["decile", "rows", "positives", "rate", "lift", "cumulative gain", "cumulative lift"].map((name) => h("th", {}, name))),
    rows.map((row) =>
      h(
        "tr",
        {},
        h("td", {}, row.decile),
        h("td", {}, row.rows),
        h("td", {}, row.positives),
        h("td", {}, number(row.positive_rate)),
        h("td", {}, number(row.lift, 2)),
        h("td", {}, percent(row.gain)),
        h("td", {}, number(row.cumulative_lift, 2)),
      ),
    ),
  );
}

async function renderMetrics() {
  const model = state.model;
  const summary = $("#metrics-summary");
  const charts = $("#metrics-charts");
  const trend = $("#metrics-trend");
  summary.replaceChildren();
  charts.replaceChildren();
  trend.replaceChildren();
  const [evaluation, history] = await Promise.all([api.evaluation(model), api.history(model)]);
  const late = evaluation.out_of_time && !evaluation.out_of_time.skipped ? evaluation.out_of_time : null;
  const level = evaluation.intervals ? `${Math.round(100 * evaluation.intervals.confidence)}% CI` : "";
  summary.append(
    h("p", {}, `${model} ${evaluation.version}, evaluated on ${evaluation.evaluated_on?.rows ?? "?"} held-out rows (${evaluation.evaluated_on?.description || "test split"})`),
    h(
      "table",
      { class: "metrics", "data-testid": "metrics-table" },
      h("tr", {}, h("th", {}, "evaluation"), HEADLINE.map((name) => h("th", {}, name))),
      evaluationRow("random split", evaluation),
      late ? evaluationRow("out of time", late) : null,
    ),
    level ? h("p", { class: "hint" }, `Brackets: ${level}, bootstrap over the evaluation rows. Mean prediction ${number(evaluation.mean_predicted)} against a positive rate of ${number(evaluation.positive_rate)}.`) : null,
    late ? h("p", { class: "hint", "data-testid": "out-of-time" }, `Out of time: ${late.evaluated_on.description}. Mean prediction ${number(late.mean_predicted)} against a positive rate of ${number(late.positive_rate)}.`) : null,
    evaluation.tuning ? h("p", { class: "hint" }, `C = ${evaluation.tuning.chosen_C} by ${evaluation.tuning.folds}-fold CV (mean ROC-AUC ${evaluation.tuning.scores.map((s) => `${s.C}: ${number(s.mean)}`).join(", ")}).`) : null,
    evaluation.lift ? liftTable(evaluation.lift) : null,
  );
  const target = state.detail?.target || {};
  charts.append(
    figure("Confusion matrix", confusionMatrix("Confusion matrix", evaluation.confusion_matrix, [target.negative_label || "0", target.positive_label || "1"])),
    figure(
      "ROC curve",
      lineChart(
        "ROC curve",
        [
          { name: `ROC (AUC ${number(evaluation.roc_auc)})`, points: zip(evaluation.curves.roc.fpr, evaluation.curves.roc.tpr) },
          { name: "chance", points: [[0, 0], [1, 1]], dashed: true, colour: "#999" },
        ],
        { xLabel: "false positive rate", yLabel: "true positive rate", xDomain: [0, 1], yDomain: [0, 1] },
      ),
    ),
    figure(
      "Precision-recall curve",
      lineChart(
        "Precision-recall curve",
        [{ name: `PR (AP ${number(evaluation.pr_auc)})`, points: zip(evaluation.curves.pr.recall, evaluation.curves.pr.precision) }],
        { xLabel: "recall", yLabel: "precision", xDomain: [0, 1], yDomain: [0, 1] },
      ),
    ),
    figure(
      "Calibration",
      lineChart(
        "Calibration curve",
        [
          {
            name: "model",
            points: evaluation.calibration.bins.filter((b) => b.count > 0).map((b) => [b.mean_predicted, b.fraction_positive]),
          },
          { name: "perfect", points: [[0, 0], [1, 1]], dashed: true, colour: "#999" },
        ],
        { xLabel: "mean predicted probability", yLabel: "fraction positive", xDomain: [0, 1], yDomain: [0, 1] },
      ),
    ),
    figure("Class distribution of y", barChart("Class distribution of y", classBars(evaluation.class_balance, target), { yLabel: "rows" })),
  );
  if (evaluation.lift) {
    const gains = [[0, 0], ...evaluation.lift.map((row) => [row.cumulative_rows_share, row.gain])];
    charts.append(
      figure(
        "Cumulative gains",
        lineChart(
          "Cumulative gains",
          [
            { name: "model", points: gains },
            { name: "calling at random", points: [[0, 0], [1, 1]], dashed: true, colour: "#999" },
          ],
          { xLabel: "share of rows called, highest scores first", yLabel: "share of positives reached", xDomain: [0, 1], yDomain: [0, 1] },
        ),
      ),
    );
  }
  const versions = [...history.versions].sort((a, b) => versionNumber(a.version) - versionNumber(b.version));
  if (versions.length) {
    trend.append(
      figure(
        "Main metrics by version",
        lineChart(
          "Main metrics by version",
          TREND.map((name) => ({
            name,
            points: versions.map((v) => [versionNumber(v.version), v.metrics[name]]),
            markers: versions.map((v) => ({
              x: versionNumber(v.version),
              y: v.metrics[name],
              kind: v.champion ? "champion" : v.status === "rejected" ? "rejected" : "promoted",
              label: `${v.version} ${v.status}${v.champion ? " (champion)" : ""}: ${name} ${number(v.metrics[name])}${v.reason ? ` — ${v.reason}` : ""}`,
            })),
          })),
          {
            xLabel: "version (● promoted, ✕ rejected, green = champion)",
            yLabel: "score",
            xDomain: [versionNumber(versions[0].version) - 0.5, versionNumber(versions.at(-1).version) + 0.5],
            yDomain: [0, 1],
            xTickValues: versions.map((v) => versionNumber(v.version)),
          },
        ),
      ),
    );
  }
}

function figure(caption, svg) {
  return h("figure", { class: "chart-figure" }, svg, h("figcaption", {}, caption));
}

function zip(xs, ys) {
  return xs.map((x, i) => [x, ys[i]]);
}

function versionNumber(version) {
  return Number(String(version).replace(/^v/, ""));
}

function classBars(balance, target) {
  if (!balance) return [];
  const negative = target.negative_label || "0";
  const positive = target.positive_label || "1";
  return [
    { label: `train ${negative}`, value: balance.train["0"] },
    { label: `train ${positive}`, value: balance.train["1"] },
    { label: `test ${negative}`, value: balance.test["0"] },
    { label: `test ${positive}`, value: balance.test["1"] },
  ];
}

// ---------------------------------------------------------------------------------------------
// Models & retraining

async function renderVersions() {
  const model = state.model;
  const history = await api.history(model);
  const rows = history.versions.map((v) =>
    h(
      "tr",
      { class: v.champion ? "champion" : v.status, "data-version": v.version },
      h("td", {}, v.version, v.champion ? h("span", { class: "badge" }, "champion") : null),
      h("td", { class: "status" }, v.status),
      h("td", {}, v.trigger),
      h("td", {}, v.created_at.replace("T", " ").slice(0, 19)),
      h("td", {}, number(v.metrics.roc_auc)),
      h("td", {}, number(v.metrics.f1)),
      h(
        "td",
        { class: "reason" },
        v.reason || "",
        gateDetails(v.gate),
        holdoutLine(v.feedback_holdout),
      ),
      h(
        "td",
        {},
        v.champion
          ? null
          : h("button", { type: "button", class: "promote", onclick: () => promote(model, v.version) }, "Promote"),
      ),
    ),
  );
  $("#versions").replaceChildren(
    h(
      "table",
      { class: "versions", "data-testid": "versions-table" },
      h("tr", {}, ["version", "status", "trigger", "created", "ROC-AUC", "F1", "reason", ""].map((t) => h("th", {}, t))),
      rows,
    ),
  );
  await renderChallenger(model);
}

// The challenger on trial (an admin route: shown once a credential is entered): its mode, its
// traffic share and the live comparison so far; then the last verdicts with their reasons.
async function renderChallenger(model) {
  const headers = credentialHeaders();
  if (!Object.keys(headers).length) {
    $("#challenger").replaceChildren(h("p", { class: "hint" }, "Enter an admin credential to see challenger trials."));
    return;
  }
  const trials = await api.challenger(model, headers);
  const active = trials.active;
  const summary = active
    ? h(
        "div",
        { class: "trial", "data-testid": "challenger-active" },
        h(
          "p",
          {},
          `${active.version} in ${active.mode} against ${active.champion_version}: `,
          active.mode === "canary" ? `answers ${Math.round(active.fraction * 100)} % of callers` : "answers no one (scored beside the champion)",
          `; until ${active.expires_at.replace("T", " ").slice(0, 16)}`,
        ),
        liveLine(active.live, active.min_live_labels),
      )
    : h("p", { "data-testid": "challenger-none" }, "No challenger on trial: the champion answers every request.");
  const history = trials.trials
    .filter((t) => t.status !== "active")
    .slice(0, 5)
    .map((t) => h("li", { class: t.status }, `${t.version} (${t.mode}): ${t.status} — ${t.reason}`));
  $("#challenger").replaceChildren(summary, history.length ? h("ul", { class: "trials" }, history) : null);
}

function liveLine(live, required) {
  if (!live || live.labels === undefined) return h("p", { class: "live" }, `live labels: 0 of ${required}`);
  const parts = [`live labels: ${live.labels} of ${live.required}`];
  if (live.metric) {
    parts.push(
      `${live.metric} ${number(live.challenger_metric)} vs champion ${number(live.champion_metric)}`,
      `difference ${number(live.difference)} [${number(live.interval[0])}, ${number(live.interval[1])}]`,
      `agreement ${number(live.agreement * 100, 1)} %`,
    );
  }
  return h("p", { class: "live", "data-testid": "challenger-live" }, parts.join(" · "));
}

// The gate's evidence for one version: every guard with its value and limit, failed ones first.
function gateDetails(gate) {
  if (!gate || !gate.guards || gate.guards.length === 0) return null;
  const failed = gate.guards.filter((g) => !g.passed);
  const shown = [...failed, ...gate.guards.filter((g) => g.passed)];
  const total = gate.total ?? gate.guards.length;
  const passed = gate.passed ?? total - failed.length;
  const more = total - shown.length;
  return h(
    "details",
    { class: "gate", "data-testid": "gate-evidence" },
    h("summary", {}, `gate: ${passed} of ${total} guards passed`),
    h(
      "ul",
      {},
      shown.map((g) =>
        h(
          "li",
          { class: g.passed ? "passed" : "failed" },
          `${g.passed ? "✓" : "✗"} ${g.name} vs ${g.against}: ${number(g.value, 4)} (limit ${number(g.limit, 4)})`,
        ),
      ),
      more > 0 ? h("li", { class: "more" }, `… ${more} more passed (GET /models/{model}/versions lists them all)`) : null,
    ),
  );
}

// The version on its held-out feedback (fresh labels it was not trained on): reported beside
// the base split, not part of the gate's decision.
function holdoutLine(report) {
  if (!report) return null;
  const attributes = { class: "holdout", "data-testid": "feedback-holdout" };
  if (report.status !== "reported") {
    const few = report.rows === 0 ? "no rows" : `${report.rows} row${report.rows === 1 ? "" : "s"}, too few to measure`;
    const why = report.status === "disabled" ? "off" : few;
    return h("p", attributes, `feedback hold-out: ${why}`);
  }
  const names = { candidate: "this version", champion: "champion", reference: "reference" };
  const aucs = Object.entries(report.models).map(([name, m]) => `${names[name] || name} ${number(m.roc_auc)}`);
  return h(
    "p",
    attributes,
    `feedback hold-out, ${report.rows} rows (${report.positives} positive): ROC-AUC ${aucs.join(" · ")}`,
  );
}

async function refreshChampion() {
  state.detail = await api.model(state.model);
  $("#champion-badge").textContent = `serving ${state.detail.version} · threshold ${number(state.detail.threshold, 3)}`;
}

async function promote(model, version) {
  await guarded(`Promoting ${version}`, async () => {
    const alias = await api.promote(model, version, credentialHeaders(), "promoted from the dashboard");
    $("#job").replaceChildren(h("p", { class: "ok" }, `${model} now serves ${alias.version}`));
    await renderVersions();
    await refreshChampion();
  });
}

async function onRollback() {
  const model = state.model;
  await guarded("Rolling back", async () => {
    const alias = await api.rollback(model, credentialHeaders(), "rolled back from the dashboard");
    $("#job").replaceChildren(h("p", { class: "ok" }, `${model} rolled back to ${alias.version}`));
    await renderVersions();
    await refreshChampion();
  });
}

async function onRetrain(event) {
  event.preventDefault();
  const model = state.model;
  const file = $("#retrain-file").files[0];
  clearTimeout(state.jobTimer);
  await guarded("Starting the retrain", async () => {
    const job = await api.retrain(model, credentialHeaders(), file);
    const upload = job.upload ? ` with ${job.upload.rows ?? "the"} uploaded rows` : "";
    renderJob(job, `Retrain requested${upload}.`);
    followJob(model, job.job_id, credentialHeaders());
  });
}

function renderJob(job, note = "") {
  const finished = job.status === "succeeded" || job.status === "failed";
  const outcome =
    job.status === "succeeded"
      ? job.version
        ? `${job.version} ${job.promoted ? "promoted" : "not promoted"}${job.reason ? `: ${job.reason}` : ""}`
        : job.reason || "nothing to do"
      : job.reason;
  $("#job").replaceChildren(
    h(
      "div",
      { class: `job ${job.status}`, "data-testid": "job", "data-status": job.status },
      note ? h("p", {}, note) : null,
      h("p", {}, `Job ${job.job_id}: `, h("strong", { class: "job-status" }, job.status), finished ? "" : " …"),
      outcome ? h("p", { class: "job-outcome" }, outcome) : null,
    ),
  );
}

function followJob(model, jobId, headers) {
  const poll = async () => {
    try {
      const job = await api.job(model, jobId, headers);
      renderJob(job);
      if (job.status === "succeeded" || job.status === "failed") {
        if (state.model === model) {
          await renderVersions();
          await refreshChampion();
        }
        return;
      }
    } catch (error) {
      showError("Following the retrain job", error);
      return;
    }
    state.jobTimer = setTimeout(poll, 1000);
  };
  state.jobTimer = setTimeout(poll, 500);
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
