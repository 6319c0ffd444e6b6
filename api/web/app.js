// Tâm tư dashboard. Plain JavaScript, no libraries: everything it needs is served by the app.
"use strict";

const API = "/api/v1";
const ROLES = ["viewer", "analyst", "officer", "admin"];
const SOURCE_NAMES = {
  petition: "Đơn kiến nghị", complaint: "Đơn khiếu nại", denunciation: "Đơn tố cáo",
  feedback: "Phản ánh", minutes: "Biên bản tiếp xúc", social: "Mạng xã hội",
};
const SEVERITY_NAMES = { high: "Cao", medium: "Trung bình", low: "Thấp" };
const SEVERITY_ORDER = { high: 0, medium: 1, low: 2 };
const HOTSPOT_KINDS = { spike: "Tăng đột biến", first_religion: "Lần đầu có vụ việc tôn giáo" };
const EMERGING_KINDS = { cluster: "Nhiều đơn giống nhau", term_burst: "Cụm từ xuất hiện dồn dập" };
const PERIOD_NAMES = { day: "ngày", week: "tuần", month: "tháng" };
// Okabe–Ito colours stay distinguishable for colour-blind readers; dashes help in print.
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8a6d00", "#56B4E9", "#E69F00",
  "#555555"];
const DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "solid", "dot", "longdashdot"];
const PAGE_SIZE = 20;

const state = {
  me: null,
  taxonomy: null,
  topicNames: {},
  signalNames: {},
  latestMonth: null,
  petitionFilters: {},
  petitionOffset: 0,
  trendRows: [],
};

// ------------------------------------------------------------------ helpers
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const numberFormat = new Intl.NumberFormat("vi-VN");
const fmt = (n) => numberFormat.format(n);
const decimalFormat = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 2 });

function fmtDate(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.slice(0, 10).split("-");
  return `${d}/${m}/${y}`;
}

function periodLabel(iso, period) {
  const [y, m, d] = iso.slice(0, 10).split("-");
  if (period === "month") return `${m}/${y}`;
  return `${d}/${m}`;
}

function topicName(code) { return state.topicNames[code] || code; }
function sourceName(code) { return SOURCE_NAMES[code] || code; }

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function shiftDays(iso, days) {
  const date = new Date(`${iso}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return isoDay(date);
}

function shiftMonths(iso, months) {
  const date = new Date(`${iso.slice(0, 7)}-01T00:00:00Z`);
  date.setUTCMonth(date.getUTCMonth() + months);
  return isoDay(date);
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && String(value).trim() !== "") {
      search.set(key, String(value).trim());
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

function formValues(form) {
  const values = {};
  for (const [key, value] of new FormData(form).entries()) values[key] = value;
  return values;
}

function atLeast(role) {
  return state.me && ROLES.indexOf(state.me.role) >= ROLES.indexOf(role);
}

function say(message, bad = false) {
  const box = $("status");
  box.textContent = message;
  box.classList.toggle("bad", bad);
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
  init.headers = { ...init.headers, ...(options.headers || {}) };
  if (options.body !== undefined && typeof options.body !== "string"
      && !(options.body instanceof FormData)) {
    init.body = JSON.stringify(options.body);
    init.headers["Content-Type"] = "application/json";
  }
  const method = (init.method || "GET").toUpperCase();
  if (method !== "GET" && state.me && state.me.csrf_token) {
    init.headers["X-CSRF-Token"] = state.me.csrf_token;
  }
  const response = await fetch(API + path, init);
  if (response.status === 401 && !path.startsWith("/auth/")) {
    showLogin("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại.");
    throw new ApiError(401, "Cần đăng nhập");
  }
  if (!response.ok) {
    let message = `Lỗi ${response.status}`;
    try {
      const body = await response.json();
      if (body && body.error) message = body.error;
    } catch (_ignored) { /* not JSON: keep the status line */ }
    throw new ApiError(response.status, message);
  }
  if (response.status === 204) return null;
  return response.json();
}

function busy(node, on) {
  node.setAttribute("aria-busy", on ? "true" : "false");
}

function failInto(node, error) {
  node.replaceChildren(el("p", { class: "error", text: `Không tải được: ${error.message}` }));
  busy(node, false);
}

// ------------------------------------------------------------------ sign in / out
function showLogin(message) {
  state.me = null;
  $("dashboard").hidden = true;
  $("who").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("login-token").focus();
}

async function signIn(event) {
  event.preventDefault();
  const token = $("login-token").value.trim();
  if (!token) {
    $("login-error").textContent = "Hãy nhập mã truy cập.";
    return;
  }
  const button = event.submitter || $("login-form").querySelector("button");
  button.disabled = true;
  try {
    state.me = await api("/auth/session", { method: "POST", body: { token } });
    $("login-token").value = "";
    startDashboard();
    $("main").focus();
  } catch (error) {
    $("login-error").textContent = error.status === 401
      ? "Mã truy cập không đúng, đã bị thu hồi hoặc tài khoản bị khóa."
      : error.message;
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  try {
    await api("/auth/logout", { method: "POST" });
  } catch (_ignored) { /* the session may already be gone */ }
  showLogin("Đã đăng xuất.");
}

// ------------------------------------------------------------------ the URL holds the view
// ?date=YYYY-MM-DD&t.period=week&p.q=…#trends : date, filters of each panel, and the section.
const URL_FORMS = { t: "trend-form", h: "heat-form", p: "petition-form" };

function readUrl() {
  const params = new URLSearchParams(window.location.search);
  const day = params.get("date");
  state.asOf = /^\d{4}-\d{2}-\d{2}$/.test(day || "") ? day : null;
  $("as-of-input").value = state.asOf || "";
  state.urlForms = {};
  for (const [prefix] of Object.entries(URL_FORMS)) {
    state.urlForms[prefix] = {};
    for (const [key, value] of params.entries()) {
      if (key.startsWith(`${prefix}.`)) state.urlForms[prefix][key.slice(prefix.length + 1)] = value;
    }
  }
  state.petitionFilters = { ...state.urlForms.p };
  state.petitionOffset = 0;
}

function restoreForms() {
  // Selects are filled by the taxonomy first, so their saved values exist by now.
  for (const [prefix, id] of Object.entries(URL_FORMS)) {
    const form = $(id);
    for (const [key, value] of Object.entries((state.urlForms || {})[prefix] || {})) {
      if (form.elements[key] && form.elements[key].type !== "file") form.elements[key].value = value;
    }
  }
}

function writeUrl() {
  const params = new URLSearchParams();
  if (state.asOf) params.set("date", state.asOf);
  for (const [prefix, id] of Object.entries(URL_FORMS)) {
    const values = prefix === "p" ? state.petitionFilters : formValues($(id));
    for (const [key, value] of Object.entries(values || {})) {
      const text = String(value || "").trim();
      const input = $(id).elements[key];
      const isDefault = input && input.tagName === "SELECT" && input.options.length
        && [...input.options].find((o) => o.defaultSelected)?.value === text;
      if (text && !isDefault && key !== "ids") params.set(`${prefix}.${key}`, text);
    }
  }
  const search = params.toString();
  window.history.replaceState(null, "", `${window.location.pathname}${search ? `?${search}` : ""}`
    + window.location.hash);
}

function scrollToView() {
  const id = window.location.hash.slice(1);
  const target = id && document.getElementById(id);
  if (target && !target.hidden) target.scrollIntoView();
}

// ------------------------------------------------------------------ start
async function boot() {
  $("login-form").addEventListener("submit", signIn);
  $("logout").addEventListener("click", signOut);
  $("trend-form").addEventListener("submit", (e) => { e.preventDefault(); loadChart(); });
  $("trend-period").addEventListener("change", () => {
    $("trend-from").value = "";
    $("trend-to").value = "";
    loadChart();
  });
  $("trend-topic").addEventListener("change", loadChart);
  $("trend-source").addEventListener("change", loadChart);
  $("heat-form").addEventListener("submit", (e) => { e.preventDefault(); loadHeatmap(); });
  $("chart-table-toggle").addEventListener("click", toggleChartTable);
  $("petition-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.petitionFilters = formValues(e.target);
    state.petitionOffset = 0;
    writeUrl();
    loadPetitions();
  });
  $("petition-form").addEventListener("reset", () => {
    state.petitionFilters = {};
    state.petitionOffset = 0;
    setTimeout(() => { writeUrl(); loadPetitions(); }, 0);
  });
  $("pet-sort").addEventListener("change", () => $("petition-form").requestSubmit());
  $("pet-prev").addEventListener("click", () => {
    state.petitionOffset = Math.max(0, state.petitionOffset - PAGE_SIZE);
    loadPetitions();
  });
  $("pet-next").addEventListener("click", () => {
    state.petitionOffset += PAGE_SIZE;
    loadPetitions();
  });
  $("report-form").addEventListener("submit", downloadReport);
  $("rule-form").addEventListener("submit", addRule);
  $("rule-cancel").addEventListener("click", stopEditingRule);
  $("user-form").addEventListener("submit", saveUser);
  $("import-form").addEventListener("submit", uploadFiles);
  $("as-of-input").addEventListener("change", () => setAsOf($("as-of-input").value));
  $("as-of-latest").addEventListener("click", () => setAsOf(null));
  readUrl();
  $("import-start").addEventListener("submit", startImport);
  bindCases();
  try {
    state.me = await api("/auth/me");
  } catch (error) {
    showLogin(error.status === 401 ? "" : `Không kết nối được máy chủ: ${error.message}`);
    return;
  }
  startDashboard();
}

function startDashboard() {
  const me = state.me;
  $("login").hidden = true;
  $("who").hidden = false;
  $("who-name").textContent = me.user;
  $("who-role").textContent = me.role_name || me.role;
  $("who-areas").textContent = me.areas && me.areas.length
    ? `Địa bàn: ${me.areas.join("; ")}` : "";
  for (const node of document.querySelectorAll("[data-min-role]")) {
    node.hidden = !atLeast(node.dataset.minRole);
  }
  $("dashboard").hidden = false;
  say("");
  const taxonomy = loadTaxonomy();
  // Panels load side by side; the slow ones never hold up the others.
  taxonomy.then(() => {
    restoreForms();
    refreshViews().then(scrollToView);
    if (atLeast("analyst")) loadPetitions();
    if (atLeast("officer")) loadQueue();
    openFromUrl();
    if (atLeast("admin")) { loadRules(); loadAdmin(); }
  }).catch((error) => say(`Không tải được danh mục lĩnh vực: ${error.message}`, true));
  setDefaultReportMonth();
}

async function loadTaxonomy() {
  if (state.taxonomy) return state.taxonomy;
  const taxonomy = await api("/taxonomy");
  state.taxonomy = taxonomy;
  const topics = [...taxonomy.topics, ...(taxonomy.other ? [taxonomy.other] : [])];
  state.topics = topics;
  for (const topic of topics) state.topicNames[topic.code] = topic.name;
  for (const signal of taxonomy.signals) state.signalNames[signal.code] = signal.name;
  for (const select of document.querySelectorAll(".topic-select")) {
    select.replaceChildren(select.options[0],
      ...topics.map((t) => el("option", { value: t.code, text: t.name })));
  }
  for (const select of document.querySelectorAll(".source-select")) {
    select.replaceChildren(select.options[0],
      ...Object.entries(SOURCE_NAMES).map(([code, name]) => el("option", { value: code, text: name })));
  }
  const signalSelect = $("pet-signal");
  signalSelect.replaceChildren(signalSelect.options[0],
    ...taxonomy.signals.map((s) => el("option", { value: s.code, text: s.name })));
  $("rule-topics").replaceChildren(...topics.map((t) => el("label", {},
    el("input", { type: "checkbox", name: "topics", value: t.code }), t.name)));
  return taxonomy;
}

// ------------------------------------------------------------------ hot spots and alerts
function petitionLink(area, topic, start, end, ids) {
  // The petition list matches areas by substring: the village part alone finds the petitions
  // whose stored address adds a landmark between village and commune.
  const place = String(area || "").split(",")[0].trim();
  const filters = { area: place, topic, from: start, to: end, ids: (ids || []).join(",") };
  if (!atLeast("analyst")) return null;
  return el("a", {
    href: `#petitions`,
    class: "petition-link",
    onclick: (event) => {
      event.preventDefault();
      openPetitions(filters);
    },
  }, "Xem các đơn liên quan");
}

