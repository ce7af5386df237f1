// Students' names on every office page: `studentLink(student)` is the name as a link to the
// student page (#student/ID) for a key that may open it (admin), else the name alone; both
// isolate the name's direction. Every page that shows a student's name uses it.
import { bdi, el } from "../dom.js";
import { isAdmin } from "./state.js";

export const studentHref = (student) => `#student/${student.id}`;

export function studentLink(student) {
  if (!isAdmin()) return bdi(student.name);
  return el("a", { href: studentHref(student), class: "student-link" }, bdi(student.name));
}

// "Name (external id)", the name isolated, as text nodes and elements for el()'s children.
export function studentLabel(student) {
  return [studentLink(student), " ", el("span", { class: "hint" }, `(${student.external_id})`)];
}
