// Class sessions: create (admin), list, and the live board of one session.
import { $, bdi, el, fillTable, quietly, say, show, time, when } from "../dom.js";
import { studentLink } from "./names.js";
import { api, isAdmin } from "./state.js";

// The board asks the API again this often: a check-in shows within 3 s, and a board left open
// all day costs the server one small query per 3 s.
const BOARD_POLL_MS = 3000;
const DEFAULT_LENGTH_MINUTES = 60;
const SESSIONS_SHOWN = 100;
const board = { session: null, timer: null };

export function setUpSessions() {
  if (isAdmin()) $("#session-create").addEventListener("submit", createSession);
  $("#board-close").addEventListener("click", closeBoard);
  document.addEventListener("visibilitychange", () => {
    if (board.session && !document.hidden) refreshBoard(); // catch up after a hidden tab
  });
}

export function openSessions() {
  if (isAdmin() && !$("#session-start").value) {
    const start = new Date();
    start.setSeconds(0, 0);
    $("#session-start").value = localInput(start);
    $("#session-end").value = localInput(new Date(start.getTime() + DEFAULT_LENGTH_MINUTES * 60000));
    loadCourses();
  }
  loadSessions();
}

// The course picker: a course's session searches its roster only.
async function loadCourses() {
  try {
    const courses = await api("/courses");
    const picker = $("#session-course");
    picker.replaceChildren(
      el("option", { value: "" }, "No course: everyone"),
      ...courses.map((c) => el("option", { value: String(c.id) }, `${c.code} · ${c.name} (${c.students})`)),
    );
  } catch (error) {
    say($("#session-message"), error.message, "error");
  }
}

// A Date as a datetime-local input's value (local time, no zone).
function localInput(date) {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}

export async function loadSessions() {
  try {
    // A page: those in progress first, then the newest.
    const page = await api(`/sessions?limit=${SESSIONS_SHOWN}`);
    fillTable($("#sessions-table"), page.items.map(sessionRow));
  } catch (error) {
    say($("#session-message") || $("#board-updated"), error.message, "error");
  }
}

function sessionRow(session) {
  return el("tr", { dataset: { sessionId: session.id } },
    el("td", {}, bdi(session.name)),
    el("td", {}, when(session.starts_at)),
    el("td", {}, when(session.ends_at)),
    el("td", {}, el("div", { class: "actions" },
      el("button", { type: "button", "aria-label": `Live board of ${session.name}`, onclick: () => openBoard(session) }, "Live board"),
      el("a", { class: "button", href: `/kiosk?session=${session.id}` }, "Open a kiosk"))),
  );
}

async function createSession(event) {
  event.preventDefault();
  // datetime-local is the user's local time; the API stores UTC, so send it with its offset.
  const body = {
    name: $("#session-name").value.trim(),
    starts_at: new Date($("#session-start").value).toISOString(),
    ends_at: new Date($("#session-end").value).toISOString(),
    course_id: $("#session-course").value ? Number($("#session-course").value) : null,
    grace_minutes: $("#session-grace").value === "" ? null : Number($("#session-grace").value),
  };
  try {
    const session = await api("/sessions", { method: "POST", json: body });
    say($("#session-message"), `Created ${session.name} (session ${session.id}).`, "ok");
    $("#session-name").value = "";
    await loadSessions();
    openBoard(session);
  } catch (error) {
    say($("#session-message"), error.message, "error");
  }
}

function openBoard(session) {
  closeBoard();
  board.session = session;
  $("#board-title").replaceChildren(bdi(session.name));
  show($("#board-panel"));
  // Focus follows the board, so a keyboard or screen-reader user lands on it.
  $("#board-panel h2").tabIndex = -1;
  $("#board-panel h2").focus();
  refreshBoard();
  board.timer = setInterval(() => document.hidden || refreshBoard(), BOARD_POLL_MS);
}

function closeBoard() {
  clearInterval(board.timer);
  board.session = null;
  show($("#board-panel"), false);
}

async function refreshBoard() {
  const session = board.session;
  try {
    const report = await api(`/sessions/${session.id}/report`);
    if (board.session !== session) return; // another board was opened meanwhile
    // Late: after the session's grace period, as the API flags it.
    const onTime = report.present.filter((row) => !row.late);
    fill("present", onTime.map((row) => [studentLink(row.student), ` · ${time(row.first_checkin_at)}`]));
    fill("late", report.late.map((row) => [studentLink(row.student), ` · ${time(row.first_checkin_at)}`]));
    fill("absent", report.absent.map((student) => [studentLink(student)]));
    quietly($("#board-updated"), `Updated ${new Date().toLocaleTimeString()}.`); // not announced each poll
  } catch (error) {
    say($("#board-updated"), error.message, "error");
  }
}

function fill(column, lines) {
  $(`#board-${column}-count`).textContent = String(lines.length);
  $(`#board-${column}`).replaceChildren(...lines.map((line) => el("li", {}, ...line)));
}
