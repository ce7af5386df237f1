// Watching the doorway: the page decides when somebody has come and stands still, and only then
// asks the server. An empty doorway costs no check-in at all once the server has said "no face"
// for it; a person standing on after their answer is not checked in again and again.
import { changedShare, frameAsJpeg, meanChange, sleep, thumbnailer } from "./kiosk-scene.js";

// A look every 100 ms: a 64x48 thumbnail costs well under a millisecond to take and compare.
// Before, one capture a second and two steady ones were needed: ~1.9 s of the 2.6 s a child
// waited was the page waiting (bench/kiosk.py).
const SAMPLE_MS = 100;
// "Steady": the mean change of the thumbnail over one look (100 ms), on 0-255. A still scene's
// noise is a level or two; a person still walking in moves several levels in 100 ms. One steady
// look is enough: the server still refuses a blurred face (retry, then a burst).
const STEADY_MAX_CHANGE = 3;
// "Somebody came": at least this share of the thumbnail differs from the last empty doorway the
// server confirmed. A face a metre or two away covers 4% or more of the frame, a body more.
const ARRIVAL_SHARE = 0.02;
// "Somebody else": the scene differs this much from the one last answered.
const NEW_SCENE_SHARE = 0.02;
// While a check-in is in flight, the frames the page takes meanwhile: should the answer be
// "look again" (retry), they go at once as a burst, without filming anew. Three in all, 150 ms
// apart, as the server's look-again burst (ROLLCALL_MAX_BURST_FRAMES is 8).
const SPARE_FRAMES = 2;
const SPARE_EVERY_MS = 150;

// `ask(frames)` sends a check-in and says what happened: "empty" (no face), "answered"
// (held on screen), "retry" or "offline"; `hold()` waits while an answer stays on screen.
export function watchDoorway(video, { ask, hold, running }) {
  const look = thumbnailer(video);
  let previous = null;
  let emptyScene = null; // the last scene the server found no face in
  let answeredScene = null; // the last scene the server answered for

  const arrived = (scene) =>
    (emptyScene === null || changedShare(scene, emptyScene) >= ARRIVAL_SHARE) &&
    (answeredScene === null || changedShare(scene, answeredScene) >= NEW_SCENE_SHARE);

  async function loop() {
    while (running()) {
      await sleep(SAMPLE_MS);
      if (video.readyState < 2) continue;
      const scene = look();
      const steady = previous !== null && meanChange(scene, previous) <= STEADY_MAX_CHANGE;
      previous = scene;
      // Back to the empty doorway: whoever was answered has gone.
      if (answeredScene && emptyScene && changedShare(scene, emptyScene) < ARRIVAL_SHARE) {
        answeredScene = null;
      }
      if (!steady || !arrived(scene)) continue;
      const outcome = await askWithSpares(scene);
      if (outcome === "empty") emptyScene = scene;
      if (outcome === "answered") {
        answeredScene = scene;
        await hold();
      }
      previous = null;
    }
  }

  async function askWithSpares() {
    const first = await frameAsJpeg(video);
    const spares = [];
    let done = false;
    const answer = ask([first]).finally(() => {
      done = true;
    });
    (async () => {
      while (!done && spares.length < SPARE_FRAMES) {
        await sleep(SPARE_EVERY_MS);
        if (!done) spares.push(await frameAsJpeg(video));
      }
    })();
    const outcome = await answer;
    if (outcome !== "retry") return outcome;
    while (spares.length < SPARE_FRAMES) spares.push(await frameAsJpeg(video));
    const again = await ask([first, ...spares.slice(0, SPARE_FRAMES)]);
    return again === "retry" ? "answered" : again; // a second retry is shown, then held
  }

  loop();
}