function openPetitions(filters) {
  const form = $("petition-form");
  form.reset();
  for (const [key, value] of Object.entries(filters)) {
    if (form.elements[key]) form.elements[key].value = value || "";
  }
  // The exact petitions behind a hot spot: its ids, kept until the form is used again.
  state.petitionFilters = { ...formValues(form), ids: filters.ids || "" };
  state.petitionOffset = 0;
  loadPetitions().then(() => {
    $("petitions").scrollIntoView();
    $("petitions-title").setAttribute("tabindex", "-1");
    $("petitions-title").focus();
  });
}

function severityBadge(severity) {
  return el("span", { class: `badge sev-${severity}` }, `Mức ${SEVERITY_NAMES[severity] || severity}`);
}

function hotspotItem(spot) {
  const title = `${topicName(spot.topic)} — ${spot.area}`;
  const signals = Object.entries(spot.signals || {}).filter(([, n]) => n > 0)
    .map(([code, n]) => `${state.signalNames[code] || code}: ${fmt(n)}`).join("; ");
  return el("li", { class: `item hotspot sev-${spot.severity}` },
    el("h4", {}, severityBadge(spot.severity), " ", title),
    el("p", { class: "explanation" }, spot.explanation),
    el("p", { class: "meta" },
      `${HOTSPOT_KINDS[spot.kind] || spot.kind} · ${fmt(spot.count)} đơn từ ${fmtDate(spot.window_start)} `
      + `đến ${fmtDate(spot.window_end)} · mức bình thường ${decimalFormat.format(spot.expected)}`
      + (signals ? ` · ${signals}` : "")),
    el("div", { class: "links" }, petitionLink(spot.area, spot.topic, spot.window_start, spot.window_end,
      spot.petition_ids)));
}

function alertItem(alert) {
  const ack = atLeast("officer") && alert.status === "open"
    ? el("button", {
      type: "button", class: "small ack",
      "aria-label": `Đã nắm cảnh báo ${topicName(alert.topic)} tại ${alert.area}`,
      onclick: (event) => acknowledge(alert, event.currentTarget),
    }, "Đã nắm")
    : null;
  return el("li", { class: `item alert sev-${alert.severity}`, "data-alert-id": alert.id },
    el("h4", {}, severityBadge(alert.severity), " ", `${topicName(alert.topic)} — ${alert.area}`),
    el("p", { class: "explanation" }, alert.explanation),
    el("p", { class: "meta" }, `${fmt(alert.count)} đơn từ ${fmtDate(alert.window_start)} đến `
      + `${fmtDate(alert.window_end)} · mở lúc ${fmtDate(alert.opened_at)}`
      + ` · ${ALERT_STATUS_NAMES[alert.status] || alert.status}`),
    el("div", { class: "links" },
      petitionLink(alert.area, alert.topic, alert.window_start, alert.window_end,
        alert.petition_ids), ack,
      el("button", { type: "button", class: "small secondary",
        "aria-label": `Xử lý, lịch sử cảnh báo ${topicName(alert.topic)} tại ${alert.area}`,
        onclick: () => openAlert(alert.id) }, "Xử lý, lịch sử")));
}

