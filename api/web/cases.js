// Tâm tư dashboard: review queue, a petition's page, follow-up of cases, alerts as cases.
// Loaded after app.js, whose helpers (api, el, $, state, fmt…) it uses.
"use strict";

const CASE_STATUS_NAMES = {
  received: "Tiếp nhận", in_progress: "Đang xử lý", answered: "Đã trả lời", resolved: "Đã giải quyết",
};
const EVENT_NAMES = {
  review: "xác nhận nhãn đúng", correct: "sửa nhãn", status: "cập nhật xử lý", note: "ghi chú",
  ack: "đã nắm", assign: "giao việc", resolve: "đã giải quyết", reopen: "mở lại",
};
const FIELD_NAMES = {
  topics: "lĩnh vực", signals: "dấu hiệu", area: "địa bàn", case_status: "trạng thái",
  owner: "người phụ trách", due_on: "hạn xử lý", answered_on: "ngày trả lời", assignee: "người được giao",
  status: "trạng thái",
};
const QUEUE_PAGE = 10;

function bindCases() {
  $("review-more").addEventListener("click", () => loadQueue(true));
  $("bulk-form").addEventListener("submit", bulkUpdate);
}

function openFromUrl() {
  const params = new URLSearchParams(window.location.search);
  const alertId = Number(params.get("alert"));
  const petitionId = Number(params.get("petition"));
  if (alertId > 0) openAlert(alertId);
  else if (petitionId > 0 && atLeast("analyst")) openPetition(petitionId);
}

function pct(x) {
  return x === null || x === undefined ? "—" : `${Math.round(x * 100)}%`;
}

function caseCell(p) {
  const parts = [CASE_STATUS_NAMES[p.case_status] || p.case_status];
  if (p.owner) parts.push(p.owner);
  const cell = [parts.join(" · ")];
  if (p.overdue) cell.push(" ", el("span", { class: "badge sev-high" }, "Quá hạn"));
  else if (p.due_on && (p.case_status === "received" || p.case_status === "in_progress")) {
    cell.push(el("span", { class: "muted small" }, ` hạn ${fmtDate(p.due_on)}`));
  }
  if (p.reviewed_at) cell.push(" ", el("span", { class: "badge checked" }, "Đã kiểm tra"));
  return cell;
}

function historyList(events, statusNames = CASE_STATUS_NAMES) {
  if (!events.length) return el("p", { class: "muted" }, "Chưa có thay đổi nào.");
  return el("ol", { class: "history" }, events.map((e) => {
    const changes = Object.entries(e.changes || {}).map(([field, [before, after]]) => {
      const show = (v) => (Array.isArray(v) ? v.map(topicNameOrSignal).join(", ")
        : (statusNames[v] || v || "trống"));
      return `${FIELD_NAMES[field] || field}: ${show(before)} → ${show(after)}`;
    });
    return el("li", {}, el("strong", {}, `${fmtTime(e.at)} — ${e.user_name}`), `: ${EVENT_NAMES[e.action] || e.action}`,
      changes.length ? ` (${changes.join("; ")})` : "", e.note ? el("div", { class: "note" }, `Ghi chú: ${e.note}`) : null);
  }));
}

function topicNameOrSignal(code) {
  return state.topicNames[code] || state.signalNames[code] || code;
}

// ------------------------------------------------------------------ summary and agreement
async function loadCaseSummary() {
  const box = $("case-summary");
  busy(box, true);
  try {
    const day = effectiveDate();
    const s = await api(`/cases/summary${query({ as_of: day })}`);
    const cells = [
      ["Tổng số đơn", s.total], ["Tiếp nhận", s.received], ["Đang xử lý", s.in_progress],
      ["Đã trả lời", s.answered], ["Đã giải quyết", s.resolved],
      ["Trả lời đúng hạn", s.answered_on_time], ["Trả lời trễ hạn", s.answered_late],
      ["Quá hạn, chưa trả lời", s.overdue],
    ];
    const table = el("dl", { class: "case-figures" }, cells.map(([name, n]) => el("div",
      { class: name.startsWith("Quá hạn") && n ? "overdue" : "" }, el("dt", {}, name), el("dd", {}, fmt(n)))));
    const link = atLeast("analyst") && s.overdue
      ? el("button", { type: "button", class: "small", onclick: () => showOverdue() }, `Xem ${fmt(s.overdue)} đơn quá hạn`)
      : null;
    box.replaceChildren(table, el("p", { class: "small muted" },
      `Quá hạn xét tại ngày ${fmtDate(s.as_of)}; hạn xử lý tính từ ngày nhận theo loại đơn (xem docs/cases.md).`), link || "");
    busy(box, false);
  } catch (error) {
    failInto(box, error);
  }
  if (atLeast("analyst")) loadAgreement();
}

