// What the kiosk shows for each face of a check-in answer: a tone (a colour of its own
// brightness), a symbol, a title (the name, large) and a detail in plain words.
// Kept apart from the kiosk's camera loop so that it can be read, and tried, on its own.

// Each answer has a symbol as well as a colour, so that it reads without telling colours apart.
export const SYMBOLS = {
  good: "✓",
  late: "◷",
  info: "✓",
  warn: "?",
  bad: "✕",
  idle: "",
  offline: "⚠",
};

// What each check-in decision shows. A decision not listed here (a newer server) still shows,
// with its own words: see `describe`. A late arrival is said to be late, not "Present".
const DECISIONS = {
  present: {
    tone: (f) => (f.late ? "late" : "good"),
    title: (f) => f.student.name,
    detail: (f) => (f.late ? "Late — checked in" : "Present ✓"),
  },
  already_present: {
    tone: () => "info",
    title: (f) => f.student.name,
    detail: (f) => (f.late ? "Already checked in (late)" : "Already checked in"),
  },
  unknown: { tone: () => "bad", title: () => "Not recognised", detail: () => "Please see staff." },
  ambiguous: {
    tone: () => "bad",
    title: () => "Not sure who you are",
    detail: () => "Please see staff.",
  },
  liveness_failed: {
    tone: () => "warn",
    title: () => "Please try again",
    detail: () => "Follow each prompt on the screen: move your head slowly, as asked.",
  },
  retry: { tone: () => "warn", title: () => "Look at the camera", detail: () => "Hold still, please." },
  ambiguous_session: {
    tone: () => "warn",
    title: (f) => (f.student ? f.student.name : "Which class?"),
    detail: () => "On more than one class now. Please see staff.",
  },
  not_on_roster: {
    tone: () => "bad",
    title: (f) => (f.student ? f.student.name : "Not on this class list"),
    detail: () => "Not on this class list. Please see staff.",
  },
};

export function describe(face) {
  const known = DECISIONS[face.decision];
  if (known) {
    const tone = known.tone(face);
    return { tone, symbol: SYMBOLS[tone], title: known.title(face), detail: known.detail(face) };
  }
  const words = String(face.decision).replaceAll("_", " ");
  const said = words.charAt(0).toUpperCase() + words.slice(1); // "left_early": "Left early"
  return {
    tone: "warn",
    symbol: SYMBOLS.warn,
    title: face.student ? face.student.name : said,
    detail: face.message || `${said}. Please see staff.`,
  };
}
