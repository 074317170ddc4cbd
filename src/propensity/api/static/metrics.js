// The Metrics tab: the champion's evaluation as tables and SVG charts, and its metrics by version.
import { api } from "./api.js";
import { barChart, confusionMatrix, lineChart } from "./charts.js";
import { $, h, number, percent, state } from "./dom.js";

const HEADLINE = ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "brier"];
const TREND = ["roc_auc", "pr_auc", "f1"];

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

export async function renderMetrics() {
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
