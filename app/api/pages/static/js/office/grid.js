// The term grid: one course's students by its sessions over a date range, each cell a status
// that staff correct in place, with totals; printable, and as a CSV for a spreadsheet.
import { API } from "../api.js";
import { $, el, say, show } from "../dom.js";
import { studentName } from "./names.js";
import { api, canCorrect, office } from "./state.js";

const STATUSES = ["present", "late", "excused", "absent"];
const LETTER = { present: "P", late: "L", excused: "E", absent: "A" };
// The range shown first: the last four weeks and the coming one, a month's register.
const DAYS_BACK = 28;
const DAYS_AHEAD = 7;
const grid = { data: null, cell: null };

export function setUpGrid() {
  $("#grid-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    loadGrid();
  });
  $("#grid-csv").addEventListener("click", downloadCsv);
  $("#grid-print").addEventListener("click", () => window.print());
  $("#grid-cancel").addEventListener("click", closeCorrection);
  $("#grid-correct").addEventListener("submit", saveCorrection);
  $("#grid-undo").addEventListener("click", undoMark);
}

export async function openGrid() {
  if (!$("#grid-from").value) {
    $("#grid-from").value = isoDay(-DAYS_BACK);
    $("#grid-to").value = isoDay(DAYS_AHEAD);
  }
  if ($("#grid-course").options.length) return;
  try {
    const courses = await api("/courses");
    $("#grid-course").replaceChildren(
      ...courses.map((c) => el("option", { value: String(c.id) }, `${c.code} · ${c.name}`)),
    );
    if (courses.length) await loadGrid();
    else say($("#grid-message"), "No course yet: a register belongs to a course.");
  } catch (error) {
    say($("#grid-message"), error.message, "error");
  }
}

// A local day, `offset` days from today, as a date input's value.
function isoDay(offset) {
  const day = new Date();
  day.setDate(day.getDate() + offset);
  const shifted = new Date(day.getTime() - day.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 10);
}

function query() {
  const course = $("#grid-course").value;
  return `course_id=${course}&date_from=${$("#grid-from").value}&date_to=${$("#grid-to").value}`;
}

export async function loadGrid() {
  const panel = $("#panel-register");
  panel.dataset.state = "loading";
  try {
    grid.data = await api(`/reports/register?${query()}`);
    drawGrid(grid.data);
    const { rows, sessions } = grid.data;
    say($("#grid-message"), `${rows.length} students, ${sessions.length} sessions.`);
  } catch (error) {
    say($("#grid-message"), error.message, "error");
  }
  panel.dataset.state = "ready";
}

function sessionHead(session) {
  const start = new Date(session.starts_at);
  const day = start.toLocaleDateString([], { day: "numeric", month: "short" });
  const hour = start.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return el("th", { scope: "col", title: session.name }, el("span", { class: "day" }, day), " ", hour);
}

function drawGrid(data) {
  const head = el("tr", {}, el("th", { scope: "col" }, "Student"),
    data.sessions.map(sessionHead),
    STATUSES.map((s) => el("th", { scope: "col", class: "total" }, s)),
    el("th", { scope: "col", class: "total" }, "rate"));
  const body = data.rows.map((row, r) => el("tr", {},
    el("th", { scope: "row" }, studentName(row.student)),
    row.cells.map((cell, c) => el("td", { class: `cell ${cell ? cell.status : "to-come"}` }, cellControl(data, r, c))),
    STATUSES.map((s) => el("td", { class: "total" }, String(row.totals[s]))),
    el("td", { class: "total" }, row.rate === null ? "—" : `${Math.round(row.rate * 100)}%`)));
  const foot = STATUSES.map((s) => el("tr", {},
    el("th", { scope: "row" }, `Total ${s}`),
    data.sessions.map((session) => el("td", { class: "total" }, String(session.totals[s]))),
    el("td", { colspan: String(STATUSES.length + 1) })));
  const table = $("#grid-table");
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...body);
  table.tFoot.replaceChildren(...foot);
  $("#grid-title").textContent = `${data.course.code} · ${data.course.name}, ${data.date_from} to ${data.date_to}`;
}

function cellText(cell) {
  if (!cell) return "";
  return cell.source === "manual" ? `${LETTER[cell.status]}*` : LETTER[cell.status];
}

function cellLabel(data, r, c) {
  const cell = data.rows[r].cells[c];
  const session = data.sessions[c];
  const status = cell ? cell.status : "to come";
  const manual = cell && cell.source === "manual" ? ", set by hand" : "";
  const reason = cell && cell.reason ? `: ${cell.reason}` : "";
  return `${data.rows[r].student.name}, ${session.name} ${new Date(session.starts_at).toLocaleString()}: ${status}${manual}${reason}`;
}

function cellControl(data, r, c) {
  const text = cellText(data.rows[r].cells[c]);
  const label = cellLabel(data, r, c);
  if (!canCorrect()) return el("span", { title: label, "aria-label": label }, text);
  return el("button", { type: "button", title: label, "aria-label": label, onclick: () => openCorrection(r, c) }, text);
}

function openCorrection(r, c) {
  const row = grid.data.rows[r];
  const session = grid.data.sessions[c];
  const cell = row.cells[c];
  grid.cell = { student: row.student, session };
  $("#grid-correct-title").textContent = `${row.student.name}, ${session.name} ${new Date(session.starts_at).toLocaleString()}`;
  $("#grid-status").value = cell ? cell.status : "present";
  $("#grid-reason").value = cell && cell.reason ? cell.reason : "";
  show($("#grid-undo"), Boolean(cell && cell.source));
  say($("#grid-correct-message"), "");
  show($("#grid-correction"));
  $("#grid-status").focus();
}

function closeCorrection() {
  grid.cell = null;
  show($("#grid-correction"), false);
}

function markPath() {
  return `/sessions/${grid.cell.session.id}/attendance/${grid.cell.student.id}`;
}

async function saveCorrection(event) {
  event.preventDefault();
  const reason = $("#grid-reason").value.trim();
  try {
    await api(markPath(), { method: "PUT", json: { status: $("#grid-status").value, reason: reason || null } });
    await afterChange(`Saved: ${grid.cell.student.name} is ${$("#grid-status").value}.`);
  } catch (error) {
    say($("#grid-correct-message"), error.message, "error");
  }
}

async function undoMark() {
  const reason = $("#grid-reason").value.trim();
  const suffix = reason ? `?reason=${encodeURIComponent(reason)}` : "";
  try {
    await api(markPath() + suffix, { method: "DELETE" });
    await afterChange(`Removed the mark of ${grid.cell.student.name}: absent unless they check in.`);
  } catch (error) {
    say($("#grid-correct-message"), error.message, "error");
  }
}

async function afterChange(message) {
  closeCorrection();
  await loadGrid();
  say($("#grid-message"), message, "ok");
}

// The CSV comes with the key in a header, so it is fetched and handed to the browser as a file.
async function downloadCsv() {
  try {
    const response = await fetch(`${API}/reports/register?${query()}&format=csv`, { headers: { "X-API-Key": office.key } });
    if (!response.ok) throw new Error((await response.json()).error.message);
    const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "");
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: name ? name[1] : "register.csv" });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    say($("#grid-message"), error.message, "error");
  }
}
