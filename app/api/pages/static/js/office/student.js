// The student page (#student/ID, admin): who they are, their courses, their enrolled photos
// (view, add, replace, delete, each with its verdict), every session held that counted for
// them with status, source and reason, a rate per course, and when they were last seen.
import { photoForm } from "../api.js";
import { $, bdi, el, fillTable, say, show, when } from "../dom.js";
import { api, office } from "./state.js";
import { scoreVerdict } from "./verdicts.js";

const STATUS_TONE = { present: "good", late: "warn", excused: "info", absent: "bad" };
const page = { student: null, replacing: null, urls: [] };

export function setUpStudentPage() {
  if (!$("#panel-student")) return; // not an admin: the page was taken out
  $("#student-photo-file").addEventListener("change", (event) => {
    const [photo] = event.target.files;
    event.target.value = "";
    if (photo) sendPhoto(photo);
  });
  $("#student-photo-add").addEventListener("click", () => choosePhoto(null));
}

export async function openStudentPage(studentId) {
  page.student = null;
  say($("#student-page-message"), "Loading…");
  try {
    const record = await api(`/students/${studentId}/record`);
    page.student = record.student;
    showRecord(record);
    say($("#student-page-message"), "");
    await loadPhotos();
  } catch (error) {
    say($("#student-page-message"), error.message, "error");
  }
  $("#student-page-name").focus();
}

function showRecord(record) {
  const { student } = record;
  $("#student-page-name").replaceChildren(bdi(student.name));
  const facts = [
    ["External id", student.external_id],
    ["Status", `${student.active ? "active" : "inactive"}, ${student.enrolled ? "enrolled" : "no photo yet"}`],
    ["Courses", record.courses.length ? record.courses.map((c) => `${c.code} · ${c.name}`).join(", ") : "none"],
    ["Last seen", record.last_seen_at ? when(record.last_seen_at) : "never checked in"],
  ];
  $("#student-page-facts").replaceChildren(...facts.flatMap(([t, v]) => [el("dt", {}, t), el("dd", {}, v)]));
  fillTable($("#student-rates"), record.rates.map(rateRow));
  fillTable($("#student-history"), record.history.map((entry) => historyRow(student, entry)));
  const shown = record.history.length;
  $("#student-history-count").textContent = shown < record.held
    ? `The latest ${shown} of ${record.held} sessions held.`
    : `${record.held} session${record.held === 1 ? "" : "s"} held.`;
}

function rateRow(rate) {
  const percent = rate.rate == null ? "—" : `${Math.round(rate.rate * 100)} %`;
  return el("tr", {},
    el("td", {}, rate.course ? `${rate.course.code} · ${rate.course.name}` : "No course"),
    el("td", {}, String(rate.sessions)),
    el("td", {}, String(rate.present)),
    el("td", {}, String(rate.late)),
    el("td", {}, String(rate.excused)),
    el("td", {}, String(rate.absent)),
    el("td", {}, percent));
}

const SOURCE_WORDS = { face: "check-in", manual: "by hand" };

function historyRow(student, entry) {
  return el("tr", {},
    el("td", {}, when(entry.session.starts_at)),
    el("td", {}, el("bdi", { dir: "auto" }, entry.session.name)),
    el("td", {}, el("span", { class: `tag ${STATUS_TONE[entry.status]}` }, entry.status)),
    el("td", {}, entry.source ? SOURCE_WORDS[entry.source] || entry.source : "not marked"),
    el("td", {}, entry.reason ? el("bdi", { dir: "auto" }, entry.reason) : "—"),
    el("td", {}, checkinCell(student, entry)));
}

// A check-in's time, and its thumbnail where the service keeps one (`has_thumbnail`).
function checkinCell(student, entry) {
  if (!entry.first_checkin_at) return "—";
  const cell = el("span", { class: "checkin" }, when(entry.first_checkin_at));
  if (entry.has_thumbnail === true) {
    const image = el("img", { class: "thumb", alt: `Check-in photo of ${student.name}` });
    cell.prepend(image);
    imageUrl(`/sessions/${entry.session.id}/attendance/${student.id}/thumbnail`)
      .then((url) => { image.src = url; })
      .catch(() => image.remove());
  }
  return cell;
}

