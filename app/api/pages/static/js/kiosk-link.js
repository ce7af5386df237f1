// Is the server there? The kiosk says so at once when it is not ("Not connected — tell
// staff"), keeps trying, and recovers by itself. A failed check-in reports the loss at once;
// in between, /health is asked every LINK_CHECK_MS (the only request an empty doorway costs),
// and every RECONNECT_MS while the server is away (a refused connection costs it nothing).
import { call } from "./api.js";

const LINK_CHECK_MS = 10_000;
const RECONNECT_MS = 2_000;

let connected = true;
let timer = null;
const listeners = [];

export function isConnected() {
  return connected;
}

export function onLinkChange(listener) {
  listeners.push(listener);
}

function set(state) {
  if (state === connected) return;
  connected = state;
  for (const listener of listeners) listener(state);
}

// Called with every answer's fate: a network failure is the server lost; any answer, found.
export function reportLink(reached) {
  set(reached);
  schedule();
}

async function check() {
  try {
    // /health answers 200 when ready, 503 when its database is away: the kiosk is no use
    // then either. Either way it is an answer from the server.
    await call("", "/health");
    set(true);
  } catch (error) {
    set(error.status !== 0 && error.status !== 503);
  }
  schedule();
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(check, connected ? LINK_CHECK_MS : RECONNECT_MS);
}

let watching = false;

export function watchLink() {
  if (watching) return;
  watching = true;
  window.addEventListener("offline", () => reportLink(false)); // the tablet's own network
  window.addEventListener("online", check);
  schedule();
}
