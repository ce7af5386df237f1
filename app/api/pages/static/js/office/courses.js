// Courses and their rosters: everyone signed in reads them; an admin creates, edits the roster
// (a checklist of the active students) and deletes.
import { $, el, fillTable, say, show } from "../dom.js";
import { api, isAdmin } from "./state.js";

const STUDENTS_PAGE = 500; // the API's largest page: a school of thousands takes a few requests
let chosen = null; // the course whose roster is open

export function setUpCourses() {
  $("#course-create")?.addEventListener("submit", createCourse);
  $("#roster-save")?.addEventListener("click", saveRoster);
  $("#roster-delete")?.addEventListener("click", deleteCourse);
  $("#roster-filter").addEventListener("input", filterRoster);
}

export function openCourses() {
  loadCourses();
}

async function loadCourses() {
  try {
    const courses = await api("/courses");
    fillTable($("#courses-table"), courses.map(courseRow));
  } catch (error) {
    say($("#roster-message"), error.message, "error");
  }
}

function courseRow(course) {
  const label = isAdmin() ? "Edit roster" : "Show roster";
  return el("tr", {},
    el("td", {}, course.code),
    el("td", {}, course.name),
    el("td", {}, String(course.students)),
    el("td", {},
      el("button", { type: "button", "aria-label": `${label} of ${course.code}`, onclick: () => openRoster(course) }, label)));
}

async function createCourse(event) {
  event.preventDefault();
  const body = { code: $("#course-code").value.trim(), name: $("#course-name").value.trim() };
  try {
    const created = await api("/courses", { method: "POST", json: body });
    say($("#course-message"), `Created ${created.code}. Choose its students below.`, "ok");
    $("#course-code").value = "";
    $("#course-name").value = "";
    await loadCourses();
    openRoster(created);
  } catch (error) {
    say($("#course-message"), error.message, "error");
  }
}

async function allActiveStudents() {
  const students = [];
  for (let offset = 0; ; offset += STUDENTS_PAGE) {
    const page = await api(`/students?active=true&limit=${STUDENTS_PAGE}&offset=${offset}`);
    students.push(...page.items);
    if (students.length >= page.total || page.items.length === 0) return students;
  }
}

async function openRoster(course) {
  chosen = course;
  $("#roster-title").textContent = `${course.code} (${course.name})`;
  say($("#roster-message"), "Loading…");
  show($("#roster-panel"));
  try {
    const [roster, students] = await Promise.all([
      api(`/courses/${course.id}/students`),
      isAdmin() ? allActiveStudents() : Promise.resolve([]),
    ]);
    const members = new Set(roster.students.map((s) => s.id));
    // A viewer sees the members only; an admin ticks among every active student.
    const shown = isAdmin() ? students : roster.students;
    $("#roster-students").replaceChildren(...shown.map((s) => rosterItem(s, members.has(s.id))));
    filterRoster(); // a filter typed while the list loaded still applies
    countRoster();
    say($("#roster-message"), "");
  } catch (error) {
    say($("#roster-message"), error.message, "error");
  }
}

function rosterItem(student, member) {
  const box = el("input", {
    type: "checkbox",
    id: `roster-${student.id}`,
    value: String(student.id),
    checked: member,
    disabled: !isAdmin(),
    onchange: countRoster,
  });
  return el("li", { dataset: { search: `${student.name} ${student.external_id}`.toLowerCase() } },
    box, el("label", { for: box.id }, el("bdi", { dir: "auto" }, student.name), ` (${student.external_id})`));
}

function countRoster() {
  $("#roster-count").textContent = String(document.querySelectorAll("#roster-students input:checked").length);
}

function filterRoster() {
  const needle = $("#roster-filter").value.trim().toLowerCase();
  for (const item of $("#roster-students").children) show(item, item.dataset.search.includes(needle));
}

async function saveRoster() {
  const ids = [...document.querySelectorAll("#roster-students input:checked")].map((box) => Number(box.value));
  try {
    const saved = await api(`/courses/${chosen.id}/students`, { method: "PUT", json: { student_ids: ids } });
    say($("#roster-message"), `Saved: ${saved.students.length} students on ${chosen.code}.`, "ok");
    loadCourses();
  } catch (error) {
    say($("#roster-message"), error.message, "error");
  }
}

async function deleteCourse() {
  if (!confirm(`Delete the course ${chosen.code}? Its sessions stay, searching the whole school.`)) return;
  try {
    await api(`/courses/${chosen.id}`, { method: "DELETE" });
    show($("#roster-panel"), false);
    say($("#course-message"), `Deleted ${chosen.code}.`, "ok");
    chosen = null;
    loadCourses();
  } catch (error) {
    say($("#roster-message"), error.message, "error");
  }
}