function showOverdue() {
  const form = $("petition-form");
  form.reset();
  form.elements.overdue.value = "true";
  setTimeout(() => {
    form.elements.overdue.value = "true";
    form.requestSubmit();
    $("petitions").scrollIntoView();
  }, 0);
}

async function loadAgreement() {
  const box = $("agreement");
  try {
    const month = (effectiveDate() || isoDay(new Date())).slice(0, 7);
    // The month on screen first; when nothing was reviewed in it, the current month.
    const shown = await api(`/review/agreement${query({ month })}`);
    const a = shown.reviewed ? shown : await api("/review/agreement");
    if (!a.reviewed) {
      box.textContent = "Chưa có đơn nào được kiểm tra trong tháng: chưa đo được mức khớp của mô hình.";
    } else {
      box.replaceChildren(`Mô hình khớp ${pct(a.agreement)} với ${fmt(a.reviewed)} đơn cán bộ đã kiểm tra trong tháng `
        + `${a.month.slice(5)}/${a.month.slice(0, 4)}`
        + (a.previous_agreement !== null ? ` (tháng trước ${pct(a.previous_agreement)})` : "") + ". ",
      a.warning ? el("strong", { class: "error" }, a.warning) : "");
    }
    box.hidden = false;
  } catch (error) {
    box.textContent = `Không tải được mức khớp của mô hình: ${error.message}`;
    box.hidden = false;
  }
}

// ------------------------------------------------------------------ review queue
async function loadQueue(more = false) {
  const list = $("review-list");
  busy(list, true);
  // Reviewed items leave the queue, so the next page starts after the items still shown.
  state.queueOffset = more ? $("review-list").querySelectorAll("li.review").length : 0;
  try {
    const result = await api(`/review/queue${query({ limit: QUEUE_PAGE, offset: state.queueOffset })}`);
    $("review-summary").textContent = result.count
      ? `${fmt(result.count)} đơn chưa kiểm tra trong địa bàn phụ trách.`
      : "Không còn đơn nào chờ kiểm tra.";
    const items = result.data.map((p) => queueItem(p, result.threshold));
    if (more) list.append(...items);
    else list.replaceChildren(...(items.length ? items : [el("li", { class: "muted" }, "Không còn đơn nào chờ kiểm tra.")]));
    $("review-more").hidden = state.queueOffset + result.data.length >= result.count;
  } catch (error) {
    failInto(list, error);
  }
  busy(list, false);
}

function labelChecks(name, codes, chosen, names) {
  return el("div", { class: "checks" }, codes.map((code, i) => el("label", {},
    el("input", { type: "checkbox", name, value: code, checked: chosen.includes(code) }),
    name === "topics" ? ` ${i + 1}. ${names[code] || code}` : ` ${names[code] || code}`)));
}

