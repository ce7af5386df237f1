// The kiosk at the door: paired once with a code from the office, then hands-free check-in
// from the camera (a file picker without one). Leaving its screen needs the staff PIN.
import { ApiError, call, photoForm, roleOf, storedKey } from "./api.js";
import { $, el, show } from "./dom.js";
import { isConnected, onLinkChange, reportLink, watchLink } from "./kiosk-link.js";
import { describe, SYMBOLS } from "./kiosk-results.js";
import { film, sleep } from "./kiosk-scene.js";
import { beep, setSound, soundOn } from "./kiosk-sound.js";
import { watchDoorway } from "./kiosk-watch.js";

// A result stays on screen this long so it can be read from 2 m away, then the next person.
const RESULT_HOLD_MS = 3000;
// A liveness burst: when each frame is taken, in ms after the prompt shows. The server follows
// the nose through every frame (models/liveness_motion.py): the head must be seen moving, not
// jump between two poses as a swapped or mirrored photo does, so the frames are spread evenly
// over the turn: the first before a person can react (300 ms or more), then every 200 ms. A
// turn of 0.4-1 s then spans two frame intervals or more: simulated with the landmarks' noise
// assumed for a kiosk's face (0.01 of u), 8 frames 200 ms apart refuse 5% of such turns as
// jumps, 5 frames 400 ms apart 42% (bench/liveness.py prints both). 8 is
// ROLLCALL_MAX_BURST_FRAMES's default. The capture times go with the frames (`frame_ms`).
const BURST_AT_MS = [0, 200, 400, 600, 800, 1000, 1200, 1400];
const PROMPTS = {
  turn_left: "Turn your head to the left",
  turn_right: "Turn your head to the right",
  look_up: "Look up",
  look_down: "Look down",
};
const OFFLINE = { tone: "offline", title: "Not connected — tell staff", detail: "Trying again…" };

const key = storedKey("rollcall.kiosk.key");
const sessionChoice = storedKey("rollcall.kiosk.session");
const resultBox = $("#kiosk-result");
let livenessRequired = false; // the server's ROLLCALL_LIVENESS=challenge, from /me
let running = false;

function showResult(status, cards) {
  resultBox.dataset.status = status;
  resultBox.replaceChildren(
    ...cards.map((c) =>
      el("div", { class: "result-card", dataset: { tone: c.tone } },
        el("p", { class: "result-symbol", "aria-hidden": "true" }, c.symbol ?? SYMBOLS[c.tone] ?? ""),
        el("p", { class: "result-title", dir: "auto" }, c.title), // a name in its own direction
        el("p", { class: "result-detail" }, c.detail)),
    ),
  );
}

function showIdle(detail = "Stand still in front of the screen.") {
  if (!isConnected()) return showResult("offline", [OFFLINE]);
  showResult("idle", [{ tone: "idle", title: "Look at the camera", detail }]);
}

function showRefusal(error) {
  showResult(error.code, [{ tone: "bad", title: "Could not check in", detail: error.message }]);
}

// Sends one photo, or a burst (a list of photos) of one scene, or a liveness burst with its
// challenge's nonce; says what happened: "empty", "answered", "retry" or "offline".
async function checkIn(photos, fromCamera, nonce = null, frameMs = null) {
  try {
    const form = photoForm(photos, { session_id: sessionChoice.get(), nonce });
    for (const at of frameMs || []) form.append("frame_ms", String(Math.round(at)));
    const answer = await call(key.get(), "/checkins", { method: "POST", form });
    reportLink(true);
    $("#kiosk-session-label").textContent = answer.session
      ? answer.session.name
      : answer.sessions_searched > 1
        ? "the classes in progress"
        : `the day (${answer.day})`;
    const shown = answer.faces.map(describe);
    showResult(answer.faces[0] ? answer.faces[0].decision : "idle", shown);
    if (answer.faces.every((face) => face.decision === "retry")) return "retry";
    beep(shown[0] && shown[0].tone);
    return "answered";
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 0) {
      reportLink(false);
      return "offline";
    }
    reportLink(true);
    if (error.code === "no_face" && fromCamera) {
      showIdle();
      return "empty";
    }
    if (error.status === 401 || error.status === 403) {
      signOut(`This kiosk's key no longer works: ${error.message}`);
      return "offline";
    }
    if (error.code === "challenge_required" && fromCamera) {
      livenessRequired = true; // a face is there, and the server wants a challenge for it
      return challengeAndCheckIn($("#kiosk-camera"));
    }
    showRefusal(error);
    beep("bad");
    return "answered";
  }
}

