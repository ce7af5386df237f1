// The term grid: one course's students by its sessions over a date range, each cell a status
// that staff correct in place, with totals; printable, and as a CSV for a spreadsheet.
import { API } from "../api.js";
import { $, el, say, show } from "../dom.js";
import { studentLink } from "./names.js";
import { api, canCorrect, office } from "./state.js";

const STATUSES = ["present", "late", "excused", "absent"];
const LETTER = { present: "P", late: "L", excused: "E", absent: "A" };
// The range shown first: the last four weeks and the coming one, a month's register.
const DAYS_BACK = 28;
const DAYS_AHEAD = 7;
// Students a page: 40 students by a month's sessions lay out at once on a phone too.
const ROWS_SHOWN = 40;
const grid = { data: null, cell: null, offset: 0 };

export function setUpGrid() {
  $("#grid-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    grid.offset = 0;
    loadGrid();
  });
  $("#grid-prev").addEventListener("click", () => turn(-1));
  $("#grid-next").addEventListener("click", () => turn(1));
  $("#grid-csv").addEventListener("click", downloadCsv);
  $("#grid-print").addEventListener("click", printRegister);
  $("#grid-cancel").addEventListener("click", closeCorrection);
  $("#grid-correct").addEventListener("submit", saveCorrection);
  $("#grid-undo").addEventListener("click", undoMark);
  // One listener for every cell: a term's register holds tens of thousands of them.
  $("#grid-table").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-cell]");
    if (button) openCorrection(...button.dataset.cell.split(",").map(Number));
  });
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

function turn(step) {
  grid.offset = Math.max(0, grid.offset + step * ROWS_SHOWN);
  loadGrid();
}

export async function loadGrid() {
  const panel = $("#panel-register");
  panel.dataset.state = "loading";
  try {
    grid.data = await api(`/reports/register?${query()}&limit=${ROWS_SHOWN}&offset=${grid.offset}`);
    drawGrid(grid.data);
    const { rows, sessions, total, offset } = grid.data;
    say($("#grid-message"), `${total} students, ${sessions.length} sessions.`);
    $("#grid-range").textContent = total ? `Students ${offset + 1}–${offset + rows.length} of ${total}` : "";
    $("#grid-prev").disabled = offset === 0;
    $("#grid-next").disabled = offset + rows.length >= total;
  } catch (error) {
    say($("#grid-message"), error.message, "error");
  }
  panel.dataset.state = "ready";
}

// Formatters made once: a register draws a few hundred dates, and every toLocale*String call
// makes a formatter of its own.
const DAY = new Intl.DateTimeFormat([], { day: "numeric", month: "short" });
const HOUR = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
const WHEN = new Intl.DateTimeFormat([], { dateStyle: "short", timeStyle: "short" });
const whenOf = (session) => WHEN.format(new Date(session.starts_at));

function sessionHead(session) {
  const start = new Date(session.starts_at);
  return el("th", { scope: "col", title: session.name }, el("span", { class: "day" }, DAY.format(start)), " ", HOUR.format(start));
}

function drawGrid(data) {
  const when = data.sessions.map((s) => `${s.name} ${whenOf(s)}`);
  const correcting = canCorrect();
  const head = el("tr", {}, el("th", { scope: "col" }, "Student"),
    data.sessions.map(sessionHead),
    STATUSES.map((s) => el("th", { scope: "col", class: "total" }, s)),
    el("th", { scope: "col", class: "total" }, "rate"));
  const body = data.rows.map((row, r) => {
    const line = el("tr", {}, el("th", { scope: "row" }, studentLink(row.student)));
    row.cells.forEach((cell, c) => line.append(cellNode(row, r, c, when[c], correcting)));
    line.append(...STATUSES.map((s) => el("td", { class: "total" }, String(row.totals[s]))),
      el("td", { class: "total" }, row.rate === null ? "—" : `${Math.round(row.rate * 100)}%`));
    return line;
  });
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

function cellLabel(row, c, session) {
  const cell = row.cells[c];
  const status = cell ? cell.status : "to come";
  const manual = cell && cell.source === "manual" ? ", set by hand" : "";
  const reason = cell && cell.reason ? `: ${cell.reason}` : "";
  return `${row.student.name}, ${session}: ${status}${manual}${reason}`;
}

// One cell, built directly (a register draws thousands): a button to correct it, or for a
// viewer the status alone, named for a screen reader.
function cellNode(row, r, c, session, correcting) {
  const cell = row.cells[c];
  const td = document.createElement("td");
  td.className = `cell ${cell ? cell.status : "to-come"}`;
  const control = document.createElement(correcting ? "button" : "span");
  if (correcting) {
    control.type = "button";
    control.dataset.cell = `${r},${c}`;
  } else {
    control.setAttribute("role", "img");
  }
  control.setAttribute("aria-label", cellLabel(row, c, session));
  if (cell && cell.reason) control.title = cell.reason; // a pointer's hover shows why
  control.textContent = cellText(cell);
  td.append(control);
  return td;
}

function openCorrection(r, c) {
  const row = grid.data.rows[r];
  const session = grid.data.sessions[c];
  const cell = row.cells[c];
  grid.cell = { student: row.student, session };
  $("#grid-correct-title").textContent = `${row.student.name}, ${session.name} ${whenOf(session)}`;
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

// A paper register holds every student: all the pages are drawn for the printer, then the
// page shown before comes back.
async function printRegister() {
  try {
    drawGrid(await api(`/reports/register?${query()}&limit=500`));
    window.print();
  } catch (error) {
    say($("#grid-message"), error.message, "error");
  }
  await loadGrid();
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
