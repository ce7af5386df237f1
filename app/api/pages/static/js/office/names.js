// A student's name as every office page shows it: isolated, so that a right-to-left name
// keeps the text around it in order.
import { el } from "../dom.js";

export function studentName(student) {
  return el("bdi", {}, student.name);
}