// An image behind the key, as a blob: URL (an <img> cannot send the key itself).
async function imageUrl(path) {
  const response = await fetch(`/api/v1${path}`, { headers: { "X-API-Key": office.key } });
  if (!response.ok) throw new Error(`image ${response.status}`);
  const url = URL.createObjectURL(await response.blob());
  page.urls.push(url);
  return url;
}

async function loadPhotos() {
  const student = page.student;
  page.urls.forEach((url) => URL.revokeObjectURL(url));
  page.urls = [];
  const photos = await api(`/students/${student.id}/photos`);
  $("#student-photos").replaceChildren(...photos.map((photo, i) => photoCard(photo, i + 1)));
  show($("#student-photos-none"), photos.length === 0);
  const first = photos.find((p) => p.photo_kept);
  const portrait = $("#student-portrait");
  show(portrait, false);
  if (first) {
    imageUrl(`/students/${student.id}/photos/${first.id}/image`).then((url) => {
      portrait.src = url;
      portrait.alt = `Photo of ${student.name}`;
      show(portrait);
    });
  }
}

function photoCard(photo, number) {
  const verdict = scoreVerdict(photo.quality);
  const label = `photo ${number}`;
  const picture = photo.photo_kept
    ? el("img", { alt: `Enrolled ${label} of ${page.student.name}` })
    : el("div", { class: "no-photo" }, "Photo not kept: its face template is enrolled.");
  if (photo.photo_kept) {
    imageUrl(`/students/${page.student.id}/photos/${photo.id}/image`)
      .then((url) => { picture.src = url; })
      .catch(() => picture.replaceWith(el("div", { class: "no-photo" }, "The photo cannot be shown.")));
  }
  return el("li", { class: "photo-card", dataset: { photoId: photo.id } },
    picture,
    el("p", {}, el("strong", {}, `Photo ${number}: `), el("span", { class: `tag ${verdict.tone}` }, verdict.words)),
    el("p", { class: "hint" }, `Enrolled ${when(photo.created_at)}`),
    el("div", { class: "actions" },
      el("button", { type: "button", "aria-label": `Replace ${label}`, onclick: () => choosePhoto(photo) }, "Replace"),
      el("button", { type: "button", class: "danger", "aria-label": `Delete ${label}`, onclick: () => deletePhoto(photo, number) }, "Delete")));
}

function choosePhoto(photo) {
  page.replacing = photo;
  $("#student-photo-file").click();
}

async function sendPhoto(file) {
  const { student, replacing } = page;
  const message = $("#student-photo-message");
  say(message, replacing ? "Replacing the photo…" : "Adding the photo…");
  try {
    const path = replacing ? `/students/${student.id}/photos/${replacing.id}` : `/students/${student.id}/photo`;
    const answer = await api(path, { method: replacing ? "PUT" : "POST", form: photoForm(file) });
    const verdict = scoreVerdict(answer.quality.score).words;
    say(message, `${replacing ? "Replaced" : "Added"}: ${verdict}.`, "ok");
    await loadPhotos();
  } catch (error) {
    say(message, `${replacing ? "Not replaced" : "Not added"}: ${error.message}`, "error");
  }
}

async function deletePhoto(photo, number) {
  if (!confirm(`Delete photo ${number} of ${page.student.name}? Check-ins then use the others.`)) return;
  try {
    await api(`/students/${page.student.id}/photos/${photo.id}`, { method: "DELETE" });
    say($("#student-photo-message"), `Deleted photo ${number}.`, "ok");
    await loadPhotos();
  } catch (error) {
    say($("#student-photo-message"), error.message, "error");
  }
}
