// A session's live board (present, late, absent columns) built from its report, for a page to
// place where it was asked for; the caller refreshes it with each new report.
import { el, time } from "../dom.js";
import { studentLink } from "./names.js";

const COLUMNS = [
  ["present", "present"],
  ["late", "late"],
  ["absent", "absent"],
];

// The report's students per column: on time, late (after the grace), absent (never marked or
// marked absent); excused students are in none of them.
export function boardLists(report) {
  return {
    present: report.present.filter((row) => !row.late).map((row) => [row.student, row.first_checkin_at]),
    late: report.late.map((row) => [row.student, row.first_checkin_at]),
    absent: report.absent.map((student) => [student, null]),
  };
}

export function boardElement(session, headingId) {
  return el("section", { class: "board-inline", "aria-labelledby": headingId, dataset: { boardOf: session.id } },
    el("h3", { id: headingId, tabindex: "-1" }, "Live board: ", el("bdi", { dir: "auto" }, session.name)),
    el("div", { class: "board" },
      ...COLUMNS.map(([column, words]) => el("section", { class: column },
        el("h4", {}, el("span", { class: "count", dataset: { count: column } }, "0"), ` ${words}`),
        el("ul", { dataset: { list: column } })))));
}

export function fillBoard(board, report) {
  const lists = boardLists(report);
  for (const [column] of COLUMNS) {
    board.querySelector(`[data-count="${column}"]`).textContent = String(lists[column].length);
    board.querySelector(`[data-list="${column}"]`).replaceChildren(
      ...lists[column].map(([student, at]) => el("li", {}, studentLink(student), at ? ` · ${time(at)}` : "")));
  }
}
