// The Switchyard dashboard: signs in with a gateway key (its tenant) or the admin key (the
// tenant named in the form), reads /v1/usage (totals, and the gates' pass rates) and
// /v1/stats from this same origin, and draws its charts with chart.js (this dashboard's own
// small SVG charting library: no third-party code, no third-party request). Errors are shown
// in the page. `document.body.dataset.state` is "ready" once a load rendered, "error" after
// a failed one (the end-to-end test waits on it).
"use strict";

const KEY = "switchyard.key";
const TENANT = "switchyard.tenant";
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const REFRESH_MS = 30_000;
const COLORS = { req: "#2e6fdb", err: "#d92d20", p50: "#12b76a", p95: "#f79009", cost: "#7a5af8" };

const $ = (id) => document.getElementById(id);
let timer = null;

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
  if (message) document.body.dataset.state = "error";
}

window.addEventListener("error", (e) => showError("The page failed: " + e.message));
window.addEventListener("unhandledrejection", (e) => showError("The page failed: " + (e.reason?.message ?? e.reason)));

// GET a gateway path with the signed-in key; the gateway's error message on failure.
async function get(path) {
  const tenant = sessionStorage.getItem(TENANT);
  const url = tenant ? `${path}${path.includes("?") ? "&" : "?"}tenant=${encodeURIComponent(tenant)}` : path;
  const r = await fetch(url, { headers: { authorization: "Bearer " + sessionStorage.getItem(KEY) }, cache: "no-store" });
  let body = null;
  try {
    body = await r.json();
  } catch {
    // Not JSON: reported below from the status.
  }
  if (!r.ok) {
    const e = body?.error;
    throw new Error(`${path}: ${r.status} ${e?.code ?? ""} ${e?.message ?? r.statusText}`.replace(/\s+/g, " "));
  }
  return body;
}

// An element (`svg:` names one in the SVG namespace) with attributes and text.
const el = SwitchyardChart.el;

const usd = (nano) => (nano / 1e9).toFixed(nano > 0 && nano < 1e7 ? 6 : 4);

// The slots of a window (oldest first) and each slot's values from sparse rows
// ([start_ms, ...]); a slot without a row is zero (no request) or null (no latency).
function slots(rows, stepMs, count, nowMs) {
  const last = Math.floor(nowMs / stepMs) * stepMs;
  const byStart = new Map(rows.map((r) => [r[0], r]));
  return Array.from({ length: count }, (_, i) => {
    const start = last - (count - 1 - i) * stepMs;
    return { start, row: byStart.get(start) };
  });
}

function charts(target, rows, stepMs, count, nowMs) {
  const data = slots(rows, stepMs, count, nowMs);
  const col = (i, empty) => data.map((d) => (d.row ? d.row[i] : empty));
  const int = (v) => String(Math.round(v));
  const chart = SwitchyardChart.chart;
  $(target).replaceChildren(
    chart("Requests and errors", [["req", "requests"], ["err", "errors"]], data,
      [{ kind: "bar", color: COLORS.req, values: col(1, 0) }, { kind: "bar", color: COLORS.err, values: col(2, 0) }], int),
    chart("Latency (ms)", [["p50", "p50"], ["p95", "p95"]], data,
      [{ kind: "line", color: COLORS.p50, values: col(6, null) }, { kind: "line", color: COLORS.p95, values: col(7, null) }], int),
    chart("Cost (USD)", [["cost", "cost"]], data, [{ kind: "bar", color: COLORS.cost, values: col(5, 0) }], (v) => usd(v)),
  );
}

// Rows `[start_ms, name, requests, errors, cache_hits, saved, cost]` summed per name, the
// costliest first.
function costTable(target, rows) {
  const sums = new Map();
  for (const [, name, req, err, , , cost] of rows) {
    const s = sums.get(name) ?? { req: 0, err: 0, cost: 0 };
    sums.set(name, { req: s.req + req, err: s.err + err, cost: s.cost + cost });
  }
  const table = $(target);
  table.replaceChildren(head(["Name", "Requests", "Errors", "Cost (USD)"]));
  for (const [name, s] of [...sums].sort((a, b) => b[1].cost - a[1].cost || b[1].req - a[1].req)) {
    table.append(row([name, s.req, s.err, usd(s.cost)]));
  }
  if (!sums.size) table.append(row(["no requests yet", "", "", ""]));
}

