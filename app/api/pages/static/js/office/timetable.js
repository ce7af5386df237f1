// The timetable (admin): a weekly class for a term, its holidays skipped, and the series made.
import { $, el, fillTable, say } from "../dom.js";
import { api } from "./state.js";

const WEEKDAY_WORDS = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };

export function setUpTimetable(afterChange) {
  $("#series-create").addEventListener("submit", (event) => createSeries(event, afterChange));
}

export async function openTimetable() {
  try {
    const [courses, series] = await Promise.all([api("/courses"), api("/timetable/series")]);
    const picker = $("#series-course");
    const chosen = picker.value;
    picker.replaceChildren(
      el("option", { value: "" }, "No course: everyone"),
      ...courses.map((c) => el("option", { value: String(c.id) }, `${c.code} · ${c.name}`)),
    );
    picker.value = chosen;
    fillTable($("#series-table"), series.map(seriesRow));
  } catch (error) {
    say($("#series-message"), error.message, "error");
  }
}

function seriesRow(series) {
  return el("tr", {},
    el("td", {}, series.name),
    el("td", {}, series.weekdays.map((d) => WEEKDAY_WORDS[d]).join(", "), ` ${series.starts_time.slice(0, 5)}–${series.ends_time.slice(0, 5)}`),
    el("td", {}, `${series.first_date} to ${series.last_date}`),
    el("td", {}, series.skip_dates.length ? series.skip_dates.join(", ") : "none"),
    el("td", {}, String(series.sessions)));
}

// Holidays as people type them: dates separated by commas, spaces or new lines.
function skipDates() {
  return $("#series-skip").value.split(/[\s,;]+/).filter(Boolean);
}

async function createSeries(event, afterChange) {
  event.preventDefault();
  const weekdays = [...document.querySelectorAll("#series-weekdays input:checked")].map((box) => box.value);
  if (!weekdays.length) {
    say($("#series-message"), "Tick at least one weekday.", "error");
    return;
  }
  const grace = $("#series-grace").value;
  const body = {
    name: $("#series-name").value.trim(),
    course_id: $("#series-course").value ? Number($("#series-course").value) : null,
    weekdays,
    starts_time: $("#series-start").value,
    ends_time: $("#series-end").value,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    grace_minutes: grace === "" ? null : Number(grace),
    first_date: $("#series-first").value,
    last_date: $("#series-last").value,
    skip_dates: skipDates(),
  };
  try {
    const change = await api("/timetable/series", { method: "POST", json: body });
    const skipped = body.skip_dates.length ? `, ${body.skip_dates.length} holidays skipped` : "";
    say($("#series-message"), `Made ${change.series.name}: ${change.sessions_created} sessions${skipped}.`, "ok");
    await openTimetable();
    await afterChange();
  } catch (error) {
    say($("#series-message"), error.message, "error");
  }
}
