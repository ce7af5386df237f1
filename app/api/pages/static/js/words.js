// The API's refusals in words people use: no field paths ("body: Value error, ..."), no
// scores or distances. The API keeps its exact message for programs; the pages say this.

const FIELDS = {
  starts_at: "the start",
  ends_at: "the end",
  external_id: "the external id",
  name: "the name",
  code: "the code",
  grace_minutes: "the late-after minutes",
  reason: "the reason",
  status: "the status",
};

const BY_CODE = {
  face_blurred: "The face is too blurred — hold the camera still and try again.",
  face_too_small: "The face is too small in the photo — take it closer.",
  no_face: "No face was found in the photo — take one with the face clearly in view.",
  multiple_faces: "The photo shows several faces — take one of the student alone.",
  duplicate_enrollment: "This face already looks like another enrolled student.",
  too_many_photos: null, // the API's own words are plain already
  network: null,
};

function fieldWords(text) {
  return text.replace(/\b[a-z]+(?:_[a-z]+)+\b/g, (name) => FIELDS[name] || name.replaceAll("_", " "));
}

const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);
const sentence = (text) => (/[.!?]$/.test(text) ? text : `${text}.`);

// One of a 422's problems ({field, problem}, pydantic's wording) as a sentence about the field.
function problemWords({ field, problem }) {
  const name = field ? fieldWords(field.split(".").pop()) : "";
  const text = problem.replace(/^Value error,\s*/i, "");
  if (!name || text !== problem) return sentence(capital(fieldWords(text)));
  if (/^Field required/i.test(text)) return `${capital(name)} is needed.`;
  if (/at least 1 character/i.test(text)) return `${capital(name)} cannot be empty.`;
  const most = text.match(/at most (\d+) characters?/i);
  if (most) return `${capital(name)} is too long: at most ${most[1]} characters.`;
  return sentence(`${capital(name)}: ${text.charAt(0).toLowerCase()}${text.slice(1)}`);
}

// The words to show for an ApiError (or any Error).
export function inWords(error) {
  const code = error.code || "";
  if (BY_CODE[code]) return BY_CODE[code];
  const problems = (error.details && error.details.problems) || [];
  if (code === "invalid_request" && problems.length) return problems.map(problemWords).join(" ");
  const message = error.message || "Something went wrong.";
  return message.replace(/\s*\((?:[^()]*\d\.\d{2,}[^()]*)\)/g, "");
}
