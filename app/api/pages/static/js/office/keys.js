// Access keys (admin only): pair a kiosk (a one-time code and its QR code), create a key (shown
// once, with a copy button), list, revoke.
import { $, el, fillTable, say, show, when } from "../dom.js";
import { api } from "./state.js";

export function setUpKeys() {
  if (!$("#panel-keys")) return; // not an admin: the panel was taken out
  $("#key-create").addEventListener("submit", createKey);
  $("#key-copy").addEventListener("click", copyKey);
  $("#pairing-create").addEventListener("click", createPairing);
}

let pairingTimer = null;
let pairingQrUrl = null;

// A code the kiosk types (or the tablet scans as the kiosk URL with it), counting down until
// it expires; the QR code is the server's SVG, shown from a blob: URL (no inline markup).
async function createPairing() {
  try {
    const pairing = await api("/kiosk/pairings", { method: "POST" });
    if (pairingQrUrl) URL.revokeObjectURL(pairingQrUrl);
    pairingQrUrl = URL.createObjectURL(new Blob([pairing.qr_svg], { type: "image/svg+xml" }));
    $("#pairing-qr").src = pairingQrUrl;
    $("#pairing-code").textContent = pairing.code;
    $("#pairing-url").textContent = pairing.kiosk_url;
    show($("#pairing-shown"));
    say($("#pairing-message"), "");
    countDown(new Date(pairing.expires_at));
  } catch (error) {
    say($("#pairing-message"), error.message, "error");
  }
}

function countDown(expires) {
  clearInterval(pairingTimer);
  const tick = () => {
    const left = Math.round((expires - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(pairingTimer);
      show($("#pairing-shown"), false);
      say($("#pairing-message"), "The pairing code expired: show a new one.");
      return;
    }
    $("#pairing-expiry").textContent =
      `Works once, for ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} more.`;
  };
  tick();
  pairingTimer = setInterval(tick, 1000);
}

export function openKeys() {
  loadKeys();
}

async function loadKeys() {
  try {
    const keys = await api("/keys");
    fillTable($("#keys-table"), keys.map(keyRow));
  } catch (error) {
    say($("#key-message"), error.message, "error");
  }
}

function keyRow(key) {
  // A rotated key's revoked_at is the end of its grace period: until then it works, and may be
  // revoked now.
  const ended = key.revoked_at && new Date(key.revoked_at) <= new Date();
  const button = el("button", { type: "button", class: "danger", "aria-label": `Revoke ${key.name}`, onclick: () => revoke(key) }, "Revoke");
  const state = ended
    ? el("span", { class: "tag bad" }, `revoked ${when(key.revoked_at)}`)
    : key.revoked_at
      ? el("span", {}, el("span", { class: "tag" }, `rotated: ends ${when(key.revoked_at)}`), " ", button)
      : button;
  return el("tr", {},
    el("td", {}, key.name),
    el("td", {}, key.role),
    el("td", {}, el("code", {}, `${key.prefix}…`)),
    el("td", {}, when(key.created_at)),
    el("td", {}, state));
}

async function createKey(event) {
  event.preventDefault();
  const body = { name: $("#key-name").value.trim(), role: $("#key-role").value };
  try {
    const created = await api("/keys", { method: "POST", json: body });
    $("#key-value").textContent = created.key;
    say($("#key-copied"), "");
    show($("#key-shown"));
    say($("#key-message"), `Created the ${created.role} key "${created.name}".`, "ok");
    $("#key-name").value = "";
    loadKeys();
  } catch (error) {
    say($("#key-message"), error.message, "error");
  }
}

async function copyKey() {
  try {
    await navigator.clipboard.writeText($("#key-value").textContent);
    say($("#key-copied"), "Copied.", "ok");
  } catch {
    // No clipboard (plain http on another host): select it for Ctrl+C.
    getSelection().selectAllChildren($("#key-value"));
    say($("#key-copied"), "Selected: press Ctrl+C to copy.");
  }
}

async function revoke(key) {
  if (!confirm(`Revoke the key "${key.name}"? Whatever uses it stops working at once.`)) return;
  try {
    await api(`/keys/${key.id}`, { method: "DELETE" });
    say($("#key-message"), `Revoked "${key.name}".`, "ok");
    loadKeys();
  } catch (error) {
    say($("#key-message"), error.message, "error");
  }
}