async function acknowledge(alert, button) {
  button.disabled = true;
  try {
    await api(`/alerts/${alert.id}/ack`, { method: "POST", body: {} });
    say(`Đã ghi nhận: ${state.me.user} đã nắm cảnh báo ${topicName(alert.topic)} tại ${alert.area}.`);
    loadAlerts();
  } catch (error) {
    button.disabled = false;
    say(`Không ghi nhận được: ${error.message}`, true);
  }
}

function bySeverity(a, b) {
  return (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9)
    || (a.score ?? 1) - (b.score ?? 1) || b.count - a.count;
}

function fillList(list, items, render, empty) {
  list.replaceChildren(...(items.length ? items.map(render) : [el("li", { class: "muted", text: empty })]));
  busy(list, false);
}

// One date drives every view: hot spots, alerts, trends, heat table and emerging issues are
// all shown as they stood on the chosen day (detection is a pure function of data and date).
function effectiveDate() {
  return state.asOf || state.dataDate || null;
}

function setAsOf(value) {
  state.asOf = value || null;
  $("as-of-input").value = state.asOf || "";
  writeUrl();
  refreshViews();
}

function refreshViews() {
  // Hot spots first: their answer says which day "latest" is, which the others need.
  return loadToday().then(() => {
    loadEmerging();
    loadCaseSummary();
    // Overdue is judged on the chosen day, so that list follows the date too.
    if (atLeast("analyst") && state.petitionFilters.overdue) loadPetitions();
    return loadChart().then(loadHeatmap);
  });
}

function showDates() {
  const day = effectiveDate();
  const text = day ? fmtDate(day) : "";
  $("date-heading").textContent = state.asOf
    ? `Tình hình tại ngày ${text} (xem lại một ngày đã qua)`
    : `Tình hình mới nhất: dữ liệu đến ngày ${text}`;
  $("as-of").textContent = day ? `tại ngày ${text}` : "";
  for (const node of document.querySelectorAll(".view-date")) {
    node.textContent = day ? `— đến ngày ${text}` : "";
  }
}

async function loadToday() {
  const list = $("hotspot-list");
  busy(list, true);
  try {
    const result = await api(`/hotspots${query({ as_of: state.asOf })}`);
    if (!state.asOf) state.dataDate = result.as_of;
    showDates();
    fillList(list, [...result.data].sort(bySeverity), hotspotItem, "Không có điểm nóng nào.");
  } catch (error) {
    failInto(list, error);
  }
  loadAlerts();
}

const ALERT_STATUS_NAMES = {
  open: "đang mở", acknowledged: "đã nắm", resolved: "đã giải quyết", closed: "đợt đã kết thúc",
};

async function loadAlerts() {
  const list = $("alert-list");
  const hint = $("alert-hint");
  busy(list, true);
  hint.hidden = true;
  const replay = Boolean(state.asOf);
  $("alert-heading").textContent = replay ? "Cảnh báo tại ngày này" : "Cảnh báo đang mở";
  try {
    const result = await api(replay ? `/alerts${query({ as_of: state.asOf, limit: 200 })}`
      : "/alerts?status=open");
    fillList(list, [...result.data].sort(bySeverity), alertItem,
      replay ? "Không có cảnh báo nào tại ngày này." : "Không có cảnh báo đang mở.");
    if (!result.data.length) await pointToLatestAlert(hint);
  } catch (error) {
    failInto(list, error);
  }
}

async function pointToLatestAlert(hint) {
  // Say where to look: the most recent alert of the data, one click away.
  const latest = (await api("/alerts?limit=1")).data[0];
  if (!latest) return;
  const day = latest.window_end;
  hint.replaceChildren(`Cảnh báo gần nhất: ${topicName(latest.topic)} — ${latest.area}, `
    + `số liệu đến ngày ${fmtDate(day)}. `,
  el("button", { type: "button", class: "small secondary", onclick: () => setAsOf(day) },
    `Xem ngày ${fmtDate(day)}`));
  hint.hidden = false;
}

async function loadEmerging() {
  const list = $("emerging-list");
  busy(list, true);
  try {
    const result = await api(`/emerging${query({ as_of: state.asOf })}`);
    fillList(list, [...result.data].sort(bySeverity), (issue) => el("li", { class: `item sev-${issue.severity}` },
      el("h4", {}, severityBadge(issue.severity), " ", issue.label, " — ", issue.area),
      el("p", { class: "explanation" }, issue.explanation),
      el("p", { class: "meta" }, `${EMERGING_KINDS[issue.kind] || issue.kind} · ${fmt(issue.count)} đơn`
        + ` từ ${fmt(issue.senders)} người gửi · ${fmtDate(issue.window_start)}–${fmtDate(issue.window_end)}`
        + (issue.terms && issue.terms.length ? ` · cụm từ: ${issue.terms.join(", ")}` : ""))),
    "Chưa thấy vấn đề mới nổi.");
  } catch (error) {
    failInto(list, error);
  }
}

// ------------------------------------------------------------------ trends chart
function defaultFrom(period) {
  const day = effectiveDate();
  if (!day || period === "month") return "";
  return period === "week" ? shiftMonths(day, -6) : shiftMonths(day, -1);
}

// The period that holds `day` is partial unless `day` is its last day.
function periodStart(day, period) {
  if (period === "month") return `${day.slice(0, 7)}-01`;
  if (period === "week") {
    const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
    return shiftDays(day, -weekday);
  }
  return day;
}

function periodEnd(start, period) {
  if (period === "month") return shiftDays(shiftMonths(start, 1), -1);
  return period === "week" ? shiftDays(start, 6) : start;
}

async function loadChart() {
  const box = $("chart");
  busy(box, true);
  const values = formValues($("trend-form"));
  writeUrl();
  const params = { ...values, level: "all" };
  if (!params.from) params.from = defaultFrom(values.period);
  if (!params.to) params.to = effectiveDate() || "";
  $("trend-xlsx").href = `${API}/trends${query({ ...params, format: "xlsx" })}`;
  try {
    const result = await api(`/trends${query({ ...params, limit: 50000 })}`);
    const rows = result.data;
    if (values.period === "month" && !values.area && !values.from && !values.to && rows.length) {
      state.latestMonth = rows.reduce((a, r) => (r.period_start > a ? r.period_start : a), "");
      $("report-month").value = state.latestMonth.slice(0, 7);  // the data's last month, not the clock's
    }
    drawChart(rows, values.period, params);
  } catch (error) {
    failInto(box, error);
  }
}

