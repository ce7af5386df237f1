// Attendance: filters, the charts per day and per session, the table, and the CSV download.
import { $, el, fillTable, say, time } from "../dom.js";
import { barChart, countBy } from "./chart.js";
import { api } from "./state.js";

const FILTERS = { day: "#filter-day", date_from: "#filter-from", date_to: "#filter-to", session_id: "#filter-session", student_id: "#filter-student" };

export function setUpAttendance() {
  $("#attendance-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    loadAttendance();
  });
  $("#attendance-csv").addEventListener("click", downloadCsv);
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

function query() {
  const params = new URLSearchParams();
  for (const [name, selector] of Object.entries(FILTERS)) {
    const value = $(selector).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

async function loadAttendance() {
  try {
    const rows = await api(`/attendance?${query()}`);
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
    el("td", {}, row.student.name),
    el("td", {}, row.student.external_id),
    el("td", {}, row.session ? row.session.name : "—"),
    el("td", {}, row.similarity == null ? "—" : row.similarity.toFixed(2)));
}

// The API's own CSV (same filters), fetched with the key and saved as a file.
async function downloadCsv() {
  const params = query();
  params.set("format", "csv");
  try {
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
