// Building page elements from data without innerHTML, so no name can inject markup.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function show(node, visible = true) {
  node.hidden = !visible;
}

// Local date and time as people read them.
export function when(iso) {
  return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

export function time(iso) {
  if (iso == null) return "—"; // a manual mark nobody checked in for
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// A status line, shown where it is and announced by the page's one polite live region
// (#live) where the page has one: kind is "ok", "error" or "info".
export function say(node, message, kind = "info") {
  node.textContent = message;
  node.dataset.kind = kind;
  const live = document.getElementById("live");
  if (live && message && message !== "Loading…") live.textContent = message;
}

// Puts rows in a table's body, each cell labelled with its column (phones show cells stacked,
// each with its label: see the CSS).
export function fillTable(table, rows) {
  const headers = [...table.tHead.rows[0].cells].map((cell) => cell.textContent);
  for (const row of rows) {
    [...row.cells].forEach((cell, i) => {
      cell.dataset.label = headers[i] || "";
    });
  }
  table.tBodies[0].replaceChildren(...rows);
}

// A person's name isolated from the text around it (a right-to-left name keeps "name · time"
// in order), its direction taken from its own letters.
export function bdi(name) {
  return el("bdi", { dir: "auto" }, name);
}

// A status line that is NOT announced (e.g. "Updated 10:02" every few seconds): the page's one
// polite live region says what the user did, this only shows.
export function quietly(node, message) {
  node.textContent = message;
}