function queueItem(p, threshold) {
  const codes = Object.keys(state.topicNames);
  const reasons = [];
  if (p.confidence !== null && p.confidence < threshold) reasons.push(`độ tin cậy thấp (${pct(p.confidence)})`);
  if (p.cluster_disagrees) {
    reasons.push(`khác nhóm đơn gần giống (${(p.cluster_topics || []).map(topicName).join(", ")})`);
  }
  const form = el("form", { class: "review-form" },
    el("fieldset", {}, el("legend", {}, "Lĩnh vực"), labelChecks("topics", codes, p.topics, state.topicNames)),
    el("fieldset", {}, el("legend", {}, "Dấu hiệu"),
      labelChecks("signals", Object.keys(state.signalNames), p.signals, state.signalNames)),
    el("label", {}, "Địa bàn đúng (nếu sai) ",
      el("input", { name: "area", list: "area-options", placeholder: p.area })),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "accept", onclick: () => reviewItem(item, p, null) }, "Đúng rồi (Enter)"),
      el("button", { type: "submit", class: "secondary" }, "Lưu sửa (L)"),
      el("button", { type: "button", class: "secondary", onclick: () => openPetition(p.id) }, "Xem đơn")));
  form.addEventListener("submit", (event) => { event.preventDefault(); reviewItem(item, p, form); });
  const item = el("li", {
    class: "item review", tabindex: "0", "data-petition-id": p.id,
    "aria-label": `Đơn số ${p.id}: ${p.topics.map(topicName).join(", ")}, độ tin cậy ${pct(p.confidence)}`,
  },
  el("h4", {}, `Đơn số ${p.id} — ${p.area} — ${fmtDate(p.received_at)}`),
  el("p", { class: "meta" }, `Mô hình gán: ${p.topics.map(topicName).join(", ")} · độ tin cậy ${pct(p.confidence)}`
    + (reasons.length ? ` · cần xem vì ${reasons.join(", ")}` : "")),
  el("p", { class: "text" }, petitionText(p.text, "")), form);
  item.addEventListener("keydown", (event) => queueKey(event, item, p, form));
  return item;
}

function queueKey(event, item, p, form) {
  if (event.target.tagName === "INPUT" && event.target.type !== "checkbox") return;
  if (event.key === "Enter" && event.target === item) {
    event.preventDefault();
    reviewItem(item, p, null);
  } else if (/^[1-8]$/.test(event.key)) {
    const box = form.querySelectorAll('input[name="topics"]')[Number(event.key) - 1];
    if (box) { box.checked = !box.checked; event.preventDefault(); }
  } else if (event.key === "l" || event.key === "L") {
    event.preventDefault();
    reviewItem(item, p, form);
  }
}

async function reviewItem(item, p, form) {
  let body = {};
  if (form) {
    const picked = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((b) => b.value);
    body = { topics: picked("topics"), signals: picked("signals") };
    const area = form.elements.area.value.trim();
    if (area) body.area = area;
  }
  for (const button of item.querySelectorAll("button")) button.disabled = true;
  try {
    const saved = await api(`/petitions/${p.id}/review`, { method: "POST", body });
    const changed = saved.model_topics && JSON.stringify([...saved.topics].sort()) !== JSON.stringify([...p.topics].sort());
    say(form ? `Đã lưu đơn số ${p.id}: ${saved.topics.map(topicName).join(", ")}${changed ? " (đã sửa)" : ""}.`
      : `Đã xác nhận nhãn của đơn số ${p.id}.`);
    const next = item.nextElementSibling;
    item.remove();
    if (next && next.focus) next.focus();
    const left = $("review-list").querySelectorAll("li.review").length;
    if (!left) loadQueue();
    if (form) { loadChart(); loadHeatmap(); loadToday(); }
  } catch (error) {
    for (const button of item.querySelectorAll("button")) button.disabled = false;
    say(`Không lưu được: ${error.message}`, true);
  }
}