// Ask for a challenge, show its prompt in large type, film the burst and send it. Only ever
// asked once the server has seen a face (challenge_required): nobody is prompted in an empty
// doorway.
async function challengeAndCheckIn(video) {
  let challenge;
  try {
    challenge = await call(key.get(), "/checkins/challenge", { method: "POST" });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 0) return reportLink(false), "offline";
    showRefusal(error);
    return "answered";
  }
  // Each action prompted and filmed in turn (a server before sequences sends only `action`);
  // every frame's time counted from the first action's prompt.
  const actions = challenge.actions || [challenge.action];
  const frames = [];
  const times = [];
  const origin = performance.now();
  for (const [index, action] of actions.entries()) {
    const prompt = PROMPTS[action] || action.replaceAll("_", " ");
    const step = actions.length > 1 ? `${index + 1} of ${actions.length}: ` : "";
    showResult("challenge", [{ tone: "idle", title: step + prompt, detail: "slowly, and hold it there" }]);
    resultBox.dataset.action = action;
    const stepTimes = [];
    const offset = performance.now() - origin;
    frames.push(...(await film(video, BURST_AT_MS, stepTimes)));
    times.push(...stepTimes.map((at) => at + offset));
  }
  delete resultBox.dataset.action;
  showResult("checking", [{ tone: "idle", title: "Checking…", detail: "" }]);
  const next = await checkIn(frames, true, challenge.nonce, times);
  return next === "retry" ? "answered" : next; // a new challenge, not a bare burst, looks again
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
    running = true;
    watchDoorway(video, {
      ask: (frames) => (livenessRequired ? challengeAndCheckIn(video) : checkIn(frames, true)),
      hold: async () => {
        await sleep(RESULT_HOLD_MS);
        showIdle();
      },
      running: () => running,
    });
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
    const me = await call(key.get(), "/me");
    if (me.role !== "kiosk") throw new ApiError(403, "not_kiosk", "Only a kiosk key runs a kiosk.");
    livenessRequired = me.liveness === "challenge";
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    signOut(`This kiosk's key no longer works: ${error.message}`);
    return;
  }
  show($("#kiosk-signin"), false);
  show($("#kiosk-station"));
  show($("#kiosk-staff"));
  const session = sessionChoice.get();
  $("#kiosk-session-label").textContent = session ? `session ${session}` : "today";
  showIdle();
  watchLink();
  startCamera();
}

function signOut(message = "") {
  running = false;
  key.clear();
  const video = $("#kiosk-camera");
  if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
  show($("#kiosk-station"), false);
  show($("#kiosk-staff"), false);
  show($("#kiosk-signin"));
  $("#kiosk-signin-error").textContent = message;
}

onLinkChange((connected) => {
  if ($("#kiosk-station").hidden) return;
  const status = resultBox.dataset.status;
  if (!connected) showResult("offline", [OFFLINE]);
  else if (status === "offline") showIdle();
});

function chooseSession(value) {
  value ? sessionChoice.set(value) : sessionChoice.clear();
}

// Pairing: the office's one-time code, this kiosk's name and its staff PIN, for a kiosk key.
$("#kiosk-pair-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("#kiosk-signin-error");
  const body = {
    code: $("#pair-code").value.trim(),
    device_name: $("#pair-device").value.trim(),
    pin: $("#pair-pin").value,
  };
  try {
    const paired = await call("", "/kiosk/pair", { method: "POST", json: body });
    key.set(paired.key);
    chooseSession($("#pair-session").value.trim());
    history.replaceState(null, "", "/kiosk"); // the used code leaves the address bar
    startStation();
  } catch (problem) {
    error.textContent = problem.message;
  }
});

// A kiosk key typed in: only a kiosk key, never an admin's or a viewer's (none is kept). Its
// PIN is set now if it has none, else must be the one set before.
$("#kiosk-signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const candidate = $("#kiosk-key").value.trim();
  const pin = $("#kiosk-pin").value;
  const error = $("#kiosk-signin-error");
  try {
    const role = await roleOf(candidate);
    if (role !== "kiosk") {
      const article = role === "admin" ? "An" : "A";
      error.textContent = `${article} ${role} key cannot run a kiosk: pair it with a code, or use a kiosk key.`;
      return;
    }
    try {
      await call(candidate, "/kiosk/pin", { method: "PUT", json: { pin } });
    } catch (problem) {
      if (!(problem instanceof ApiError) || problem.code !== "pin_already_set") throw problem;
      await call(candidate, "/kiosk/unlock", { method: "POST", json: { pin } });
    }
    key.set(candidate);
    startStation();
  } catch (problem) {
    error.textContent = problem.message;
  }
});

// The staff menu: behind the PIN, checked by the server (the page holds no copy of it).
const dialog = $("#kiosk-staff-dialog");
function openStaff() {
  show($("#kiosk-unlock-form"));
  show($("#staff-menu"), false);
  $("#staff-pin").value = "";
  $("#staff-error").textContent = "";
  dialog.showModal();
}
$("#kiosk-staff").addEventListener("click", openStaff);
$("#staff-cancel").addEventListener("click", () => dialog.close());
$("#staff-close").addEventListener("click", () => dialog.close());
$("#kiosk-unlock-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await call(key.get(), "/kiosk/unlock", { method: "POST", json: { pin: $("#staff-pin").value } });
    show($("#kiosk-unlock-form"), false);
    show($("#staff-menu"));
    $("#kiosk-sound").textContent = `Sound: ${soundOn() ? "on" : "off"}`;
  } catch (problem) {
    $("#staff-error").textContent = problem.message;
  }
});
$("#kiosk-sound").addEventListener("click", () => {
  setSound(!soundOn());
  $("#kiosk-sound").textContent = `Sound: ${soundOn() ? "on" : "off"}`;
  beep("good");
});
$("#kiosk-signout").addEventListener("click", () => {
  dialog.close();
  signOut();
});

$("#kiosk-file").addEventListener("change", async (event) => {
  const [photo] = event.target.files;
  event.target.value = ""; // the same file may be chosen again
  if (!photo) return;
  showResult("checking", [{ tone: "idle", title: "Checking…", detail: "" }]);
  await checkIn(photo, false);
});
$("#kiosk-pick").addEventListener("click", () => $("#kiosk-file").click()); // a real, focusable button

// A link from the office: /kiosk?session=ID picks the session, /kiosk?pair=CODE fills the code.
const params = new URLSearchParams(location.search);
if (params.get("session")) {
  sessionChoice.set(params.get("session"));
  $("#pair-session").value = params.get("session");
}
if (params.get("pair")) $("#pair-code").value = params.get("pair");
if (key.get() && !params.get("pair")) startStation();
else show($("#kiosk-signin"));
