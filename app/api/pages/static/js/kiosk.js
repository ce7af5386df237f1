// The kiosk at the door: hands-free check-in from the camera, a file picker without one.
import { ApiError, call, photoForm, roleOf, storedKey } from "./api.js";
import { $, el, show } from "./dom.js";
import { describe } from "./kiosk-results.js";

// One capture a second at most: fast enough that a child waits no more than a second or two,
// slow enough that a 2-core server keeps up with a few kiosks. One request is ever in flight.
const CAPTURE_INTERVAL_MS = 1000;
// A result stays on screen this long so it can be read from a metre away, then the next person.
const RESULT_HOLD_MS = 4000;
// "Steady": the mean change of a 32x24 grey thumbnail between two captures, on 0-255. Set by
// judgement, not measured on many cameras: well above a still scene's sensor noise (a few
// levels), well below a person stepping in or out of the frame. The server still refuses
// frames with no face, so a wrong guess costs a request, not a false check-in.
const STEADY_MAX_CHANGE = 8;
// A liveness burst: when each frame is taken, in ms after the prompt shows. The server follows
// the nose through every frame (models/liveness_motion.py): the head must be seen moving, not
// jump between two poses as a swapped or mirrored photo does, so the frames are spread evenly
// over the turn: the first before a person can react (300 ms or more), then every 200 ms. A
// turn of 0.4-1 s then spans two frame intervals or more: simulated with the landmarks' noise
// assumed for a kiosk's face (0.01 of u), 8 frames 200 ms apart refuse 5% of such turns as
// jumps, 5 frames 400 ms apart 42% (bench/liveness.py prints both). 8 is
// ROLLCALL_MAX_BURST_FRAMES's default. The capture times go with the frames (`frame_ms`).
const BURST_AT_MS = [0, 200, 400, 600, 800, 1000, 1200, 1400];
// "Look again": a face too near the threshold (`retry`) is asked again at once with a short
// burst of the same scene. The server fuses each person's faces across the frames
// (models/burst.py), which turns most borderline single frames into a confident answer
// (bench/rosters.py: 47 of 53 such frames answered right as a burst, none wrong). Three frames,
// 150 ms apart: within ROLLCALL_MAX_BURST_FRAMES (8), and under half a second for the person.
const RETRY_BURST_AT_MS = [0, 150, 300];
const PROMPTS = {
  turn_left: "Turn your head to the left",
  turn_right: "Turn your head to the right",
};

const key = storedKey("rollcall.kiosk.key");
const sessionChoice = storedKey("rollcall.kiosk.session");

const resultBox = $("#kiosk-result");
let livenessRequired = false; // the server's ROLLCALL_LIVENESS=challenge, from /me

function showResult(status, cards) {
  resultBox.dataset.status = status;
  resultBox.replaceChildren(
    ...cards.map((c) =>
      el("div", { class: "result-card", dataset: { tone: c.tone } },
        el("p", { class: "result-title" }, c.title),
        el("p", { class: "result-detail" }, c.detail)),
    ),
  );
}

function showIdle(detail = "Stand still in front of the screen.") {
  showResult("idle", [{ tone: "idle", title: "Look at the camera", detail }]);
}

// What a check-in asks of the capture loop next.
const HOLD = "hold"; // a result worth holding on screen was shown
const NEXT = "next"; // nothing to hold: the next frame
const LOOK_AGAIN = "look-again"; // every face answered retry: ask again with a burst