// ------------------------------------------------------------------ a petition's page
async function openPetition(id) {
  const dialog = $("petition-dialog");
  const box = $("petition-detail");
  $("petition-dialog-title").textContent = `Đơn số ${id}`;
  box.replaceChildren(el("p", { class: "muted" }, "Đang tải…"));
  if (!dialog.open) dialog.showModal();
  try {
    const [p, events] = await Promise.all([api(`/petitions/${id}`), api(`/petitions/${id}/history`)]);
    const rows = [
      ["Ngày nhận", fmtDate(p.received_at)], ["Địa bàn", p.area], ["Loại", sourceName(p.source_type)],
      ["Lĩnh vực", p.topics.map(topicName).join(", ")
        + (p.model_topics ? " (cán bộ đã sửa)"
          : p.confidence !== null ? ` (độ tin cậy của mô hình ${pct(p.confidence)})` : "")],
      ["Điểm từng lĩnh vực", Object.entries(p.scores || {}).sort((a, b) => b[1] - a[1]).slice(0, 4)
        .map(([code, v]) => `${topicName(code)} ${pct(v)}`).join(", ") || "—"],
      ["Dấu hiệu", p.signals.map((s) => state.signalNames[s] || s).join(", ") || "—"],
      ["Kiểm tra", p.reviewed_at ? `đã kiểm tra bởi ${p.reviewed_by}, ${fmtTime(p.reviewed_at)}`
        + (p.model_topics ? ` (mô hình gán: ${p.model_topics.map(topicName).join(", ")})` : "") : "chưa kiểm tra"],
      ["Trạng thái", CASE_STATUS_NAMES[p.case_status] || p.case_status],
      ["Người phụ trách", p.owner || "—"],
      ["Hạn xử lý", p.due_on ? fmtDate(p.due_on) + (p.overdue ? " — quá hạn" : "") : "—"],
    ];
    if (atLeast("officer")) rows.push(["Người gửi", [p.sender_name, p.sender_contact].filter(Boolean).join(" · ") || "—"]);
    const copies = p.near_duplicates.length
      ? el("ul", {}, p.near_duplicates.map((d) => el("li", {}, el("button", {
        type: "button", class: "link", onclick: () => openPetition(d.id),
      }, `Đơn số ${d.id}`), ` — ${d.area}, ${fmtDate(d.received_at)}`)))
      : el("p", { class: "muted" }, "Không có đơn gần giống.");
    box.replaceChildren(
      el("dl", { class: "detail" }, rows.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v)))),
      el("h3", {}, "Nội dung"), el("p", { class: "text full" }, p.text),
      el("h3", {}, `Nhóm đơn gần giống${p.cluster_id ? ` (nhóm ${p.cluster_id})` : ""}`), copies,
      atLeast("officer") ? caseForm(p) : "",
      el("h3", {}, "Lịch sử"), historyList(events));
  } catch (error) {
    box.replaceChildren(el("p", { class: "error" }, `Không tải được: ${error.message}`));
  }
}

function caseForm(p) {
  const options = Object.entries(CASE_STATUS_NAMES).map(([code, name]) => el("option",
    { value: code, selected: code === p.case_status }, name));
  const form = el("form", { class: "filters case-form" },
    el("h3", { class: "wide" }, "Theo dõi xử lý"),
    el("div", {}, el("label", { for: "case-status" }, "Trạng thái"), el("select", { id: "case-status", name: "status" }, options)),
    el("div", {}, el("label", { for: "case-owner" }, "Người phụ trách"),
      el("input", { id: "case-owner", name: "owner", value: p.owner || "", maxlength: "200" })),
    el("div", {}, el("label", { for: "case-due" }, "Hạn xử lý"),
      el("input", { id: "case-due", name: "due_on", type: "date", value: p.due_on || "" })),
    el("div", { class: "wide" }, el("label", { for: "case-note" }, "Ghi chú"),
      el("input", { id: "case-note", name: "note", maxlength: "2000" })),
    el("div", { class: "actions" }, el("button", { type: "submit" }, "Lưu")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = formValues(form);
    const body = { ids: [p.id], status: v.status, owner: v.owner };
    if (v.due_on && v.due_on !== p.due_on) body.due_on = v.due_on;
    if (v.note.trim()) body.note = v.note.trim();
    try {
      await api("/cases/update", { method: "POST", body });
      say(`Đã lưu việc xử lý đơn số ${p.id}.`);
      openPetition(p.id);
      loadPetitions();
      loadCaseSummary();
    } catch (error) {
      say(`Không lưu được: ${error.message}`, true);
    }
  });
  return form;
}

