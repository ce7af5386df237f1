"""Thresholds that know how many people are searched.

A stranger checked in against N enrolled people is wrongly accepted when ANY of them is closer
than the threshold: with a false-accept rate FAR(t) per comparison, the false-positive
identification rate is FPIR = 1 - (1 - FAR(t))^N. A threshold that is safe for one comparison
(verify) lets most strangers in with 500 enrolled. `FarCurve` holds FAR(t), measured on the
impostor pairs of a calibration set (`rollcall calibrate --far-curve`), and picks for each search
the loosest threshold whose FPIR stays under a target.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.files import atomic_write

CURVE_POINTS = 240  # FAR values, log-spaced, at which the curve is stored


def allowed_far(candidates: int, max_fpir: float) -> float:
    """The per-comparison FAR that keeps FPIR <= max_fpir over `candidates` people."""
    return 1.0 - (1.0 - max_fpir) ** (1.0 / max(candidates, 1))


@dataclass(frozen=True)
class FarCurve:
    """FAR(t) as (far, threshold) points, both increasing: a pair is accepted when d < t."""

    far: np.ndarray
    thresholds: np.ndarray
    impostor_pairs: int
    source: str  # what it was measured on, for people reading the file

    @classmethod
    def from_impostors(cls, distances: np.ndarray, source: str) -> FarCurve:
        """Measure the curve on impostor-pair distances (needs at least 1,000 pairs)."""
        ordered = np.sort(np.asarray(distances, np.float64))
        count = len(ordered)
        if count < 1000:
            raise ValueError(f"{count} impostor pairs are too few to measure small FARs")
        # The threshold that accepts exactly k impostors is the (k+1)-th smallest distance
        # (strict <), so FAR k/count. From 1 impostor (the finest FAR measurable) to half.
        accepted = np.unique(np.round(np.geomspace(1, count / 2, CURVE_POINTS)).astype(int))
        return cls(
            far=accepted / count,
            thresholds=ordered[accepted],
            impostor_pairs=count,
            source=source,
        )

    def far_at(self, threshold: float) -> float:
        """FAR at `threshold`, interpolated; 0 below the finest point measured."""
        if threshold < self.thresholds[0]:
            return 0.0
        return float(np.interp(threshold, self.thresholds, self.far))

    def threshold_for_far(self, far: float) -> float:
        """The loosest threshold whose FAR is at most `far` (log-interpolated between points).

        Below the finest FAR measured (1 / impostor pairs) the curve knows nothing: the finest
        point's threshold is returned, and `finest_far` tells the caller the bound is loose.
        """
        if far <= self.far[0]:
            return float(self.thresholds[0])
        return float(np.interp(math.log(far), np.log(self.far), self.thresholds))

    @property
    def finest_far(self) -> float:
        return float(self.far[0])

    def threshold_for(self, candidates: int, max_fpir: float, ceiling: float) -> float:
        """The threshold for a search among `candidates` people, never looser than `ceiling`."""
        return min(ceiling, self.threshold_for_far(allowed_far(candidates, max_fpir)))

    def save(self, path: Path) -> None:
        document = {
            "source": self.source,
            "impostor_pairs": self.impostor_pairs,
            "rule": "a pair is accepted when its distance is strictly below the threshold",
            "far": [float(f"{v:.6g}") for v in self.far],
            "threshold": [round(float(v), 5) for v in self.thresholds],
        }
        with atomic_write(path, "w") as handle:
            handle.write(json.dumps(document, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> FarCurve:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            far = np.array(document["far"], np.float64)
            thresholds = np.array(document["threshold"], np.float64)
            pairs = int(document["impostor_pairs"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"{path} is not a FAR curve written by rollcall calibrate: {exc}"
            ) from exc
        if len(far) < 2 or len(far) != len(thresholds) or np.any(np.diff(far) <= 0):
            raise ValueError(f"{path}: a FAR curve needs 2+ points with increasing FAR")
        if np.any(np.diff(thresholds) < 0):
            raise ValueError(f"{path}: thresholds must not decrease as FAR grows")
        return cls(far, thresholds, pairs, str(document.get("source", "")))


@dataclass(frozen=True)
class RunnerUpCurve:
    """Thresholds that also look at the runner-up: a face is accepted as its nearest student
    when its distance d1 is below

        t = (tau(N) + w * d2) / (1 + w)      (d2: the nearest *other* student's distance)

    that is, when d1 - w * (d2 - d1) < tau(N). A stranger's nearest and runner-up are both
    impostors, close together; a student's own template stands out from the rest. tau(N) is
    measured by simulation (tools/fit_runner_up_curve.py): galleries of N people, strangers
    checked in against them, for each FPIR the score that accepts a share of the strangers
    beyond those the distance-only threshold (FarCurve) accepts, with the service's other
    conditions applied (d1 under the 1:1 threshold, the ambiguity margin). The service takes
    the looser of the two thresholds (`DecisionRule.face_threshold`). On LFW dev-train people
    the fit never saw, at 500 enrolled: 66% of check-ins right where the distance alone gets
    45%, 0.2% of strangers accepted (bench/accuracy.py).
    """

    weight: float  # w
    candidates: np.ndarray  # N grid, increasing
    max_fpir: np.ndarray  # FPIR grid, increasing
    tau: np.ndarray  # (len(candidates), len(max_fpir))
    source: str

    def threshold(self, candidates: int, max_fpir: float, runner_up: float) -> float:
        """The distance threshold of a face whose runner-up student lies at `runner_up`."""
        return (self.tau_for(candidates, max_fpir) + self.weight * runner_up) / (1.0 + self.weight)

    def tau_for(self, candidates: int, max_fpir: float) -> float:
        """tau, interpolated in log N and log FPIR. Past the largest N measured it follows the
        last segment's slope downwards (never upwards: more people, more strangers' chances);
        past the FPIR grid's ends, the nearest end."""
        logs = np.log(self.candidates)
        fpir = float(np.clip(math.log(max_fpir), *np.log(self.max_fpir[[0, -1]])))
        per_n = np.array(
            [np.interp(fpir, np.log(self.max_fpir), row) for row in self.tau], np.float64
        )
        n = math.log(max(candidates, 1))
        if n <= logs[-1]:
            return float(np.interp(n, logs, per_n))
        slope = min((per_n[-1] - per_n[-2]) / (logs[-1] - logs[-2]), 0.0)
        return float(per_n[-1] + slope * (n - logs[-1]))

    def save(self, path: Path) -> None:
        document = {
            "source": self.source,
            "rule": "accepted when d1 - weight * (d2 - d1) < tau(candidates, max_fpir)",
            "weight": self.weight,
            "candidates": [int(n) for n in self.candidates],
            "max_fpir": [float(f) for f in self.max_fpir],
            "tau": [[round(float(v), 5) for v in row] for row in self.tau],
        }
        with atomic_write(path, "w") as handle:
            handle.write(json.dumps(document, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> RunnerUpCurve:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            curve = cls(
                weight=float(document["weight"]),
                candidates=np.array(document["candidates"], np.float64),
                max_fpir=np.array(document["max_fpir"], np.float64),
                tau=np.array(document["tau"], np.float64),
                source=str(document.get("source", "")),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a runner-up curve: {exc}") from exc
        shape = (len(curve.candidates), len(curve.max_fpir))
        if curve.tau.shape != shape or min(shape) < 2 or curve.weight < 0:
            raise ValueError(f"{path}: tau must be a {shape} table on grids of 2+ points")
        if np.any(np.diff(curve.candidates) <= 0) or np.any(np.diff(curve.max_fpir) <= 0):
            raise ValueError(f"{path}: the grids must increase")
        return curve


def runner_up_scores(best: np.ndarray, runner_up: np.ndarray, weight: float) -> np.ndarray:
    """d1 - w (d2 - d1): what RunnerUpCurve's tau bounds."""
    return best - weight * (runner_up - best)
