// Class sessions: create (admin), list, and the live board of one session.
import { $, bdi, el, fillTable, quietly, say, show, time, when } from "../dom.js";
import { studentLink } from "./names.js";
import { openSessionEdit } from "./session-edit.js";
import { api, isAdmin } from "./state.js";

// The board asks the API again this often: a check-in shows within 3 s, and a board left open
// all day costs the server one small query per 3 s.
const BOARD_POLL_MS = 3000;
const DEFAULT_LENGTH_MINUTES = 60;
const SESSIONS_SHOWN = 25;
const board = { session: null, timer: null };
const listing = { offset: 0, total: 0, opened: false };
// Check-in thumbnails shown on the board, fetched once each: "session/student" -> object URL.
const faces = new Map();

export function setUpSessions() {
  if (isAdmin()) $("#session-create").addEventListener("submit", createSession);
  $("#board-close").addEventListener("click", closeBoard);
  $("#sessions-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    listing.offset = 0;
    loadSessions();
  });
  $("#sessions-prev").addEventListener("click", () => turn(-1));
  $("#sessions-next").addEventListener("click", () => turn(1));
  document.addEventListener("visibilitychange", () => {
    if (board.session && !document.hidden) refreshBoard(); // catch up after a hidden tab
  });
}

// The list opens on the current week: what is on now and next, not the term's last day.
const DAYS_LISTED = 7;

function localDay(offset) {
  const day = new Date();
  day.setDate(day.getDate() + offset);
  return localInput(day).slice(0, 10);
}

export function openSessions() {
  if (!listing.opened) {
    listing.opened = true;
    $("#sessions-from").value = localDay(0);
    $("#sessions-to").value = localDay(DAYS_LISTED - 1);
  }
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

function turn(step) {
  listing.offset = Math.max(0, listing.offset + step * SESSIONS_SHOWN);
  loadSessions();
}

// A page of sessions: the one in progress first, then in time order, as a week's timetable
// reads (Monday's before Tuesday's, 9:00 before 11:00); the days filter the list.
export async function loadSessions() {
  const panel = $("#panel-sessions");
  panel.dataset.state = "loading";
  const params = new URLSearchParams({ limit: String(SESSIONS_SHOWN), offset: String(listing.offset), order: "time" });
  if ($("#sessions-from").value) params.set("date_from", $("#sessions-from").value);
  if ($("#sessions-to").value) params.set("date_to", $("#sessions-to").value);
  try {
    const page = await api(`/sessions?${params}`);
    listing.total = page.total;
    fillTable($("#sessions-table"), page.items.map(sessionRow));
    const last = Math.min(page.offset + page.items.length, page.total);
    $("#sessions-range").textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "No session on these days.";
    $("#sessions-prev").disabled = page.offset === 0;
    $("#sessions-next").disabled = last >= page.total;
  } catch (error) {
    say($("#sessions-message"), error.message, "error");
  }
  panel.dataset.state = "ready";
}

const STATE_WORDS = { in_progress: "in progress", upcoming: "to come", ended: "ended" };

function sessionRow(session) {
  const edit = isAdmin()
    ? el("button", { type: "button", "aria-label": `Change ${session.name}, ${when(session.starts_at)}`, onclick: () => openSessionEdit(session, loadSessions) }, "Change")
    : null;
  return el("tr", { dataset: { sessionId: session.id }, class: session.state },
    // One child: a phone lays a cell out as a grid, its label beside its content.
    el("td", {}, el("span", {}, bdi(session.name), session.series_id ? el("span", { class: "hint" }, " (weekly)") : null)),
    el("td", {}, when(session.starts_at)),
    el("td", {}, when(session.ends_at)),
    el("td", {}, STATE_WORDS[session.state] || session.state),
    el("td", {}, el("div", { class: "actions" },
      el("button", { type: "button", "aria-label": `Live board of ${session.name}, ${when(session.starts_at)}`, onclick: () => openBoard(session) }, "Live board"),
      isAdmin() ? el("a", { class: "button", href: `/kiosk?session=${session.id}` }, "Open a kiosk") : null,
      edit)),
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
    fill("present", await Promise.all(onTime.map((row) => marked(session, row))));
    fill("late", await Promise.all(report.late.map((row) => marked(session, row))));
    fill("absent", report.absent.map((student) => [studentLink(student)]));
    quietly($("#board-updated"), `Updated ${new Date().toLocaleTimeString()}.`); // not announced each poll
  } catch (error) {
    say($("#board-updated"), error.message, "error");
  }
}

// A mark on the board: the face its check-in saw (kept when ROLLCALL_KEEP_THUMBNAILS says so),
// so that staff can tell a face from a photo of one, then the name and time.
async function marked(session, row) {
  const text = [studentLink(row.student), ` · ${time(row.first_checkin_at)}`];
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
  return [el("img", { class: "board-face", src: faces.get(id), alt, width: "48", height: "48" }), " ", ...text];
}

function fill(column, lines) {
  $(`#board-${column}-count`).textContent = String(lines.length);
  $(`#board-${column}`).replaceChildren(...lines.map((line) => el("li", {}, ...line)));
}