async function bulkUpdate(event) {
  event.preventDefault();
  const v = formValues(event.target);
  const body = { filters: {} };
  for (const [key, value] of Object.entries(petitionParams())) {
    if (key === "sort" || String(value || "").trim() === "") continue;
    if (key === "ids") body.filters.ids = String(value).split(",").map(Number);
    else body.filters[key] = key === "overdue" ? value === "true" : value;
  }
  if (v.status) body.status = v.status;
  if (v.owner.trim()) body.owner = v.owner.trim();
  if (v.due_on) body.due_on = v.due_on;
  if (v.note.trim()) body.note = v.note.trim();
  const line = $("bulk-status-line");
  const total = $("pet-summary").textContent;
  if (!window.confirm(`Cập nhật mọi đơn đang lọc? ${total}`)) return;
  try {
    const result = await api("/cases/update", { method: "POST", body });
    line.textContent = `Đã cập nhật ${fmt(result.changed)} trên ${fmt(result.matched)} đơn đang lọc.`;
    event.target.reset();
    loadPetitions();
    loadCaseSummary();
  } catch (error) {
    line.textContent = `Không cập nhật được: ${error.message}`;
  }
}

// ------------------------------------------------------------------ alerts as cases
async function openAlert(id) {
  const dialog = $("alert-dialog");
  const box = $("alert-detail");
  box.replaceChildren(el("p", { class: "muted" }, "Đang tải…"));
  if (!dialog.open) dialog.showModal();
  try {
    const [a, events] = await Promise.all([api(`/alerts/${id}`), api(`/alerts/${id}/history`)]);
    $("alert-dialog-title").textContent = `Cảnh báo số ${a.id}: ${topicName(a.topic)} — ${a.area}`;
    const facts = el("dl", { class: "detail" }, [
      ["Mức độ", SEVERITY_NAMES[a.severity] || a.severity],
      ["Trạng thái", ALERT_STATUS_NAMES[a.status] || a.status],
      ["Người được giao", a.assignee || "—"],
      ["Số đơn", `${fmt(a.count)} từ ${fmtDate(a.window_start)} đến ${fmtDate(a.window_end)}`],
    ].map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v))));
    box.replaceChildren(facts, el("p", { class: "explanation" }, a.explanation),
      el("div", { class: "links" }, petitionLink(a.area, a.topic, a.window_start, a.window_end, a.petition_ids)),
      atLeast("officer") ? alertForm(a) : "", el("h3", {}, "Lịch sử xử lý"), historyList(events, ALERT_STATUS_NAMES));
  } catch (error) {
    box.replaceChildren(el("p", { class: "error" }, `Không tải được: ${error.message}`));
  }
}

function alertForm(a) {
  const form = el("form", { class: "filters alert-form" },
    el("div", {}, el("label", { for: "alert-assignee" }, "Giao cho"),
      el("input", { id: "alert-assignee", name: "assignee", value: a.assignee || "", maxlength: "200" })),
    el("div", { class: "wide" }, el("label", { for: "alert-note" }, "Ghi chú"),
      el("input", { id: "alert-note", name: "note", maxlength: "2000" })));
  const act = (label, path, enabled) => (enabled ? el("button", {
    type: "button", class: path === "resolve" ? "" : "secondary",
    onclick: () => alertAction(a, path, formValues(form)),
  }, label) : null);
  const open = a.status === "open" || a.status === "closed";
  form.append(el("div", { class: "actions" },
    act("Giao việc", "assign", true),
    act("Ghi chú", "note", true),
    act("Đã nắm", "ack", a.status === "open"),
    act("Đã giải quyết", "resolve", open || a.status === "acknowledged"),
    act("Mở lại", "reopen", a.status === "acknowledged" || a.status === "resolved")));
  return form;
}

async function alertAction(a, path, values) {
  const note = (values.note || "").trim() || null;
  const body = path === "assign" ? { assignee: values.assignee || "", note } : { note };
  if (path === "note" && !note) {
    say("Hãy viết ghi chú trước khi lưu.", true);
    return;
  }
  try {
    await api(`/alerts/${a.id}/${path}`, { method: "POST", body });
    say(`Đã lưu: cảnh báo số ${a.id} — ${EVENT_NAMES[path] || path}.`);
    openAlert(a.id);
    loadAlerts();
  } catch (error) {
    say(`Không lưu được: ${error.message}`, true);
  }
}
