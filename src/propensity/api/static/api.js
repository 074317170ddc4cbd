// The dashboard's only way to reach the service: same-origin JSON calls under the API base.
// Every failure becomes an ApiError whose message a person can read (field + reason for 422s).

const BASE = document.documentElement.dataset.apiBase || "";

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

// FastAPI/pydantic 422s carry [{loc, msg}], our domain errors {field, reason} or {detail},
// CSV problems {problems: [{row, column, reason}]}: turn each into one readable sentence.
export function describeError(status, body) {
  if (body && typeof body === "object") {
    if (Array.isArray(body.problems) && body.problems.length) {
      const shown = body.problems.slice(0, 5).map((p) => {
        const where = [p.row != null ? `row ${p.row}` : "", p.column ? `column ${p.column}` : ""]
          .filter(Boolean)
          .join(", ");
        return where ? `${where}: ${p.reason}` : p.reason;
      });
      const more = body.problems.length > 5 ? ` (+${body.problems.length - 5} more)` : "";
      return shown.join("; ") + more;
    }
    if (body.field && body.reason) return `${body.field}: ${body.reason}`;
    if (Array.isArray(body.detail)) {
      return body.detail
        .map((d) => {
          const loc = (d.loc || []).filter((part) => part !== "body" && part !== "query");
          return loc.length ? `${loc.join(".")}: ${d.msg}` : d.msg;
        })
        .join("; ");
    }
    if (typeof body.detail === "string") {
      return body.request_id ? `${body.detail} (request ${body.request_id})` : body.detail;
    }
  }
  if (status === 0) return "the service could not be reached";
  return `the service answered ${status}`;
}

export async function call(method, path, { json, form, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form; // the browser sets the multipart boundary
  }
  let response;
  try {
    response = await fetch(`${BASE}${path}`, init);
  } catch (error) {
    throw new ApiError(0, `the service could not be reached (${error.message})`, null);
  }
  const text = await response.text();
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { detail: text.slice(0, 300) };
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, describeError(response.status, body), body);
  }
  return body;
}

export const api = {
  models: () => call("GET", "/models"),
  model: (model) => call("GET", `/models/${encodeURIComponent(model)}`),
  // Says it is the dashboard, so the drift window (API and batch traffic) leaves these rows out.
  predict: (model, features) =>
    call("POST", `/models/${encodeURIComponent(model)}/predict`, {
      json: { features },
      headers: { "X-Propensity-Source": "dashboard" },
    }),
  chat: (model, message) =>
    call("POST", `/models/${encodeURIComponent(model)}/chat`, { json: { message } }),
  // Feedback teaches the next model, so it carries the page's credential (a feedback-scoped
  // token is enough) and says it came from the dashboard.
  feedback: (model, predictionId, y, headers) =>
    call("POST", `/models/${encodeURIComponent(model)}/feedback`, {
      json: { prediction_id: predictionId, y },
      headers: { ...headers, "X-Propensity-Source": "dashboard" },
    }),
  history: (model) => call("GET", `/models/${encodeURIComponent(model)}/metrics?limit=100`),
  evaluation: (model, version) =>
    call(
      "GET",
      `/models/${encodeURIComponent(model)}/evaluation` +
        (version ? `?version=${encodeURIComponent(version)}` : ""),
    ),
  drift: (model) => call("GET", `/models/${encodeURIComponent(model)}/drift`),
  retrain: (model, headers, file) => {
    const options = { headers };
    if (file) {
      const form = new FormData();
      form.append("labeled_csv", file, file.name);
      options.form = form;
    }
    return call("POST", `/models/${encodeURIComponent(model)}/retrain`, options);
  },
  job: (model, jobId, headers) =>
    call("GET", `/models/${encodeURIComponent(model)}/jobs/${encodeURIComponent(jobId)}`, {
      headers,
    }),
  promote: (model, version, headers, reason) =>
    call(
      "POST",
      `/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}/promote`,
      { headers, json: { reason } },
    ),
  challenger: (model, headers) =>
    call("GET", `/models/${encodeURIComponent(model)}/challenger`, { headers }),
  rollback: (model, headers, reason) =>
    call("POST", `/models/${encodeURIComponent(model)}/rollback`, { headers, json: { reason } }),
};