function drawChart(rows, period, params) {
  // Rows come per (period, topic, source type): sum over source types.
  const periods = [...new Set(rows.map((r) => r.period_start))].sort();
  const totals = new Map();
  for (const row of rows) {
    const key = `${row.topic}|${row.period_start}`;
    totals.set(key, (totals.get(key) || 0) + row.count);
  }
  const order = (state.topics || []).map((t) => t.code);
  const topics = [...new Set(rows.map((r) => r.topic))]
    .sort((a, b) => (order.indexOf(a) + 99) % 99 - (order.indexOf(b) + 99) % 99);
  const series = topics.map((topic) => ({
    topic,
    colour: COLOURS[Math.max(0, order.indexOf(topic)) % COLOURS.length],
    dash: DASHES[Math.max(0, order.indexOf(topic)) % DASHES.length],
    values: periods.map((p) => totals.get(`${topic}|${p}`) || 0),
  }));
  // A period cut by the date range is partial: its count is not a drop.
  const partial = new Set(periods.filter((p) => (params.to && periodEnd(p, period) > params.to)
    || (params.from && p < params.from)));
  state.chart = { periods, series, period, partial };
  const box = $("chart");
  if (!periods.length) {
    box.replaceChildren(el("p", { class: "muted", text: "Không có đơn nào khớp bộ lọc." }));
    renderChartTable();
    busy(box, false);
    return;
  }
  const filterText = [
    params.topic ? topicName(params.topic) : "mọi lĩnh vực",
    params.area ? `địa bàn ${params.area}` : "mọi địa bàn",
    params.source_type ? sourceName(params.source_type) : "mọi nguồn",
  ].join(", ");
  const busiest = series.map((s) => ({ s, total: s.values.reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.total - a.total)[0];
  const description = `Số đơn theo ${PERIOD_NAMES[period]} từ ${fmtDate(periods[0])} đến `
    + `${fmtDate(periods[periods.length - 1])} (${filterText}). Nhiều nhất: `
    + `${topicName(busiest.s.topic)} với ${fmt(busiest.total)} đơn.`;
  const note = partial.size
    ? `* Kỳ chưa trọn (${[...partial].map((p) => periodLabel(p, period)).join(", ")}, vùng tô xám, `
      + `chấm rỗng): số đơn chỉ tính đến ${fmtDate(params.to)}`
      + `${params.from ? ` hoặc từ ${fmtDate(params.from)}` : ""}, không phải mức giảm.`
    : "";
  const plot = el("div", { class: "plot", role: "img", "aria-label": description });
  box.replaceChildren(plot, el("p", { class: "muted small", text: description }),
    note ? el("p", { class: "small partial-note", text: note }) : "");
  if (!window.Plotly) {
    plot.replaceChildren(el("p", { class: "bad", text: "Không tải được thư viện vẽ biểu đồ; "
      + "xem số liệu ở dạng bảng bên dưới." }));
  } else {
    plotTrends(plot, periods, series, period, partial);
  }
  renderChartTable();
  busy(box, false);
}

function plotTrends(plot, periods, series, period, partial) {
  const phone = window.matchMedia("(max-width: 720px)").matches;
  const labels = periods.map((p) => periodLabel(p, period) + (partial.has(p) ? "*" : ""));
  const traces = series.map((s) => ({
    type: "scatter", mode: "lines+markers", name: topicName(s.topic), x: labels, y: s.values,
    line: { color: s.colour, dash: s.dash, width: 2.5 },
    marker: { color: s.colour, size: 7, symbol: periods.map((p) => (partial.has(p) ? "circle-open" : "circle")) },
    hovertemplate: `${topicName(s.topic)}: %{y:,} đơn<extra></extra>`,
  }));
  // Partial periods are shaded and labelled on the chart itself.
  const shapes = [];
  const annotations = [];
  periods.forEach((p, i) => {
    if (!partial.has(p)) return;
    shapes.push({ type: "rect", xref: "x", yref: "paper", x0: i - 0.5, x1: i + 0.5, y0: 0, y1: 1,
      fillcolor: "rgba(90,100,115,0.12)", line: { width: 0 }, layer: "below" });
    annotations.push({ xref: "x", yref: "paper", x: i, y: 1, yanchor: "bottom", showarrow: false,
      text: "chưa trọn", font: { size: 12, color: "#5a6473" } });
  });
  const layout = {
    height: phone ? 420 : 380,
    margin: { l: 44, r: 12, t: 28, b: 8 },
    font: { family: "system-ui, sans-serif", size: phone ? 12 : 13, color: "#333" },
    separators: ",.",
    hovermode: "x unified",
    xaxis: { type: "category", automargin: true, tickangle: phone ? -45 : 0, fixedrange: true },
    yaxis: { title: { text: "Số đơn" }, rangemode: "tozero", tickformat: ",d", automargin: true,
      fixedrange: true },
    legend: { orientation: "h", x: 0, y: -0.18, yanchor: "top", font: { size: phone ? 12 : 13 } },
    shapes, annotations,
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
  };
  const config = { responsive: true, displayModeBar: false, scrollZoom: false };
  window.Plotly.react(plot, traces, layout, config);
}

function renderChartTable() {
  const chart = state.chart;
  const wrap = $("chart-table");
  if (!chart || !chart.periods.length) {
    wrap.replaceChildren(el("p", { class: "muted", text: "Không có số liệu." }));
    return;
  }
  const head = el("tr", {}, el("th", { scope: "col" }, `Kỳ (${PERIOD_NAMES[chart.period]})`),
    chart.series.map((s) => el("th", { scope: "col", class: "num" }, topicName(s.topic))));
  const body = chart.periods.map((p, i) => el("tr", {},
    el("th", { scope: "row" }, chart.period === "month" ? periodLabel(p, "month") : fmtDate(p)),
    chart.series.map((s) => el("td", { class: "num" }, fmt(s.values[i])))));
  wrap.replaceChildren(el("table", {},
    el("caption", { class: "muted" }, "Số đơn theo kỳ và lĩnh vực (số liệu của biểu đồ)"),
    el("thead", {}, head), el("tbody", {}, body)));
}

function toggleChartTable() {
  const button = $("chart-table-toggle");
  const open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", String(open));
  button.textContent = open ? "Ẩn bảng số liệu" : "Xem dạng bảng số liệu";
  $("chart-table").hidden = !open;
}

// ------------------------------------------------------------------ heat map
async function loadHeatmap() {
  const wrap = $("heat-table");
  const { level, period } = formValues($("heat-form"));
  writeUrl();
  const day = effectiveDate();
  if (!day) {
    wrap.replaceChildren(el("p", { class: "muted", text: "Chưa có số liệu." }));
    busy(wrap, false);
    return;
  }
  busy(wrap, true);
  // Only the latest period and the one before it are needed.
  const from = period === "month" ? shiftMonths(day, -1) : shiftDays(periodStart(day, "week"), -7);
  $("heat-xlsx").href = `${API}/trends${query({ period, level, from, to: day, format: "xlsx", layout: "heat" })}`;
  try {
    const [result, limits] = await Promise.all([
      api(`/trends${query({ period, level, from, to: day, limit: 50000 })}`),
      heatLimits(level, day),
    ]);
    drawHeatmap(result.data, period, level, day, limits);
  } catch (error) {
    failInto(wrap, error);
  }
}

// The smallest spike each village or commune × topic can show from its counts alone.
async function heatLimits(level, day) {
  if (level !== "village" && level !== "commune") return new Map();
  try {
    const result = await api(`/hotspots/limits${query({ as_of: day, level })}`);
    return new Map(result.data.map((r) => [`${r.area}|${r.topic}`, r]));
  } catch (error) {
    return new Map();  // the counts still show; only the limits are missing
  }
}

function changeText(current, previous) {
  const diff = current - previous;
  if (!previous) return current ? "mới" : "—";
  const pct = Math.round((diff / previous) * 100);
  return `${diff > 0 ? "+" : diff < 0 ? "−" : "±"}${fmt(Math.abs(diff))} (${pct > 0 ? "+" : ""}${fmt(pct)}%)`;
}

function drawHeatmap(rows, period, level, day, limits = new Map()) {
  const wrap = $("heat-table");
  const latest = rows.reduce((a, r) => (r.period_start > a ? r.period_start : a), "");
  const current = rows.filter((r) => r.period_start === latest);
  if (!current.length) {
    wrap.replaceChildren(el("p", { class: "muted", text: "Chưa có số liệu." }));
    busy(wrap, false);
    return;
  }
  const cells = new Map();
  const areaTotals = new Map();
  for (const row of current) {
    const key = `${row.area}|${row.topic}`;
    const cell = cells.get(key) || { count: 0, previous: 0 };
    cell.count += row.count;
    cell.previous += row.previous_count || 0;
    cells.set(key, cell);
    areaTotals.set(row.area, (areaTotals.get(row.area) || 0) + row.count);
  }
  const order = (state.topics || []).map((t) => t.code);
  const topics = order.filter((code) => current.some((r) => r.topic === code));
  const areas = [...areaTotals.keys()].sort((a, b) => areaTotals.get(b) - areaTotals.get(a)
    || a.localeCompare(b, "vi"));
  // Area names feed the filters' suggestions.
  const names = new Set();
  for (const area of areas) for (const part of area.split(",")) names.add(part.trim());
  $("area-options").replaceChildren(...[...names].filter((n) => n && n !== "chưa xác định")
    .sort((a, b) => a.localeCompare(b, "vi")).map((n) => el("option", { value: n })));
  const biggest = Math.max(1, ...[...cells.values()].map((c) => Math.abs(c.count - c.previous)));
  const cut = periodEnd(latest, period) > day ? ` (đến ngày ${fmtDate(day)}, chưa trọn ${PERIOD_NAMES[period]})` : "";
  const label = (period === "month" ? `tháng ${periodLabel(latest, "month")}` : `tuần từ ${fmtDate(latest)}`) + cut;
  $("heat-caption").textContent = `Kỳ: ${label}, so với ${PERIOD_NAMES[period]} trước; `
    + `${fmt(areas.length)} ${level === "village" ? "thôn" : "xã"}.`
    + (limits.size ? " «từ +N»: chỉ dựa vào số đơn, nơi đó nhận ra được đợt tăng từ N đơn/tuần"
      + ` trở lên (tính đến ngày ${fmtDate(day)}).` : "");
  const head = el("tr", {}, el("th", { scope: "col" }, "Địa bàn"),
    topics.map((t) => el("th", { scope: "col", class: "num" }, topicName(t))),
    el("th", { scope: "col", class: "num" }, "Tổng"));
  const body = areas.map((area) => el("tr", {}, el("th", { scope: "row" }, area),
    topics.map((topic) => {
      const cell = cells.get(`${area}|${topic}`) || { count: 0, previous: 0 };
      const diff = cell.count - cell.previous;
      const strength = Math.min(1, Math.abs(diff) / biggest);
      const colour = diff > 0 ? `rgba(200,30,30,${(0.1 + 0.55 * strength).toFixed(2)})`
        : diff < 0 ? `rgba(30,100,200,${(0.08 + 0.4 * strength).toFixed(2)})` : "transparent";
      const limit = limits.get(`${area}|${topic}`);
      const limitText = limit ? `; mức bình thường ${decimalFormat.format(limit.expected)} đơn/tuần, `
        + `từ ${fmt(limit.threshold)} đơn/tuần là điểm nóng (đợt tăng từ ${fmt(limit.min_spike)} đơn)` : "";
      return el("td", {
        class: "cell", style: `background:${colour}`,
        title: `${area} · ${topicName(topic)}: ${fmt(cell.count)} đơn, kỳ trước ${fmt(cell.previous)}${limitText}`,
      }, fmt(cell.count), el("span", { class: "change" }, changeText(cell.count, cell.previous)),
      limit ? el("span", { class: "limit" }, `từ +${fmt(limit.min_spike)}`) : null);
    }),
    el("td", { class: "num" }, fmt(areaTotals.get(area)))));
  wrap.replaceChildren(el("table", { class: "heat" },
    el("caption", { class: "muted" }, `Số đơn theo địa bàn và lĩnh vực, ${label}`),
    el("thead", {}, head), el("tbody", {}, body)));
  busy(wrap, false);
}

// ------------------------------------------------------------------ petitions
function petitionParams() {
  const params = { ...state.petitionFilters };
  // "Overdue" is judged on the day the page shows, like every other view.
  if (params.overdue) params.as_of = effectiveDate();
  return params;
}

async function loadPetitions() {
  if (!atLeast("analyst")) return;
  const wrap = $("pet-table");
  busy(wrap, true);
  const filters = petitionParams();
  $("pet-csv").href = `${API}/petitions${query({ ...filters, format: "csv" })}`;
  $("pet-xlsx").href = `${API}/petitions${query({ ...filters, format: "xlsx" })}`;
  try {
    const result = await api(`/petitions${query({ ...filters, limit: PAGE_SIZE, offset: state.petitionOffset })}`);
    const first = result.count ? result.offset + 1 : 0;
    const last = result.offset + result.data.length;
    $("pet-summary").textContent = `Hiển thị ${fmt(first)}–${fmt(last)} trên tổng ${fmt(result.count)} đơn.`;
    $("pet-page").textContent = `Trang ${fmt(Math.floor(result.offset / PAGE_SIZE) + 1)}`
      + ` / ${fmt(Math.max(1, Math.ceil(result.count / PAGE_SIZE)))}`;
    $("pet-prev").disabled = result.offset === 0;
    $("pet-next").disabled = last >= result.count;
    const showSender = atLeast("officer");
    const head = el("tr", {}, ["Số", "Ngày nhận", "Địa bàn", "Loại", "Lĩnh vực", "Dấu hiệu",
      "Xử lý"].map((h) => el("th", { scope: "col" }, h)),
    showSender ? el("th", { scope: "col" }, "Người gửi") : null,
    el("th", { scope: "col" }, "Nội dung"));
    const body = result.data.map((p) => el("tr", {},
      el("td", { class: "num" }, el("button", {
        type: "button", class: "link", "aria-label": `Xem đơn số ${p.id}`,
        onclick: () => openPetition(p.id),
      }, `${p.id} ›`)),
      el("td", {}, fmtDate(p.received_at)),
      el("td", {}, p.area),
      el("td", {}, sourceName(p.source_type)),
      el("td", {}, p.topics.map(topicName).join("; ")),
      el("td", {}, p.signals.map((s) => state.signalNames[s] || s).join("; ")),
      el("td", {}, caseCell(p)),
      showSender ? el("td", {}, [p.sender_name, p.sender_contact].filter(Boolean).join(" · ")) : null,
      el("td", { class: "text" }, petitionText(p.text, filters.q))));
    wrap.replaceChildren(result.data.length
      ? cardTable(head, body)
      : el("p", { class: "muted", text: "Không có đơn nào khớp bộ lọc." }));
  } catch (error) {
    failInto(wrap, error);
  }
  busy(wrap, false);
}

// A search word typed without diacritics matches any accented spelling (as the server does).
function foldChar(c) {
  const plain = c.toLowerCase().replace("đ", "d").normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  return plain.length === 1 ? plain : c.toLowerCase();
}

function firstMatch(text, q) {
  // Character by character, so that an index in either string is an index in the text.
  const lower = text.split("").map((c) => (c.toLowerCase().length === 1 ? c.toLowerCase() : c)).join("");
  const plain = text.split("").map(foldChar).join("");
  let best = null;
  for (const word of String(q || "").split(/\s+/).filter(Boolean)) {
    const folded = word.split("").map(foldChar).join("");
    const typedPlain = folded === word.toLowerCase();
    const at = (typedPlain ? plain : lower).indexOf(typedPlain ? folded : word.toLowerCase());
    if (at >= 0 && (!best || at < best.at)) best = { at, length: word.length };
  }
  return best;
}

const EXCERPT = 180;

function petitionText(text, q) {
  const chars = text.split("");
  if (chars.length <= EXCERPT && !q) return text;
  const match = firstMatch(text, q);
  const start = match ? Math.max(0, match.at - 60) : 0;
  const end = Math.min(chars.length, start + EXCERPT);
  const parts = [start > 0 ? "…" : ""];
  if (match && match.at < end) {
    parts.push(chars.slice(start, match.at).join(""),
      el("mark", {}, chars.slice(match.at, match.at + match.length).join("")),
      chars.slice(match.at + match.length, end).join(""));
  } else {
    parts.push(chars.slice(start, end).join(""));
  }
  if (end < chars.length) parts.push("…");
  const excerpt = el("span", { class: "excerpt" }, parts);
  if (start === 0 && end === chars.length) return excerpt;
  return el("span", {}, excerpt,
    el("details", { class: "full-text" }, el("summary", {}, "Xem toàn văn"), el("p", {}, text)));
}

// On a phone each row becomes a card; the column name goes before every value.
function cardTable(head, rows) {
  const names = [...head.children].map((th) => th.textContent);
  for (const row of rows) {
    [...row.children].forEach((td, i) => { if (names[i]) td.dataset.label = names[i]; });
  }
  return el("table", { class: "cards" }, el("thead", {}, head), el("tbody", {}, rows));
}

// ------------------------------------------------------------------ monthly report
function setDefaultReportMonth() {
  const input = $("report-month");
  if (input.value) return;
  const now = new Date();
  now.setUTCDate(1);
  now.setUTCMonth(now.getUTCMonth() - 1);
  input.value = isoDay(now).slice(0, 7);
}

// Reads the report's progress lines ({step, done, total}, then {filename, docx} or {error}).
async function readReportLines(response, onLine) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffered += decoder.decode(value || new Uint8Array(), { stream: !done });
    const lines = buffered.split("\n");
    buffered = lines.pop();
    for (const line of lines) if (line.trim()) onLine(JSON.parse(line));
    if (done) break;
  }
  if (buffered.trim()) onLine(JSON.parse(buffered));
}

