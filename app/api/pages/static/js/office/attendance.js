// Attendance: filters, the charts per day and per session, the table, and the CSV download.
import { $, bdi, el, fillTable, say, time } from "../dom.js";
import { barChart, countBy } from "./chart.js";
import { studentLink } from "./names.js";
import { api, isAdmin } from "./state.js";

const FILTERS = { day: "#filter-day", date_from: "#filter-from", date_to: "#filter-to", session_id: "#filter-session" };
const STATUS_TONE = { present: "good", late: "warn", excused: "info", absent: "bad" };
const SOURCE_WORDS = { face: "check-in", manual: "by hand" };
const suggested = new Map(); // "Name (external id)" offered -> student id

export function setUpAttendance() {
  $("#attendance-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    loadAttendance();
  });
  $("#attendance-csv").addEventListener("click", downloadCsv);
  $("#filter-student").addEventListener("input", suggestStudents);
}

// Students matching what is typed (name or external id), offered as the field's choices. The
// students list is an admin's; other keys type a student's internal number.
async function suggestStudents() {
  const typed = $("#filter-student").value.trim();
  if (!isAdmin() || typed.length < 2 || suggested.has(typed)) return;
  try {
    const { items } = await api(`/students?${new URLSearchParams({ q: typed, limit: 10 })}`);
    const options = items.map((s) => {
      const label = `${s.name} (${s.external_id})`;
      suggested.set(label, s.id);
      return el("option", { value: label });
    });
    $("#filter-student-options").replaceChildren(...options);
  } catch {
    // a suggestion that fails is no loss: the filter still searches on Show
  }
}

// The student the filter names: an offered choice, the one student the words match, or (any
// key) a number; null: no filter. Throws an Error in words when none or several match.
async function chosenStudent() {
  const typed = $("#filter-student").value.trim();
  if (!typed) return null;
  if (suggested.has(typed)) return suggested.get(typed);
  if (!isAdmin() && /^\d+$/.test(typed)) return Number(typed);
  const { items, total } = await api(`/students?${new URLSearchParams({ q: typed, limit: 2 })}`);
  if (total === 1) return items[0].id;
  throw new Error(total === 0 ? `No student matches "${typed}".` : `${total} students match "${typed}": choose one from the list.`);
}

export async function openAttendance() {
  try {
    const { items: sessions } = await api("/sessions?limit=500"); // in progress, then newest
    const chosen = $("#filter-session").value;
    $("#filter-session").replaceChildren(
      el("option", { value: "" }, "any"),
      ...sessions.map((s) => el("option", { value: s.id, selected: String(s.id) === chosen }, s.name)),
    );
  } catch (error) {
    say($("#attendance-message"), error.message, "error");
  }
  loadAttendance();
}

async function query() {
  const params = new URLSearchParams();
  for (const [name, selector] of Object.entries(FILTERS)) {
    const value = $(selector).value.trim();
    if (value) params.set(name, value);
  }
  const student = await chosenStudent();
  if (student !== null) params.set("student_id", String(student));
  return params;
}

async function loadAttendance() {
  try {
    const rows = await api(`/attendance?${await query()}`);
    fillTable($("#attendance-table"), rows.map(attendanceRow));
    say($("#attendance-message"), `${rows.length} attendance row${rows.length === 1 ? "" : "s"}.`);
    const byDay = countBy(rows.slice().sort((a, b) => a.day.localeCompare(b.day)), (r) => r.day);
    barChart($("#chart-days .plot"), byDay, "Check-ins per day");
    const bySession = countBy(rows, (r) => (r.session ? r.session.name : `No session (${r.day})`));
    barChart($("#chart-sessions .plot"), bySession, "Check-ins per session");
  } catch (error) {
    say($("#attendance-message"), error.message, "error");
  }
}

function attendanceRow(row) {
  return el("tr", {},
    el("td", {}, row.day),
    el("td", {}, time(row.first_checkin_at)),
    el("td", {}, studentLink(row.student)),
    el("td", {}, row.student.external_id),
    el("td", {}, row.session ? bdi(row.session.name) : "—"),
    el("td", {}, el("span", { class: `tag ${STATUS_TONE[row.status] || "info"}` }, row.status || "present")),
    el("td", {}, SOURCE_WORDS[row.source] || row.source || "check-in"));
}

// The API's own CSV (same filters), fetched with the key and saved as a file.
async function downloadCsv() {
  try {
    const params = await query();
    params.set("format", "csv");
    const csv = await api(`/attendance?${params}`);
    const blob = new Blob([csv], { type: "text/csv" });
    const link = el("a", { href: URL.createObjectURL(blob), download: "attendance.csv" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (error) {
    say($("#attendance-message"), error.message, "error");
  }
}
