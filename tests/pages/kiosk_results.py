"""Every answer a kiosk page showed, recorded in the page as it is shown.

The kiosk holds an answer on screen for 3 s (RESULT_HOLD_MS), then looks for the next person,
and asks nothing more of a scene it has answered. A test that polls the screen from outside can
miss that window on a loaded machine (seen once in CI) and then waits for nothing; a record
kept in the page cannot be missed, and says what was shown instead when the wanted answer
never came."""

from __future__ import annotations

from typing import TypedDict

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

# Runs before the page's own scripts on every load (Playwright's init scripts are not subject to
# the page's CSP). `showResult` sets data-status, then replaces the cards: one record per
# replacement, with what a reader saw at that moment.
_RECORDER = """
window.__kioskResults = [];
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector("#kiosk-result");
  if (!box) return;
  new MutationObserver(() => {
    const card = box.querySelector(".result-card");
    const title = box.querySelector(".result-title");
    window.__kioskResults.push({
      status: box.dataset.status || "",
      text: box.innerText,
      tone: card ? card.dataset.tone || "" : "",
      title_px: title ? parseFloat(getComputedStyle(title).fontSize) : 0,
    });
  }).observe(box, { childList: true });
});
"""


class ShownResult(TypedDict):
    status: str  # the answer's data-status: present, unknown, retry, challenge, ...
    text: str  # every card's words, as shown
    tone: str  # the first card's data-tone
    title_px: float  # the first card's title size, in CSS pixels


def record_kiosk_results(page: Page) -> None:
    """Keep a record of every answer `page` shows from its next load on."""
    page.add_init_script(_RECORDER)


def shown_results(page: Page) -> list[ShownResult]:
    return page.evaluate("window.__kioskResults || []")


def wait_for_result(
    page: Page, statuses: set[str], timeout_ms: float, text: str = ""
) -> ShownResult:
    """The first answer shown with one of `statuses` (and containing `text`), waiting for it;
    fails with every answer shown meanwhile when none comes in `timeout_ms`."""
    try:
        found = page.wait_for_function(
            """([statuses, text]) => (window.__kioskResults || []).find(
                (r) => statuses.includes(r.status) && r.text.includes(text))""",
            arg=[sorted(statuses), text],
            polling=200,
            timeout=timeout_ms,
        )
    except PlaywrightTimeout:
        raise AssertionError(
            f"no {sorted(statuses)} answer with {text!r} in {timeout_ms / 1000:.0f} s; "
            f"shown: {shown_results(page)}"
        ) from None
    return found.json_value()
