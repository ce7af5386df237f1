// A photo's quality in words, from the API's measures. The limits are the model's
// (models/quality.py): faces of 50 px and sharpness 8 match as well as any; below 40 px or a
// sharpness of 4 (the enrollment gate) most check-ins fail; |yaw| 0.6 is about 45 degrees.
const GOOD_SIZE = 50;
const MIN_SIZE = 40;
const GOOD_SHARPNESS = 8;
const MIN_SHARPNESS = 4;

export function sizeVerdict(size) {
  if (size >= GOOD_SIZE) return "large enough";
  if (size >= MIN_SIZE) return "small but usable — closer is better";
  return "too small — take the photo closer";
}

export function sharpnessVerdict(sharpness) {
  if (sharpness >= GOOD_SHARPNESS) return "sharp";
  if (sharpness >= MIN_SHARPNESS) return "a little soft but usable";
  return "too blurred — hold the camera still";
}

export function poseVerdict(yaw) {
  const turn = Math.abs(yaw);
  if (turn < 0.15) return "facing the camera";
  if (turn < 0.35) return "turned a little";
  return "turned away — face the camera";
}

// The one score (size × sharpness × pose, each 0-1) an enrolled photo keeps.
export function scoreVerdict(score) {
  if (score >= 0.8) return { words: "good photo", tone: "good" };
  if (score >= 0.5) return { words: "usable photo", tone: "info" };
  return { words: "weak photo — replace it with a sharper, closer one", tone: "warn" };
}