async function downloadReport(event) {
  event.preventDefault();
  const { month, area } = formValues(event.target);
  const status = $("report-status");
  if (!/^\d{4}-\d{2}$/.test(month || "")) {
    status.textContent = "Hãy chọn tháng (dạng NNNN-TT, ví dụ 2025-06).";
    return;
  }
  const button = event.submitter || event.target.querySelector("button");
  const box = $("report-progress-box");
  const bar = $("report-progress");
  button.disabled = true;
  status.textContent = "";
  $("report-step").textContent = "Đang lập báo cáo…";
  bar.removeAttribute("value");  // indeterminate until the first step is heard
  box.hidden = false;
  try {
    const response = await fetch(`${API}/reports/monthly/progress${query({ month, area })}`,
      { credentials: "same-origin" });
    if (!response.ok) {
      let message = `Lỗi ${response.status}`;
      try { message = (await response.json()).error || message; } catch (_ignored) { /* keep */ }
      throw new Error(message);
    }
    let result = null;
    await readReportLines(response, (line) => {
      if (line.step) {
        $("report-step").textContent = line.total > 1
          ? `${line.step} (${line.done}/${line.total})` : line.step;
        bar.max = Math.max(line.total, 1);
        bar.value = line.done;
      } else {
        result = line;
      }
    });
    if (!result || result.error) throw new Error((result && result.error) || "máy chủ ngừng giữa chừng");
    const bytes = Uint8Array.from(atob(result.docx), (c) => c.charCodeAt(0));
    const blob = new Blob([bytes], {
      type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document" });
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: result.filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    status.textContent = `Đã tải báo cáo tháng ${month.slice(5)}/${month.slice(0, 4)}.`;
  } catch (error) {
    status.textContent = `Không lập được báo cáo: ${error.message}`;
  } finally {
    box.hidden = true;
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ alert rules (admin)
function ruleBody(rule, changes = {}) {
  return {
    name: rule.name, topics: rule.topics, areas: rule.areas, min_severity: rule.min_severity,
    channels: rule.channels, quiet_hours: rule.quiet_hours, enabled: rule.enabled, ...changes,
  };
}

async function loadRules() {
  if (!atLeast("admin")) return;
  const wrap = $("rules-table");
  busy(wrap, true);
  try {
    const rules = await api("/alert-rules");
    const head = el("tr", {}, ["Tên", "Lĩnh vực", "Địa bàn", "Mức thấp nhất", "Người nhận", "Giờ yên lặng",
      "Trạng thái", "Thao tác"]
      .map((h) => el("th", { scope: "col" }, h)));
    const body = rules.map((rule) => el("tr", { "data-rule-id": rule.id },
      el("td", {}, rule.name),
      el("td", {}, rule.topics.length ? rule.topics.map(topicName).join("; ") : "Mọi lĩnh vực"),
      el("td", {}, rule.areas.length ? rule.areas.join("; ") : "Mọi địa bàn"),
      el("td", {}, SEVERITY_NAMES[rule.min_severity] || rule.min_severity),
      el("td", { class: "channels" }, rule.channels.length ? rule.channels.map(channelText).join("; ") : "Chưa có"),
      el("td", {}, rule.quiet_hours || "Không"),
      el("td", {}, rule.enabled ? "Đang dùng" : "Tạm tắt"),
      el("td", { class: "row-actions" },
        el("button", {
          type: "button", class: "small secondary", "aria-label": `Sửa quy tắc ${rule.name}`,
          onclick: () => editRule(rule),
        }, "Sửa"), " ",
        el("button", {
          type: "button", class: "small secondary",
          onclick: () => updateRule(rule, { enabled: !rule.enabled }),
        }, rule.enabled ? "Tắt" : "Bật"), " ",
        el("button", {
          type: "button", class: "small secondary",
          "aria-label": `Xóa quy tắc ${rule.name}`,
          onclick: () => deleteRule(rule),
        }, "Xóa"))));
    wrap.replaceChildren(rules.length
      ? cardTable(head, body)
      : el("p", { class: "muted", text: "Chưa có quy tắc nào." }));
  } catch (error) {
    failInto(wrap, error);
  }
  busy(wrap, false);
}

async function updateRule(rule, changes) {
  try {
    await api(`/alert-rules/${rule.id}`, { method: "PUT", body: ruleBody(rule, changes) });
    $("rule-status").textContent = `Đã cập nhật quy tắc “${rule.name}”.`;
    loadRules();
  } catch (error) {
    $("rule-status").textContent = `Không cập nhật được: ${error.message}`;
  }
}

async function deleteRule(rule) {
  if (!window.confirm(`Xóa quy tắc “${rule.name}”?`)) return;
  try {
    await api(`/alert-rules/${rule.id}`, { method: "DELETE" });
    $("rule-status").textContent = `Đã xóa quy tắc “${rule.name}”.`;
    loadRules();
  } catch (error) {
    $("rule-status").textContent = `Không xóa được: ${error.message}`;
  }
}

function channelText(channel) {
  if (channel.type === "email") return `E-mail: ${(channel.to || []).join(", ")}`;
  if (channel.type === "webhook") return `Webhook: ${channel.url}`;
  return channel.type;
}

function editRule(rule) {
  const form = $("rule-form");
  form.reset();
  form.elements.id.value = rule.id;
  form.elements.name.value = rule.name;
  for (const box of form.querySelectorAll("input[name=topics]")) box.checked = rule.topics.includes(box.value);
  form.elements.areas.value = rule.areas.join("; ");
  form.elements.min_severity.value = rule.min_severity;
  const emails = rule.channels.filter((c) => c.type === "email").flatMap((c) => c.to || []);
  form.elements.emails.value = emails.join(", ");
  const hook = rule.channels.find((c) => c.type === "webhook");
  form.elements.webhook.value = hook ? hook.url : "";
  form.elements.secret.placeholder = hook ? "để trống: giữ khóa cũ" : "";
  const [from, to] = (rule.quiet_hours || "-").split("-");
  form.elements.quiet_from.value = from || "";
  form.elements.quiet_to.value = to || "";
  state.editingRule = rule;
  $("rule-form-title").textContent = `Sửa quy tắc “${rule.name}”`;
  $("rule-submit").textContent = "Lưu quy tắc";
  $("rule-cancel").hidden = false;
  form.elements.name.focus();
}

function stopEditingRule() {
  const form = $("rule-form");
  form.reset();
  form.elements.id.value = "";
  form.elements.secret.placeholder = "";
  state.editingRule = null;
  $("rule-form-title").textContent = "Thêm quy tắc";
  $("rule-submit").textContent = "Thêm quy tắc";
  $("rule-cancel").hidden = true;
}

function ruleChannels(form) {
  const channels = [];
  const emails = form.elements.emails.value.split(/[,;\s]+/).map((a) => a.trim()).filter(Boolean);
  if (emails.length) channels.push({ type: "email", to: emails });
  const url = form.elements.webhook.value.trim();
  if (url) {
    const secret = form.elements.secret.value;
    const kept = state.editingRule && state.editingRule.channels.some((c) => c.type === "webhook" && c.url === url);
    channels.push({ type: "webhook", url, secret: secret || (kept ? "***" : "") });
  }
  return channels;
}

async function addRule(event) {
  event.preventDefault();
  const form = event.target;
  const name = form.elements.name.value.trim();
  if (!name) {
    $("rule-status").textContent = "Hãy đặt tên cho quy tắc.";
    form.elements.name.focus();
    return;
  }
  const topics = [...form.querySelectorAll("input[name=topics]:checked")].map((i) => i.value);
  const areas = form.elements.areas.value.split(";").map((a) => a.trim()).filter(Boolean);
  const from = form.elements.quiet_from.value;
  const to = form.elements.quiet_to.value;
  if (Boolean(from) !== Boolean(to)) {
    $("rule-status").textContent = "Giờ yên lặng cần cả giờ bắt đầu và giờ kết thúc.";
    return;
  }
  const editing = state.editingRule;
  const body = {
    name, topics, areas, min_severity: form.elements.min_severity.value,
    channels: ruleChannels(form), quiet_hours: from ? `${from}-${to}` : null,
    enabled: editing ? editing.enabled : true,
  };
  try {
    await api(editing ? `/alert-rules/${editing.id}` : "/alert-rules",
      { method: editing ? "PUT" : "POST", body });
    $("rule-status").textContent = editing ? `Đã lưu quy tắc “${name}”.` : `Đã thêm quy tắc “${name}”.`;
    stopEditingRule();
    loadRules();
  } catch (error) {
    $("rule-status").textContent = `Không lưu được: ${error.message}`;
  }
}

// ------------------------------------------------------------------ users and tokens (admin)
function fmtTime(iso) {
  return iso ? `${fmtDate(iso)} ${iso.slice(11, 16)}` : "";
}

async function loadAdmin() {
  if (!atLeast("admin")) return;
  try {
    const [users, tokens, places] = await Promise.all([
      api("/admin/users"), api("/admin/tokens"),
      state.places ? Promise.resolve(state.places) : api("/admin/places")]);
    state.places = places;
    renderPlaces(places);
    renderUsers(users);
    renderTokens(tokens);
  } catch (error) {
    $("admin-status").textContent = `Không tải được: ${error.message}`;
  }
}

function renderPlaces(places) {
  const select = $("user-areas");
  if (select.options.length) return;
  const collator = (a, b) => a.localeCompare(b, "vi");
  select.replaceChildren(
    el("optgroup", { label: "Xã, phường" }, [...places.communes].sort(collator).map((p) => el("option", { value: p, text: p }))),
    el("optgroup", { label: "Thôn, tổ dân phố" }, [...places.villages].sort(collator).map((p) => el("option", { value: p, text: p }))));
}

function renderUsers(users) {
  const head = el("tr", {}, ["Tên", "Vai trò", "Địa bàn", "Trạng thái", "Mã đang dùng", "Thao tác"]
    .map((h) => el("th", { scope: "col" }, h)));
  const body = users.map((user) => el("tr", { "data-user": user.name },
    el("td", {}, user.name),
    el("td", {}, user.role_name),
    el("td", {}, user.areas.length ? user.areas.join("; ") : "Mọi địa bàn"),
    el("td", {}, user.disabled ? "Đã khóa" : "Đang dùng"),
    el("td", { class: "num" }, fmt(user.tokens)),
    el("td", { class: "row-actions" },
      el("button", { type: "button", class: "small", "aria-label": `Cấp mã truy cập cho ${user.name}`,
        disabled: user.disabled, onclick: () => issueToken(user) }, "Cấp mã"), " ",
      el("button", { type: "button", class: "small secondary", "aria-label": `Sửa người dùng ${user.name}`,
        onclick: () => editUser(user) }, "Sửa"), " ",
      user.name === state.me.user ? null : el("button", {
        type: "button", class: "small secondary",
        onclick: () => changeUser(user.name, { disabled: !user.disabled },
          user.disabled ? `Đã mở khóa ${user.name}.` : `Đã khóa ${user.name}.`).catch(() => {}),
      }, user.disabled ? "Mở khóa" : "Khóa"))));
  $("users-table").replaceChildren(cardTable(head, body));
}

function renderTokens(tokens) {
  const head = el("tr", {}, ["Số", "Người dùng", "Bắt đầu bằng", "Địa bàn", "Cấp lúc", "Trạng thái", ""]
    .map((h) => el("th", { scope: "col" }, h)));
  const body = tokens.map((token) => el("tr", { "data-token": token.id },
    el("td", { class: "num" }, token.id), el("td", {}, token.user), el("td", {}, `${token.prefix}…`),
    el("td", {}, token.areas ? token.areas.join("; ") : "Như người dùng"),
    el("td", {}, fmtTime(token.created_at)),
    el("td", {}, token.revoked_at ? `Đã thu hồi ${fmtTime(token.revoked_at)}` : "Đang dùng"),
    el("td", {}, token.revoked_at ? null : el("button", {
      type: "button", class: "small secondary", "aria-label": `Thu hồi mã số ${token.id}`,
      onclick: () => revokeToken(token),
    }, "Thu hồi"))));
  $("tokens-table").replaceChildren(tokens.length
    ? cardTable(head, body)
    : el("p", { class: "muted", text: "Chưa có mã truy cập nào." }));
}

function editUser(user) {
  const form = $("user-form");
  form.elements.name.value = user.name;
  form.elements.name.readOnly = true;
  form.elements.role.value = user.role;
  for (const option of $("user-areas").options) option.selected = user.areas.includes(option.value);
  form.querySelector("button[type=submit]").textContent = "Lưu người dùng";
  state.editingUser = user.name;
  form.elements.role.focus();
}

async function saveUser(event) {
  event.preventDefault();
  const form = event.target;
  const name = form.elements.name.value.trim();
  const role = form.elements.role.value;
  const areas = [...$("user-areas").selectedOptions].map((o) => o.value);
  if (!name) {
    $("admin-status").textContent = "Hãy nhập tên đăng nhập.";
    return;
  }
  const editing = state.editingUser;
  try {
    if (editing) await changeUser(editing, { role, areas }, `Đã lưu người dùng ${editing}.`);
    else {
      await api("/admin/users", { method: "POST", body: { name, role, areas } });
      $("admin-status").textContent = `Đã thêm ${name}. Bấm “Cấp mã” để có mã đăng nhập cho người này.`;
    }
    state.editingUser = null;
    form.reset();
    form.elements.name.readOnly = false;
    form.querySelector("button[type=submit]").textContent = "Thêm người dùng";
    loadAdmin();
  } catch (error) {
    $("admin-status").textContent = `Không lưu được: ${error.message}`;
  }
}

async function changeUser(name, changes, done) {
  try {
    await api(`/admin/users/${encodeURIComponent(name)}`, { method: "PUT", body: changes });
    $("admin-status").textContent = done;
    loadAdmin();
  } catch (error) {
    $("admin-status").textContent = `Không lưu được: ${error.message}`;
    throw error;
  }
}

async function issueToken(user) {
  try {
    const token = await api(`/admin/users/${encodeURIComponent(user.name)}/tokens`, { method: "POST", body: {} });
    const box = $("new-token");
    box.replaceChildren(
      el("p", {}, el("strong", {}, `Mã truy cập mới của ${user.name}`),
        " — chỉ hiện một lần này; hãy chép và trao tận tay người dùng:"),
      el("code", { id: "new-token-value" }, token.token));
    box.hidden = false;
    loadAdmin();
  } catch (error) {
    $("admin-status").textContent = `Không cấp được mã: ${error.message}`;
  }
}

async function revokeToken(token) {
  if (!window.confirm(`Thu hồi mã số ${token.id} của ${token.user}? Người dùng sẽ bị đăng xuất.`)) return;
  try {
    await api(`/admin/tokens/${token.id}`, { method: "DELETE" });
    $("admin-status").textContent = `Đã thu hồi mã số ${token.id}.`;
    loadAdmin();
  } catch (error) {
    $("admin-status").textContent = `Không thu hồi được: ${error.message}`;
  }
}

// ------------------------------------------------------------------ import (officer)
const FIELD_ORDER = ["text", "received_at", "area", "source_type", "external_id", "sender_name",
  "sender_contact", "channel", "ignore"];

async function uploadFiles(event) {
  event.preventDefault();
  const input = $("import-files");
  const result = $("import-result");
  if (!input.files.length) {
    result.textContent = "Hãy chọn ít nhất một tệp.";
    return;
  }
  const data = new FormData();
  for (const file of input.files) data.append("files", file, file.name);
  const button = event.submitter || event.target.querySelector("button");
  button.disabled = true;
  result.textContent = "Đang tải tệp lên…";
  $("import-progress-box").hidden = true;
  try {
    state.importJob = await api("/imports", { method: "POST", body: data });
    result.textContent = "";
    renderImportPreview(state.importJob);
  } catch (error) {
    result.textContent = `Không tải lên được: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

function fieldSelect(job, file, index) {
  const detected = file.fields[index] || "";
  const codes = FIELD_ORDER.includes(detected) ? FIELD_ORDER : [detected, ...FIELD_ORDER];
  const column = file.columns[index];
  return el("select", {
    class: "field-select", "data-file": file.name, "data-column": column,
    "data-detected": detected, "aria-label": `Cột “${column}” của ${file.name} là`,
  }, codes.map((code) => el("option", { value: code, selected: code === detected },
    job.field_names[code] || code)));
}

function renderImportPreview(job) {
  const box = $("import-preview");
  box.replaceChildren(...job.files.map((file) => {
    const parts = [el("h3", {}, file.name, " ",
      el("span", { class: "muted small" }, file.total_rows !== null && file.total_rows !== undefined
        ? `${fmt(file.total_rows)} dòng` : "văn bản"))];
    if (file.problem) parts.push(el("p", { class: "error" }, file.problem));
    if (file.kind === "table" && file.columns.length) {
      parts.push(el("div", { class: "table-wrap" }, el("table", { class: "preview" },
        el("thead", {},
          el("tr", {}, file.columns.map((c) => el("th", { scope: "col" }, c))),
          el("tr", { class: "mapping" }, file.columns.map((_, i) => el("td", {}, fieldSelect(job, file, i))))),
        el("tbody", {}, file.rows.map((row) => el("tr", {},
          file.columns.map((_, i) => el("td", { class: "text" }, (row[i] || "").slice(0, 200)))))))));
    } else {
      parts.push(el("ol", { class: "items" }, file.rows.map((row) => el("li", { class: "muted" }, row[0]))));
    }
    return el("div", { class: "import-file" }, parts);
  }));
  $("import-start").hidden = false;
  $("import-start").querySelector("button").disabled = false;
}

async function startImport(event) {
  event.preventDefault();
  const job = state.importJob;
  if (!job) return;
  const mappings = {};
  for (const select of document.querySelectorAll("#import-preview .field-select")) {
    if (select.value === select.dataset.detected) continue;
    mappings[select.dataset.file] = mappings[select.dataset.file] || {};
    mappings[select.dataset.file][select.dataset.column] = select.value;
  }
  const sourceType = $("import-source").value || null;
  const button = event.submitter || event.target.querySelector("button");
  button.disabled = true;
  try {
    const started = await api(`/imports/${job.id}/start`,
      { method: "POST", body: { mappings, source_type: sourceType } });
    showImportProgress(started);
    pollImport(job.id);
  } catch (error) {
    button.disabled = false;
    $("import-result").textContent = `Không bắt đầu được: ${error.message}`;
  }
}

function showImportProgress(job) {
  $("import-progress-box").hidden = false;
  $("import-phase").textContent = job.phase_name;
  const bar = $("import-progress");
  if (job.total) {
    bar.max = job.total;
    bar.value = job.phase === "done" ? job.total : job.processed;
    $("import-count").textContent = `${fmt(job.phase === "done" ? job.total : job.processed)}`
      + ` / ${fmt(job.total)} bản ghi`;
  } else {
    bar.removeAttribute("value");
    $("import-count").textContent = "";
  }
}

async function pollImport(id) {
  let job;
  try {
    job = await api(`/imports/${id}`);
  } catch (error) {
    $("import-result").textContent = `Mất kết nối với lượt nhập: ${error.message}`;
    return;
  }
  showImportProgress(job);
  if (job.phase === "done") showImportReport(job);
  else if (job.phase === "failed") $("import-result").textContent = job.error;
  else setTimeout(() => pollImport(id), 500);
}

function showImportReport(job) {
  const r = job.report;
  $("import-start").hidden = true;
  const rows = [
    ["Đã đọc", r.read],
    ["Lưu mới", r.stored],
    ["  trong đó trùng gần đúng với đơn đã có", r.near_duplicates],
    ["Trùng lặp (đã gắn với bản đầu)", r.duplicates],
    ["Cách ly (không lưu, kèm lý do)", r.quarantined],
  ];
  const table = el("table", { class: "accounting" },
    el("caption", {}, "Kết quả nhập"),
    el("tbody", {}, rows.map(([name, value]) => el("tr", {},
      el("th", { scope: "row" }, name), el("td", { class: "num" }, fmt(value))))));
  const check = el("p", { class: "small" }, `Đã đọc ${fmt(r.read)} = lưu mới ${fmt(r.stored)}`
    + ` + trùng lặp ${fmt(r.duplicates)} + cách ly ${fmt(r.quarantined)}.`);
  const download = r.has_quarantine
    ? el("a", { class: "button secondary", id: "import-quarantine",
      href: `${API}/imports/${job.id}/quarantine.csv`, download: `cach-ly-${job.id.slice(0, 8)}.csv` },
    "Tải tệp cách ly (CSV)")
    : el("p", { class: "muted" }, "Không có dòng nào bị cách ly.");
  $("import-result").replaceChildren(table, check, download,
    job.alerts ? el("p", { class: "muted small" }, job.alerts) : "");
  // The new petitions change every view.
  loadToday();
  loadEmerging();
  loadChart().then(loadHeatmap);
  loadPetitions();
}

document.addEventListener("DOMContentLoaded", boot);
