// What every tab shares: the page state, DOM helpers, number formats, the error banner (an API
// error is always shown, never a blank page) and the admin credential. A module of its own so
// the tab modules need not import app.js, which starts the page.
import { ApiError } from "./api.js";

export const $ = (selector) => document.querySelector(selector);
export const state = { models: [], model: "", detail: null, tab: "predict", jobTimer: null };

export function h(tag, attributes = {}, ...children) {
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

export function percent(value) {
  return `${(100 * value).toFixed(1)}%`;
}

export function number(value, digits = 3) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
}

export function showError(context, error) {
  const message = error instanceof ApiError ? error.message : error?.message || String(error);
  const status = error instanceof ApiError && error.status ? ` (HTTP ${error.status})` : "";
  $("#error-text").textContent = `${context}: ${message}${status}`;
  $("#error-banner").hidden = false;
}

export function clearError() {
  $("#error-banner").hidden = true;
  $("#error-text").textContent = "";
}

export async function guarded(context, action) {
  clearError();
  try {
    return await action();
  } catch (error) {
    showError(context, error);
    return undefined;
  }
}

export function credentialHeaders() {
  const headers = {};
  const token = $("#admin-token").value.trim();
  const jwt = $("#admin-jwt").value.trim();
  if (token) headers["X-Admin-Token"] = token;
  if (jwt) headers.Authorization = `Bearer ${jwt}`;
  return headers;
}
