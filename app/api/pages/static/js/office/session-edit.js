// Changing or deleting a session (admin): this one alone, or, for a weekly one, this and the
// following sessions of its series.
import { $, say, show } from "../dom.js";
import { api } from "./state.js";

const editing = { session: null, done: null };

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

export function openSessionEdit(session, done) {
  editing.session = session;
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
}

function closeSessionEdit() {
  editing.session = null;
  show($("#session-edit-panel"), false);
}

const following = () => editing.session.series_id !== null && $("#edit-scope-following").checked;
const dayOf = (local) => local.slice(0, 10);

async function saveSession(event) {
  event.preventDefault();
  const session = editing.session;
  const grace = $("#edit-session-grace").value === "" ? null : Number($("#edit-session-grace").value);
  const start = $("#edit-session-start").value;
  const end = $("#edit-session-end").value;
  try {
    if (following()) {
      // The series keeps wall-clock times: these, from this session's day on.
      const body = { name: $("#edit-session-name").value.trim(), starts_time: start.slice(11), ends_time: end.slice(11), grace_minutes: grace };
      const change = await api(`/timetable/series/${session.series_id}?from_date=${dayOf(localInput(session.starts_at))}`, { method: "PATCH", json: body });
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
      const day = new Date(dayOf(localInput(session.starts_at)) + "T12:00:00");
      day.setDate(day.getDate() - 1);
      const before = day.toISOString().slice(0, 10);
      const series = await api(`/timetable/series/${session.series_id}`);
      const change = before < series.first_date
        ? await api(`/timetable/series/${session.series_id}`, { method: "DELETE" })
        : await api(`/timetable/series/${session.series_id}?from_date=${dayOf(localInput(session.starts_at))}`, { method: "PATCH", json: { last_date: before } });
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
