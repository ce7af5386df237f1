// Today (the office's first page): today's sessions, in progress first, with their counts
// kept live, each with its live board opened in place; and one list of everyone absent from a
// class that has started today, with the corrections a secretary makes (present, late,
// excused with a reason, a note), each kept in the mark's audit trail by the API.
import { $, el, fillTable, quietly, say, show, time } from "../dom.js";
import { boardElement, fillBoard } from "./board.js";
import { studentLink } from "./names.js";
import { api, isAdmin, office } from "./state.js";

// Today is asked again this often: a check-in shows within 5 s; one request (GET
// /sessions/today, every session's board in a few queries) per 5 s per open office.
const TODAY_POLL_MS = 5000;
const STATE_WORDS = { in_progress: "in progress", upcoming: "later today", ended: "ended" };
const byName = new Intl.Collator().compare;
const today = { timer: null, open: new Set(), reports: new Map(), sessions: [], busy: false, focusRow: null };

export function setUpToday() {
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && today.timer) refreshToday();
  });
}

export function openToday() {
  clearInterval(today.timer);
  refreshToday().then(() => {
    $("#panel-today").dataset.ready = "true"; // the page's own ready signal (tests, timing)
    performance.mark("today-ready");
  });
  today.timer = setInterval(() => document.hidden || refreshToday(), TODAY_POLL_MS);
}

export function closeToday() {
  clearInterval(today.timer);
  today.timer = null;
}

// The school's day (the server's zone), as the sessions' days are counted.
const dayWords = (day) => new Date(`${day}T12:00:00`).toLocaleDateString([], { dateStyle: "full" });

async function refreshToday() {
  if (today.busy) return; // a slow answer: the next tick asks again
  today.busy = true;
  try {
    const answer = await api("/sessions/today"); // in progress first, then to come, then ended
    today.sessions = answer.sessions.map((board) => board.session);
    today.reports = new Map(answer.sessions.map((board) => [board.session.id, board]));
    $("#today-date").textContent = dayWords(answer.day);
    showSessions();
    showAbsent();
    quietly($("#today-updated"), `Updated ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })}`);
  } catch (error) {
    say($("#today-message"), error.message, "error");
  } finally {
    today.busy = false;
  }
}

function showSessions() {
  const list = $("#today-sessions");
  const items = today.sessions.map((session) => {
    const existing = list.querySelector(`[data-session-id="${session.id}"]`);
    const item = existing || sessionItem(session);
    fillSession(item, session, today.reports.get(session.id));
    return item;
  });
  list.replaceChildren(...items); // the same nodes: an open board and focus stay
  show($("#today-none"), items.length === 0);
}

function sessionItem(session) {
  const boardButton = el("button", {
    type: "button",
    "aria-expanded": "false",
    "aria-label": `Live board of ${session.name}`,
    onclick: () => toggleBoard(session, item),
  }, "Live board");
  const item = el("li", { class: "today-session", dataset: { sessionId: session.id } },
    el("div", { class: "today-head" },
      el("h3", {}, el("bdi", { dir: "auto" }, session.name)),
      el("span", { class: "today-when" }),
      el("span", { class: "tag", dataset: { state: "" } })),
    el("p", { class: "today-counts" }),
    el("div", { class: "actions" }, boardButton,
      el("a", { class: "button", href: `/kiosk?session=${session.id}` }, "Open a kiosk")));
  return item;
}

function fillSession(item, session, report) {
  item.querySelector(".today-when").textContent = `${time(session.starts_at)}–${time(session.ends_at)}`;
  const tag = item.querySelector("[data-state]");
  tag.dataset.state = session.state;
  tag.className = `tag ${session.state === "in_progress" ? "good" : "info"}`;
  tag.textContent = STATE_WORDS[session.state] || session.state;
  const late = report.late.length;
  const counts = [
    ["present", report.present.length - late],
    ["late", late],
    ["absent", report.absent.length],
    ["excused", (report.excused || []).length],
  ];
  item.querySelector(".today-counts").replaceChildren(...counts.map(([word, n]) =>
    el("span", { class: `count-${word}`, dataset: { count: word } }, el("strong", {}, String(n)), ` ${word}`)));
  const board = item.querySelector(".board-inline");
  if (board) fillBoard(board, report);
}

