// Changing or deleting a session (admin): this one alone, or, for a weekly one, this and the
// following sessions of its series.
import { $, say, show } from "../dom.js";
import { api } from "./state.js";

const editing = { session: null, series: null, done: null };

export function setUpSessionEdit() {
  $("#session-edit").addEventListener("submit", saveSession);
  $("#session-edit-delete").addEventListener("click", deleteSession);
  $("#session-edit-cancel").addEventListener("click", closeSessionEdit);
}

// A Date as a datetime-local input's value (local time, no zone).
function localInput(iso) {
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

// A series keeps wall-clock times in its own zone (09:00 in London stays 09:00 there across
// daylight saving), which may not be this browser's: an instant's day and time there.
const wallClocks = new Map();
function wallClock(instant, zone) {
  if (!wallClocks.has(zone)) {
    wallClocks.set(zone, new Intl.DateTimeFormat("en-CA", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }));
  }
  const parts = Object.fromEntries(wallClocks.get(zone).formatToParts(instant).map((part) => [part.type, part.value]));
  return { day: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

// The day before a YYYY-MM-DD day, as one.
function dayBefore(day) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - 1);
  return date.toISOString().slice(0, 10);
}

// The session's series (its zone), asked once per edit.
async function seriesOf(session) {
  if (!editing.series || editing.series.id !== session.series_id) {
    editing.series = await api(`/timetable/series/${session.series_id}`);
  }
  return editing.series;
}

// Says in which zone the series keeps its times, when it is not this browser's.
async function showSeriesZone(session) {
  const note = $("#session-edit-zone");
  show(note, false);
  try {
    const { timezone } = await seriesOf(session);
    if (editing.session !== session || timezone === browserZone()) return;
    const there = wallClock(new Date(session.starts_at), timezone).time;
    note.textContent = `The times here are this computer's (${browserZone()}). The series keeps ${timezone} times: this session begins at ${there} there, and the following ones keep the new time there.`;
    show(note);
  } catch (error) {
    say($("#session-edit-message"), error.message, "error");
  }
}

export function openSessionEdit(session, done) {
  editing.session = session;
  editing.series = null;
  editing.done = done;
  $("#session-edit-title").textContent = session.name;
  $("#edit-session-name").value = session.name;
  $("#edit-session-start").value = localInput(session.starts_at);
  $("#edit-session-end").value = localInput(session.ends_at);
  $("#edit-session-grace").value = session.grace_minutes ?? "";
  $("#edit-scope-one").checked = true;
  show($("#session-edit-scope"), session.series_id !== null);
  say($("#session-edit-message"), "");
  show($("#session-edit-panel"));
  $("#edit-session-name").focus();
  if (session.series_id !== null) showSeriesZone(session);
  else show($("#session-edit-zone"), false);
}

function closeSessionEdit() {
  editing.session = null;
  show($("#session-edit-panel"), false);
}

const following = () => editing.session.series_id !== null && $("#edit-scope-following").checked;

async function saveSession(event) {
  event.preventDefault();
  const session = editing.session;
  const grace = $("#edit-session-grace").value === "" ? null : Number($("#edit-session-grace").value);
  const start = $("#edit-session-start").value;
  const end = $("#edit-session-end").value;
  try {
    if (following()) {
      // The series keeps wall-clock times in its zone: the times typed here (this browser's)
      // as they read there, from this session's day there on.
      const { timezone } = await seriesOf(session);
      const from = wallClock(new Date(session.starts_at), timezone).day;
      // Only the times of day change for the series: a new time on another day there (past
      // midnight in its zone) would move every following session to the wrong day.
      if (wallClock(new Date(start), timezone).day !== from || wallClock(new Date(end), timezone).day !== from) {
        throw new Error(`The following sessions keep their days: choose times on this session's day in ${timezone}, or change the series in the Timetable tab.`);
      }
      const body = {
        name: $("#edit-session-name").value.trim(),
        starts_time: wallClock(new Date(start), timezone).time,
        ends_time: wallClock(new Date(end), timezone).time,
        grace_minutes: grace,
      };
      const change = await api(`/timetable/series/${session.series_id}?from_date=${from}`, { method: "PATCH", json: body });
      await finish(`Changed ${change.sessions_updated} sessions of the series from this one on.`);
    } else {
      const body = {
        name: $("#edit-session-name").value.trim(),
        starts_at: new Date(start).toISOString(),
        ends_at: new Date(end).toISOString(),
        grace_minutes: grace,
      };
      await api(`/sessions/${session.id}`, { method: "PATCH", json: body });
      await finish(`Saved ${body.name}.`);
    }
  } catch (error) {
    say($("#session-edit-message"), error.message, "error");
  }
}

async function deleteSession() {
  const session = editing.session;
  try {
    if (following()) {
      // The series ends the day before this one: its sessions from here on go (those that
      // hold marks stay); from its first day on, the whole series goes.
      // (Days in the series' zone, as it counts them.)
      const series = await seriesOf(session);
      const from = wallClock(new Date(session.starts_at), series.timezone).day;
      const before = dayBefore(from);
      const change = before < series.first_date
        ? await api(`/timetable/series/${session.series_id}`, { method: "DELETE" })
        : await api(`/timetable/series/${session.series_id}?from_date=${from}`, { method: "PATCH", json: { last_date: before } });
      const kept = change.sessions_kept ? ` ${change.sessions_kept} kept: they hold marks.` : "";
      await finish(`Deleted ${change.sessions_deleted} sessions of the series.${kept}`);
    } else {
      await api(`/sessions/${session.id}`, { method: "DELETE" });
      await finish(`Deleted ${session.name}.`);
    }
  } catch (error) {
    const message = error.code === "session_has_attendance"
      ? `${session.name} holds ${error.details.marks} attendance marks, so it is kept. Correct or remove them in the register first.`
      : error.message;
    say($("#session-edit-message"), message, "error");
  }
}

async function finish(message) {
  const done = editing.done;
  closeSessionEdit();
  say($("#sessions-message"), message, "ok");
  await done();
}