// Sends one photo, or a burst (a list of photos) of one scene, or a liveness burst with its
// challenge's nonce. A camera frame with no face is the normal empty doorway, shown as "look at
// the camera"; a chosen photo says so.
async function checkIn(photos, fromCamera, nonce = null, frameMs = null) {
  try {
    const form = photoForm(photos, { session_id: sessionChoice.get(), nonce });
    for (const at of frameMs || []) form.append("frame_ms", String(Math.round(at)));
    const answer = await call(key.get(), "/checkins", { method: "POST", form });
    $("#kiosk-session-label").textContent = answer.session
      ? answer.session.name
      : answer.sessions_searched > 1
        ? "the classes in progress"
        : `the day (${answer.day})`;
    const first = answer.faces[0];
    showResult(first ? first.decision : "idle", answer.faces.map(describe));
    // "Look at the camera" (retry) asks again at once; any other answer is held.
    return answer.faces.every((face) => face.decision === "retry") ? LOOK_AGAIN : HOLD;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.code === "no_face" && fromCamera) {
      showIdle();
      return NEXT;
    }
    if (error.status === 401 || error.status === 403) {
      signOut(`This kiosk's key no longer works: ${error.message}`);
      return NEXT;
    }
    if (error.code === "challenge_required" && fromCamera) {
      livenessRequired = true; // switched on since this kiosk started: challenge from now on
      return NEXT;
    }
    showResult(error.code, [{ tone: "bad", title: "Could not check in", detail: error.message }]);
    return HOLD;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function grey(video, canvas) {
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(video, 0, 0, canvas.width, canvas.height);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const values = new Float32Array(canvas.width * canvas.height);
  for (let i = 0; i < values.length; i++) {
    values[i] = 0.299 * pixels[4 * i] + 0.587 * pixels[4 * i + 1] + 0.114 * pixels[4 * i + 2];
  }
  return values;
}

function meanChange(a, b) {
  let total = 0;
  for (let i = 0; i < a.length; i++) total += Math.abs(a[i] - b[i]);
  return total / a.length;
}

function frameAsJpeg(video) {
  const canvas = el("canvas", { width: video.videoWidth, height: video.videoHeight });
  canvas.getContext("2d").drawImage(video, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
}

// Ask for a challenge, show its prompt in large type, film the burst and send it.
async function challengeAndCheckIn(video) {
  let challenge;
  try {
    challenge = await call(key.get(), "/checkins/challenge", { method: "POST" });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showResult(error.code, [{ tone: "bad", title: "Could not check in", detail: error.message }]);
    return HOLD;
  }
  const prompt = PROMPTS[challenge.action] || challenge.action.replaceAll("_", " ");
  showResult("challenge", [{ tone: "idle", title: prompt, detail: "slowly, and hold it there" }]);
  const times = [];
  const frames = await film(video, BURST_AT_MS, times);
  showResult("checking", [{ tone: "idle", title: "Checking…", detail: "" }]);
  const next = await checkIn(frames, true, challenge.nonce, times);
  return next === LOOK_AGAIN ? NEXT : next; // a new challenge, not a bare burst, looks again
}

// Frames taken at these times (ms) from now; `times`, when given, gets when each was taken.
async function film(video, atMs, times = null) {
  const start = performance.now();
  const frames = [];
  for (const at of atMs) {
    await sleep(Math.max(0, start + at - performance.now()));
    if (times) times.push(performance.now() - start);
    frames.push(await frameAsJpeg(video));
  }
  return frames;
}

let running = false;

async function captureLoop(video) {
  const thumbnail = el("canvas", { width: 32, height: 24 });
  let previous = null;
  running = true;
  while (running) {
    await sleep(CAPTURE_INTERVAL_MS);
    if (!running || video.readyState < 2) continue;
    const current = grey(video, thumbnail);
    const steady = previous !== null && meanChange(current, previous) <= STEADY_MAX_CHANGE;
    previous = current;
    if (!steady) continue;
    // Awaited: one request in flight.
    let next = livenessRequired
      ? await challengeAndCheckIn(video)
      : await checkIn(await frameAsJpeg(video), true);
    if (next === LOOK_AGAIN) next = await checkIn(await film(video, RETRY_BURST_AT_MS), true);
    if (next === HOLD) {
      await sleep(RESULT_HOLD_MS);
      showIdle();
      previous = null;
    }
  }
}

// A browser gives the camera only to a secure page: one served over HTTPS, or from this very
// computer (localhost). A tablet opening http://school.lan:8000 gets no camera at all, and
// should say why and what to do (docs/operations.md: HTTPS), not that the browser has none.
const INSECURE_PAGE =
  "The camera needs HTTPS (or this computer's own address): open this page as https://… " +
  "(see docs/operations.md, HTTPS).";

function cameraProblem(error) {
  if (!window.isSecureContext) return INSECURE_PAGE;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return "This browser gives no camera to this page.";
  }
  if (error.name === "NotAllowedError") return "The camera was refused.";
  if (error.name === "NotFoundError" || error.name === "OverconstrainedError") {
    return "No camera was found.";
  }
  return `The camera could not start (${error.message || error.name}).`;
}

async function startCamera() {
  const video = $("#kiosk-camera");
  try {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error();
    video.srcObject = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
    await video.play();
    $("#kiosk-camera-state").textContent = "";
    captureLoop(video);
  } catch (error) {
    show($(".camera-frame"), false);
    $("#kiosk-station").classList.add("no-camera");
    $("#kiosk-camera-problem").textContent =
      `${cameraProblem(error)} Check in with a photo instead: take one or choose a file.`;
    show($("#kiosk-fallback"));
    $("#kiosk-pick").focus();
    showResult("idle", [{ tone: "idle", title: "Check in with a photo", detail: "Use the button below." }]);
  }
}

async function startStation() {
  try {
    livenessRequired = (await call(key.get(), "/me")).liveness === "challenge";
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    signOut(`This kiosk's key no longer works: ${error.message}`);
    return;
  }
  show($("#kiosk-signin"), false);
  show($("#kiosk-station"));
  const session = sessionChoice.get();
  $("#kiosk-session-label").textContent = session ? `session ${session}` : "today";
  startCamera();
}

function signOut(message = "") {
  running = false;
  key.clear();
  const video = $("#kiosk-camera");
  if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
  show($("#kiosk-station"), false);
  show($("#kiosk-signin"));
  $("#kiosk-signin-error").textContent = message;
}

$("#kiosk-signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const candidate = $("#kiosk-key").value.trim();
  const error = $("#kiosk-signin-error");
  try {
    const role = await roleOf(candidate);
    if (role === "viewer") {
      error.textContent = "A viewer key cannot check people in: use a kiosk key.";
      return;
    }
    key.set(candidate);
    const session = $("#kiosk-session").value.trim();
    session ? sessionChoice.set(session) : sessionChoice.clear();
    startStation();
  } catch (problem) {
    error.textContent = problem.message;
  }
});

$("#kiosk-file").addEventListener("change", async (event) => {
  const [photo] = event.target.files;
  event.target.value = ""; // the same file may be chosen again
  if (!photo) return;
  showResult("checking", [{ tone: "idle", title: "Checking…", detail: "" }]);
  await checkIn(photo, false);
});

$("#kiosk-pick").addEventListener("click", () => $("#kiosk-file").click()); // a real, focusable button
$("#kiosk-signout").addEventListener("click", () => signOut());

// A link from the office (/kiosk?session=ID) picks the session.
const linked = new URLSearchParams(location.search).get("session");
if (linked) {
  sessionChoice.set(linked);
  $("#kiosk-session").value = linked;
}
if (key.get()) startStation();
else show($("#kiosk-signin"));