function head(cells) {
  const tr = el("tr");
  cells.forEach((c, i) => tr.append(el("th", i ? { class: "n" } : {}, c)));
  return tr;
}

function row(cells) {
  const tr = el("tr");
  cells.forEach((c, i) => tr.append(el("td", i ? { class: "n" } : {}, String(c))));
  return tr;
}

// The cascades' and capabilities' gate records (`/v1/usage?group_by=capability`, this month):
// per route and rung, checked answers, passes, pass rate and cost.
function gateTable(data) {
  const table = $("gates");
  table.replaceChildren(head(["Capability or route", "Rung", "Checked", "Passed", "Pass rate", "Cost (USD)"]));
  for (const g of data) {
    table.append(row([g.capability, g.model, g.calls, g.passes, (g.pass_rate * 100).toFixed(0) + "%", g.cost_usd]));
  }
  if (!data.length) table.append(row(["no checked answers yet", "", "", "", "", ""]));
}

function breakers(list) {
  const table = $("breakers");
  table.replaceChildren(head(["Target", "State", "Failure rate", "Recent calls", "p50 (ms)", "Last error"]));
  for (const b of list) {
    const tr = row([b.target, "", (b.failure_rate * 100).toFixed(0) + "%", b.recent_calls, b.latency_p50_ms ?? "–", b.last_error ?? ""]);
    // `state_from`: "shared" when the target's object holds the state shown, else "isolate".
    tr.children[1].textContent = b.state_from === "shared" ? `${b.state} (shared)` : b.state;
    tr.children[1].className = "state-" + b.state;
    table.append(tr);
  }
}

function totals(usage, stats) {
  const t = usage.total;
  const set = (id, v) => ($(id).textContent = String(v));
  set("total-requests", t.calls);
  set("total-errors", t.errors);
  set("total-input-tokens", t.input_tokens);
  set("total-output-tokens", t.output_tokens);
  set("total-tokens", t.input_tokens + t.output_tokens);
  set("total-cost", t.cost_usd);
  set("total-cache-hits", t.cache_hits);
  set("total-saved", t.saved_usd);
  set("queue-depth", stats.queue_depth);
  set("period", `${usage.from} to ${usage.to}, tenant ${usage.tenant}`);
}

async function load() {
  clearTimeout(timer);
  try {
    const [usage, stats, gates] = await Promise.all([get("/v1/usage"), get("/v1/stats"), get("/v1/usage?group_by=capability")]);
    totals(usage, stats);
    charts("charts-minutes", stats.minutes, MINUTE_MS, 60, stats.now_ms);
    charts("charts-hours", stats.hours, HOUR_MS, 48, stats.now_ms);
    costTable("by-model", stats.hours_by_model);
    costTable("by-key", stats.hours_by_key);
    gateTable(gates.data);
    breakers(stats.breakers);
    $("updated").textContent = "Updated " + new Date(stats.now_ms).toISOString() + "; refreshes every 30 s.";
    showError("");
    $("board").hidden = false;
    document.body.dataset.state = "ready";
  } catch (e) {
    showError(e.message);
    // A key the gateway refuses: ask for another (the message stays).
    if (/: 401 /.test(e.message)) {
      sessionStorage.removeItem(KEY);
      signedIn(false);
      return;
    }
  }
  timer = setTimeout(load, REFRESH_MS);
}

function signedIn(yes) {
  $("signin").hidden = yes;
  $("refresh").hidden = !yes;
  $("signout").hidden = !yes;
  $("board").hidden = true;
  const tenant = sessionStorage.getItem(TENANT);
  $("who").textContent = yes ? (tenant ? `admin key, tenant ${tenant}` : "gateway key") : "";
  if (yes) load();
}

$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY, $("key").value.trim());
  const tenant = $("tenant").value.trim();
  if (tenant) sessionStorage.setItem(TENANT, tenant);
  else sessionStorage.removeItem(TENANT);
  $("key").value = "";
  signedIn(true);
});

$("signout").addEventListener("click", () => {
  clearTimeout(timer);
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(TENANT);
  showError("");
  delete document.body.dataset.state;
  signedIn(false);
});

$("refresh").addEventListener("click", load);

signedIn(Boolean(sessionStorage.getItem(KEY)));
