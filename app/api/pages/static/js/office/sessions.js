// Class sessions: create (admin), list, and the live board of one session.
import { $, el, fillTable, say, show, time, when } from "../dom.js";
import { api, isAdmin } from "./state.js";

// The board asks the API again this often: a check-in shows within 3 s, and a board left open
// all day costs the server one small query per 3 s.
const BOARD_POLL_MS = 3000;
const DEFAULT_LENGTH_MINUTES = 60;
const SESSIONS_SHOWN = 100;
const board = { session: null, timer: null };
// Check-in thumbnails shown on the board, fetched once each: "session/student" -> object URL.
const faces = new Map();

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
    el("td", {}, session.name),
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
  $("#board-title").textContent = session.name;
  show($("#board-panel"));
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
    fill("present", await Promise.all(onTime.map((row) => marked(session, row))));
    fill("late", await Promise.all(report.late.map((row) => marked(session, row))));
    fill("absent", report.absent.map((student) => student.name));
    say($("#board-updated"), `Updated ${new Date().toLocaleTimeString()}.`);
  } catch (error) {
    say($("#board-updated"), error.message, "error");
  }
}

// A mark on the board: the face its check-in saw (kept when ROLLCALL_KEEP_THUMBNAILS says so),
// so that staff can tell a face from a photo of one, then the name and time.
async function marked(session, row) {
  const text = `${row.student.name} · ${time(row.first_checkin_at)}`;
  if (!row.has_thumbnail) return text;
  const id = `${session.id}/${row.student.id}`;
  if (!faces.has(id)) {
    try {
      const jpeg = await api(`/sessions/${session.id}/attendance/${row.student.id}/thumbnail`);
      faces.set(id, URL.createObjectURL(jpeg));
    } catch {
      return text; // purged meanwhile, or this key may not see it: the name alone
    }
  }
  const alt = `Check-in photo of ${row.student.name}`;
  return [el("img", { class: "board-face", src: faces.get(id), alt, width: "48", height: "48" }), " ", text];
}

function fill(column, lines) {
  $(`#board-${column}-count`).textContent = String(lines.length);
  $(`#board-${column}`).replaceChildren(...lines.map((line) => el("li", {}, line)));
}
