// Students (admin only): search, paging, add, edit, deactivate, delete, and enroll.
import { $, el, fillTable, say, show } from "../dom.js";
import { openEnrollment, setUpEnrollment } from "./enroll.js";
import { studentLink } from "./names.js";
import { api } from "./state.js";

const PAGE_SIZE = 20; // a screenful on a laptop; the API allows up to 500
const page = { offset: 0, total: 0 };
let editing = null;

export function setUpStudents() {
  if (!$("#panel-students")) return; // not an admin: the panel was taken out
  $("#student-search").addEventListener("submit", (event) => {
    event.preventDefault();
    page.offset = 0;
    loadStudents();
  });
  $("#students-first").addEventListener("click", () => goTo(0));
  $("#students-prev").addEventListener("click", () => goTo(page.offset - PAGE_SIZE));
  $("#students-next").addEventListener("click", () => goTo(page.offset + PAGE_SIZE));
  $("#students-last").addEventListener("click", () => goTo(lastOffset()));
  $("#students-page").addEventListener("change", (event) => goTo(Number(event.target.value) * PAGE_SIZE));
  $("#student-add").addEventListener("submit", addStudent);
  $("#student-edit").addEventListener("submit", saveEdit);
  $("#edit-cancel").addEventListener("click", () => show($("#edit-panel"), false));
  setUpEnrollment();
}

export function openStudents() {
  loadStudents();
}

const lastOffset = () => Math.max(0, Math.ceil(page.total / PAGE_SIZE) - 1) * PAGE_SIZE;

function goTo(offset) {
  page.offset = Math.min(Math.max(0, offset), lastOffset());
  loadStudents();
}

// First, previous, next, last, and a page picker: any of 27 pages in two clicks.
function showPager(answer) {
  const last = Math.min(answer.offset + answer.items.length, answer.total);
  $("#students-range").textContent = answer.total
    ? `${answer.offset + 1}–${last} of ${answer.total}`
    : "No students match.";
  const pages = Math.max(1, Math.ceil(answer.total / PAGE_SIZE));
  const current = Math.floor(answer.offset / PAGE_SIZE);
  $("#students-page").replaceChildren(...Array.from({ length: pages }, (_, i) =>
    el("option", { value: String(i), selected: i === current }, `${i + 1} of ${pages}`)));
  $("#students-first").disabled = $("#students-prev").disabled = answer.offset === 0;
  $("#students-next").disabled = $("#students-last").disabled = last >= answer.total;
}

// `notice` is what the list says once reloaded (what was just done); a reload clears the rest.
export async function loadStudents(notice = "") {
  const query = new URLSearchParams({ limit: PAGE_SIZE, offset: page.offset });
  const q = $("#student-q").value.trim();
  const active = $("#student-active").value;
  if (q) query.set("q", q);
  if (active) query.set("active", active);
  try {
    const answer = await api(`/students?${query}`);
    page.total = answer.total;
    fillTable($("#students-table"), answer.items.map(studentRow));
    showPager(answer);
    say($("#students-message"), notice, "ok");
  } catch (error) {
    say($("#students-message"), error.message, "error");
  }
}

function studentRow(student) {
  const label = (verb) => `${verb} ${student.name}`;
  return el("tr", { dataset: { studentId: student.id } },
    el("td", {}, studentLink(student)),
    el("td", {}, student.external_id),
    el("td", {}, el("span", {},
      el("span", { class: `tag ${student.active ? "good" : "bad"}` }, student.active ? "active" : "inactive"),
      " ",
      el("span", { class: `tag ${student.enrolled ? "info" : "warn"}` }, student.enrolled ? "enrolled" : "no photo"))),
    el("td", {}, el("div", { class: "actions" },
      el("button", { type: "button", "aria-label": label("Enroll photo for"), onclick: () => openEnrollment(student, loadStudents) }, "Enroll photo"),
      el("button", { type: "button", "aria-label": label("Edit"), onclick: () => startEdit(student) }, "Edit"),
      el("button", { type: "button", "aria-label": label(student.active ? "Deactivate" : "Activate"), onclick: () => setActive(student, !student.active) },
        student.active ? "Deactivate" : "Activate"),
      el("button", { type: "button", class: "danger", "aria-label": label("Delete"), onclick: () => deleteStudent(student) }, "Delete"))),
  );
}

async function addStudent(event) {
  event.preventDefault();
  const body = { external_id: $("#add-external-id").value.trim(), name: $("#add-name").value.trim() };
  try {
    const student = await api("/students", { method: "POST", json: body });
    say($("#add-message"), `Added ${student.name}. Now enroll a photo.`, "ok");
    event.target.reset();
    await loadStudents();
    openEnrollment(student, loadStudents);
  } catch (error) {
    say($("#add-message"), error.message, "error");
  }
}

function startEdit(student) {
  editing = student;
  $("#edit-title").textContent = student.name;
  $("#edit-external-id").value = student.external_id;
  $("#edit-name").value = student.name;
  say($("#edit-message"), "");
  show($("#edit-panel"));
  $("#edit-name").focus();
}

async function saveEdit(event) {
  event.preventDefault();
  const body = { external_id: $("#edit-external-id").value.trim(), name: $("#edit-name").value.trim() };
  try {
    await api(`/students/${editing.id}`, { method: "PATCH", json: body });
    show($("#edit-panel"), false);
    loadStudents(`Saved ${body.name}.`);
  } catch (error) {
    say($("#edit-message"), error.message, "error");
  }
}

async function setActive(student, active) {
  try {
    await api(`/students/${student.id}`, { method: "PATCH", json: { active } });
    loadStudents(`${student.name} is now ${active ? "active" : "inactive"}.`);
  } catch (error) {
    say($("#students-message"), error.message, "error");
  }
}

async function deleteStudent(student) {
  const question = `Delete ${student.name} (${student.external_id}) with their photos and attendance? This cannot be undone.`;
  if (!confirm(question)) return;
  try {
    await api(`/students/${student.id}`, { method: "DELETE" });
    loadStudents(`Deleted ${student.name}.`);
  } catch (error) {
    say($("#students-message"), error.message, "error");
  }
}