function toggleBoard(session, item) {
  const button = item.querySelector("[aria-expanded]");
  const open = item.querySelector(".board-inline");
  if (open) {
    open.remove();
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-label", `Live board of ${session.name}`);
    button.textContent = "Live board";
    return;
  }
  const board = boardElement(session, `today-board-${session.id}`);
  item.append(board);
  fillBoard(board, today.reports.get(session.id));
  button.setAttribute("aria-expanded", "true");
  button.setAttribute("aria-label", `Close the board of ${session.name}`);
  button.textContent = "Close the board";
  board.querySelector("h3").focus();
}

// Everyone absent from a session that has started (upcoming ones: nobody is late yet).
function absentRows() {
  const rows = [];
  for (const session of today.sessions) {
    if (session.state === "upcoming") continue;
    for (const student of today.reports.get(session.id).absent) rows.push({ session, student });
  }
  return rows.sort((a, b) => byName(a.student.name, b.student.name));
}

function showAbsent() {
  const rows = absentRows();
  $("#today-absent-count").textContent = String(rows.length);
  if ($("#today-absent").contains(document.activeElement) && document.activeElement.closest("form")) return; // typing a reason
  fillTable($("#today-absent"), rows.map(absentRow));
  show($("#today-absent-none"), rows.length === 0);
  if (today.focusRow !== null) {
    const buttons = $("#today-absent").querySelectorAll("tbody tr button:first-of-type");
    (buttons[Math.min(today.focusRow, buttons.length - 1)] || $("#today-absent-heading")).focus();
    today.focusRow = null;
  }
}

// One element: on a phone a cell is a grid of its label and its content (see the CSS).
const classCell = (session) => el("span", {}, el("bdi", { dir: "auto" }, session.name), ` · ${time(session.starts_at)}`);

// Who may correct a mark (the API's rule): an admin, or a teacher key in its courses.
const mayCorrect = () => isAdmin() || office.role === "teacher";

function absentRow({ session, student }, index) {
  const who = student.name;
  if (!mayCorrect()) {
    return el("tr", {}, el("td", {}, studentLink(student)), el("td", {}, student.external_id),
      el("td", {}, classCell(session)), el("td", {}, "—"));
  }
  const mark = (status, reason) => correct(session, student, status, reason, index);
  const actions = el("div", { class: "actions" },
    el("button", { type: "button", "aria-label": `Present: ${who}, ${session.name}`, onclick: () => mark("present") }, "Present"),
    el("button", { type: "button", "aria-label": `Late: ${who}, ${session.name}`, onclick: () => mark("late") }, "Late"),
    el("button", { type: "button", "aria-label": `Excused… ${who}, ${session.name}`, onclick: () => askReason(actions, "excused", who, mark) }, "Excused…"),
    el("button", { type: "button", "aria-label": `Note… ${who}, ${session.name}`, onclick: () => askReason(actions, "absent", who, mark) }, "Note…"));
  return el("tr", { dataset: { studentId: student.id, sessionId: session.id } },
    el("td", {}, studentLink(student)),
    el("td", {}, student.external_id),
    el("td", {}, classCell(session)),
    el("td", {}, actions));
}

// A reason typed in place: required to excuse, the note itself for a note (the student stays
// absent, the note kept with the mark).
function askReason(actions, status, who, mark) {
  const words = status === "excused" ? `Reason ${who} is excused` : `Note on ${who}'s absence`;
  const input = el("input", { type: "text", maxlength: "500", required: true, "aria-label": words });
  const form = el("form", { class: "reason-form" },
    input,
    el("button", { type: "submit", class: "primary" }, status === "excused" ? "Excuse" : "Save note"),
    el("button", { type: "button", onclick: () => form.replaceWith(actions) }, "Cancel"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    mark(status, input.value.trim());
  });
  actions.replaceWith(form);
  input.focus();
}

async function correct(session, student, status, reason, index) {
  const body = reason ? { status, reason } : { status };
  try {
    await api(`/sessions/${session.id}/attendance/${student.id}`, { method: "PUT", json: body });
    const done = { present: "present", late: "late", excused: "excused", absent: "noted" }[status];
    say($("#today-message"), `${student.name} marked ${done} in ${session.name}.`, "ok");
    today.focusRow = index;
    if (document.activeElement && document.activeElement.closest("form")) document.activeElement.blur();
    await refreshToday();
  } catch (error) {
    say($("#today-message"), error.message, "error");
  }
}
