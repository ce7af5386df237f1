"""The 1:N check-in decision, on plain numbers: the service and `rollcall evaluate` share it."""

from __future__ import annotations

from typing import Literal

# A check-in whose runner-up student is closer than this to the best one is "ambiguous".
DEFAULT_AMBIGUITY_MARGIN = 0.04

IdentificationDecision = Literal["present", "unknown", "ambiguous"]


def decide(
    best_distance: float, runner_up_distance: float, threshold: float, margin: float
) -> IdentificationDecision:
    """present, unknown or ambiguous for a face's nearest and runner-up enrolled students.

    A face is unknown unless its best distance is strictly below the threshold (an empty
    gallery's best distance is inf); it is ambiguous when the runner-up student (inf: none) is
    less than `margin` farther than the best one.
    """
    if best_distance >= threshold:
        return "unknown"
    if runner_up_distance - best_distance < margin:
        return "ambiguous"
    return "present"
