// The service's health and gallery size, from /health.
import { $, el } from "../dom.js";
import { api } from "./state.js";

export function setUpHealth() {
  $("#health-refresh").addEventListener("click", openHealth);
}

export async function openHealth() {
  let rows;
  try {
    const h = await api("/health");
    rows = [
      ["Status", h.status],
      ["Database", h.database ? "reachable" : "NOT reachable"],
      ["Model", `${h.backbone} (${h.weights_version})`],
      ["Threshold", h.threshold.toFixed(3)],
      ["Students in the gallery", String(h.gallery_students)],
      ["Face templates", String(h.gallery_templates)],
      ["Templates of other weights", String(h.stale_templates)],
    ];
  } catch (error) {
    // /health answers 503 with its body when the database is down: the message says so.
    rows = [["Status", error.message]];
  }
  $("#health-facts").replaceChildren(...rows.flatMap(([t, v]) => [el("dt", {}, t), el("dd", {}, v)]));
}
