// Enrolling a student's photo, uploaded or from the webcam, with the API's quality answer:
// the face box drawn on the photo, its size and sharpness, and any warning or refusal.
import { photoForm } from "../api.js";
import { $, el, say, show } from "../dom.js";
import { api } from "./state.js";
import { poseVerdict, scoreVerdict, sharpnessVerdict, sizeVerdict } from "./verdicts.js";

const enrolling = { student: null, done: () => {}, stream: null };

export function openEnrollment(student, done) {
  enrolling.student = student;
  enrolling.done = done;
  $("#enroll-title").textContent = `${student.name} (${student.external_id})`;
  say($("#enroll-message"), "");
  show($("#enroll-result"), false);
  show($("#enroll-panel"));
  $("#enroll-file").focus();
}

export function setUpEnrollment() {
  $("#enroll-file").addEventListener("change", (event) => {
    const [photo] = event.target.files;
    if (photo) enroll(photo);
  });
  $("#enroll-webcam").addEventListener("click", startWebcam);
  $("#enroll-snapshot").addEventListener("click", snapshot);
  $("#enroll-close").addEventListener("click", close);
}

function close() {
  stopWebcam();
  $("#enroll-file").value = "";
  show($("#enroll-panel"), false);
}

async function startWebcam() {
  try {
    enrolling.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" } });
    $("#enroll-video").srcObject = enrolling.stream;
    show($("#enroll-webcam-box"));
  } catch (error) {
    say($("#enroll-message"), `The webcam is not available (${error.name}): upload a photo instead.`, "error");
  }
}

function stopWebcam() {
  if (enrolling.stream) enrolling.stream.getTracks().forEach((track) => track.stop());
  enrolling.stream = null;
  show($("#enroll-webcam-box"), false);
}

function snapshot() {
  const video = $("#enroll-video");
  const canvas = el("canvas", { width: video.videoWidth, height: video.videoHeight });
  canvas.getContext("2d").drawImage(video, 0, 0);
  stopWebcam();
  canvas.toBlob((blob) => enroll(new File([blob], "webcam.jpg", { type: "image/jpeg" })), "image/jpeg", 0.92);
}

async function enroll(photo) {
  const { student } = enrolling;
  say($("#enroll-message"), "Finding the face…");
  show($("#enroll-result"), false);
  try {
    const answer = await api(`/students/${student.id}/photo`, { method: "POST", form: photoForm(photo) });
    const warned = answer.warnings.length > 0;
    say(
      $("#enroll-message"),
      warned ? `Enrolled, with a warning: ${answer.warnings.map(enrolledWarning).join(" ")}` : `Enrolled ${student.name}.`,
      warned ? "error" : "ok",
    );
    await drawPhoto(photo, answer.box);
    $("#enroll-facts").replaceChildren(...facts(answer));
    show($("#enroll-result"));
    enrolling.done();
  } catch (error) {
    // In words (state.api): "no face", "too small", "too blurred", "several faces"...
    say($("#enroll-message"), `Not enrolled: ${error.message}`, "error");
    await drawPhoto(photo, null);
    $("#enroll-facts").replaceChildren();
    show($("#enroll-result"));
  }
}

function enrolledWarning(warning) {
  if (warning.code === "duplicate_enrollment" && warning.student) {
    return `this face looks like ${warning.student.name} (${warning.student.external_id}), already enrolled.`;
  }
  return warningWords(warning);
}

function facts(answer) {
  const q = answer.quality;
  const rows = [
    ["Verdict", scoreVerdict(q.score).words],
    ["Face size", sizeVerdict(q.face_size)],
    ["Sharpness", sharpnessVerdict(q.sharpness)],
    ["Head", poseVerdict(q.yaw)],
    ["Faces in photo", String(answer.faces_in_photo)],
  ];
  for (const warning of answer.warnings) {
    const who = warning.student ? `${warning.student.name} (${warning.student.external_id})` : "";
    rows.push(["Warning", who ? `Matches student ${who} already` : warningWords(warning)]);
  }
  return rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]);
}

function warningWords(warning) {
  if (warning.code === "background_faces_ignored") {
    return "Other faces in the background were left out: check that the photo took the student's face.";
  }
  return warning.message;
}

// The photo, scaled to the canvas, with the face box the API found (in photo pixels).
async function drawPhoto(photo, box) {
  const bitmap = await createImageBitmap(photo);
  const canvas = $("#enroll-canvas");
  const scale = Math.min(1, 720 / Math.max(bitmap.width, bitmap.height));
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  if (!box) return;
  const [x1, y1, x2, y2] = box.map((v) => v * scale);
  context.lineWidth = Math.max(3, canvas.width / 150);
  context.strokeStyle = "#1fd65f";
  context.strokeRect(x1, y1, x2 - x1, y2 - y1);
}
