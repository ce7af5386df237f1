// What the kiosk sees, cheaply, in the page: a small grey thumbnail of the camera taken every
// few frames, compared with the one before (is the scene steady?) and with the last empty
// doorway the server confirmed (has somebody come?). Nothing leaves the page until then.

export const THUMB_WIDTH = 64;
export const THUMB_HEIGHT = 48;
// A thumbnail pixel "changed" when its grey level moved more than this (0-255): well above a
// camera's sensor noise once 10x10 pixels are averaged into one (a level or two), well below
// a face against a wall.
const PIXEL_CHANGE = 24;

export function thumbnailer(video) {
  const canvas = document.createElement("canvas");
  canvas.width = THUMB_WIDTH;
  canvas.height = THUMB_HEIGHT;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return () => {
    context.drawImage(video, 0, 0, THUMB_WIDTH, THUMB_HEIGHT);
    const pixels = context.getImageData(0, 0, THUMB_WIDTH, THUMB_HEIGHT).data;
    const values = new Float32Array(THUMB_WIDTH * THUMB_HEIGHT);
    for (let i = 0; i < values.length; i++) {
      values[i] = 0.299 * pixels[4 * i] + 0.587 * pixels[4 * i + 1] + 0.114 * pixels[4 * i + 2];
    }
    return values;
  };
}

// The mean change of grey level (0-255) between two thumbnails: motion.
export function meanChange(a, b) {
  let total = 0;
  for (let i = 0; i < a.length; i++) total += Math.abs(a[i] - b[i]);
  return total / a.length;
}

// The share (0-1) of the thumbnail that differs between two scenes: a person in the doorway.
export function changedShare(a, b) {
  let changed = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > PIXEL_CHANGE) changed++;
  return changed / a.length;
}

// The camera's current frame as a JPEG, at the camera's own size.
export function frameAsJpeg(video) {
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Frames taken at these times (ms) from now; `times`, when given, gets when each was taken.
export async function film(video, atMs, times = null) {
  const start = performance.now();
  const frames = [];
  for (const at of atMs) {
    await sleep(Math.max(0, start + at - performance.now()));
    if (times) times.push(performance.now() - start);
    frames.push(await frameAsJpeg(video));
  }
  return frames;
}
