// The Models & retraining tab: versions with the gate's evidence, the challenger on trial,
// promote and roll back, and a retrain job followed until it ends.
import { api } from "./api.js";
import { $, credentialHeaders, guarded, h, number, showError, state } from "./dom.js";

export async function renderVersions() {
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

export async function refreshChampion() {
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

export async function onRollback() {
  const model = state.model;
  await guarded("Rolling back", async () => {
    const alias = await api.rollback(model, credentialHeaders(), "rolled back from the dashboard");
    $("#job").replaceChildren(h("p", { class: "ok" }, `${model} rolled back to ${alias.version}`));
    await renderVersions();
    await refreshChampion();
  });
}

export async function onRetrain(event) {
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
