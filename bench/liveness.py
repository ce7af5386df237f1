"""Liveness on generated cases: how many photo attacks pass, how many real turns are refused.

    python bench/liveness.py [--lfw ../shared/lfw-devtrain] [--people 298] [--attacks 300]

Live bursts: several LFW photos of one person whose head poses differ by a turn we would ask
for, in order of pose. The pose is read from the landmarks by a different measure than the
one the decision uses: the nose's offset along the eye line (affine, not projective), 0.5 for
a frontal face; a difference of AFFINE_TURN (about 20 degrees of yaw for an average face,
nose tip 2.5 cm before the eyes, 6.3 cm between them) makes a live case. Attacks: one photo,
printed (on a grey background) or on a phone (black border and bezel), seen in 5 frames by a
pinhole camera while the attacker turns it like a head in the asked direction (up to 40
degrees) with random tilt, rotation, distance and shift, each frame JPEG re-compressed.

Only the flatness decision is measured here: a live burst is one person by construction and an
attack one photo, so the same-person check passes both.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.detection import DetectedFace, FaceDetector
from models.image import Photo
from models.liveness import MIN_TURN, Action, nose_position, plane_homography, turn

SHARED = Path(__file__).resolve().parents[2] / "shared"
AFFINE_TURN = 0.14  # see the module's docstring
BURST = 5  # frames per case, as the kiosk sends
CANVAS = 480  # attack frames, pixels square


@dataclass(frozen=True)
class Case:
    kind: str  # "live", "print" or "phone"
    action: Action
    frames: list[np.ndarray | None]  # landmarks per frame; None: no face found


def central_face(faces: list[DetectedFace], width: int, height: int) -> DetectedFace | None:
    centre = np.array([width / 2, height / 2])
    return min(
        faces,
        key=lambda f: np.linalg.norm((f.box[:2] + f.box[2:]) / 2 - centre),
        default=None,
    )


def affine_yaw(landmarks: np.ndarray) -> float:
    """The nose's position along the eye line, 0 at the image-left eye, 1 at the other."""
    left, right, nose = landmarks[0], landmarks[1], landmarks[2]
    axis = right - left
    return float(np.dot(nose - left, axis) / np.dot(axis, axis))


def detect(detector: FaceDetector, image: Image.Image) -> np.ndarray | None:
    pixels = np.asarray(image.convert("RGB"))
    face = central_face(detector.detect(Photo(pixels)), image.width, image.height)
    return None if face is None else face.landmarks


def live_cases(detector: FaceDetector, lfw: Path, people: int, rng: random.Random) -> list[Case]:
    """Per person, one burst per direction when their photos span a turn."""
    folders = [f for f in sorted((lfw / "people").iterdir()) if len(list(f.glob("*.jpg"))) >= BURST]
    cases = []
    for folder in rng.sample(folders, min(people, len(folders))):
        marks = [detect(detector, Image.open(p)) for p in sorted(folder.glob("*.jpg"))[:12]]
        posed = sorted((affine_yaw(m), i) for i, m in enumerate(marks) if m is not None)
        # The smallest turn of at least AFFINE_TURN: a person asked to turn, not the extremes.
        turns = [(b[0] - a[0], a, b) for a in posed for b in posed if b[0] - a[0] >= AFFINE_TURN]
        if not turns:
            continue
        _, first, last = min(turns)
        between = [m for m in posed if first[0] < m[0] < last[0]]
        middle = rng.sample(between, min(BURST - 2, len(between)))
        burst = [marks[i] for _, i in sorted([first, *middle, last])]
        cases.append(Case("live", Action.turn_left, burst))
        cases.append(Case("live", Action.turn_right, burst[::-1]))
    return cases


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    angles = np.radians([yaw, pitch, roll])
    cy, cp, cr = np.cos(angles)
    sy, sp, sr = np.sin(angles)
    about_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    about_x = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    about_z = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return about_z @ about_x @ about_y


def view_of_plane(picture: Image.Image, yaw: float, rng: random.Random) -> Image.Image:
    """The picture as a pinhole camera sees it, turned by `yaw` and randomly tilted, rotated,
    moved and re-compressed."""
    w, h = picture.size
    rotation = _rotation(yaw, rng.uniform(-20, 20), rng.uniform(-15, 15))
    focal = CANVAS * 1.2
    depth = focal * max(w, h) / (CANVAS * rng.uniform(0.55, 0.85))
    shift = np.array([rng.uniform(-0.1, 0.1) * CANVAS, rng.uniform(-0.1, 0.1) * CANVAS])
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
    seen = []
    for x, y in corners:
        point = rotation @ np.array([x - w / 2, y - h / 2, 0.0]) + np.array([0, 0, depth])
        seen.append(focal * point[:2] / point[2] + CANVAS / 2 + shift)
    # PIL wants the map from output pixels back to the picture's.
    back = plane_homography(np.array(seen), corners)
    assert back is not None, "a view of the picture is never degenerate"
    coefficients = tuple(back.flatten()[:8])
    background = Image.new("RGB", (CANVAS, CANVAS), tuple(rng.randint(90, 200) for _ in range(3)))
    warped = picture.convert("RGBA").transform(
        (CANVAS, CANVAS), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR
    )
    background.paste(warped, (0, 0), warped)
    buffer = io.BytesIO()
    background.save(buffer, "JPEG", quality=rng.randint(50, 90))
    return Image.open(io.BytesIO(buffer.getvalue()))


def on_phone(photo: Image.Image) -> Image.Image:
    """The photo shown on a phone: black screen around it, a dark bezel."""
    w, h = photo.size
    phone = Image.new("RGB", (w + 40, int(h * 1.9)), (20, 20, 22))
    screen = Image.new("RGB", (w + 16, int(h * 1.9) - 40), (0, 0, 0))
    screen.paste(photo, (8, (screen.height - h) // 2))
    phone.paste(screen, (12, 20))
    return phone


def attack_cases(
    detector: FaceDetector, lfw: Path, count: int, rng: random.Random
) -> Iterator[Case]:
    photos = sorted((lfw / "people").glob("*/*.jpg"))
    for index in range(count):
        kind = "print" if index % 2 == 0 else "phone"
        action = rng.choice(list(Action))
        photo = Image.open(rng.choice(photos)).convert("RGB")
        picture = photo if kind == "print" else on_phone(photo)
        yaws = np.linspace(-5, 40, BURST) * action.direction * rng.choice([1, -1])
        frames = [detect(detector, view_of_plane(picture, float(y), rng)) for y in yaws]
        yield Case(kind, action, frames)


def case_turn(case: Case) -> float:
    """The burst's turn (models.liveness.turn); -inf when a frame has no face or no frame of
    reference, which the service refuses."""
    if any(frame is None for frame in case.frames):
        return float("-inf")
    positions = [nose_position(frame) for frame in case.frames if frame is not None]
    known = [p for p in positions if p is not None]
    return turn(known, case.action) if len(known) == len(positions) else float("-inf")


def passes(case: Case, min_turn: float = MIN_TURN) -> bool:
    """The flatness decision of models.liveness.assess."""
    return case_turn(case) >= min_turn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw", type=Path, default=SHARED / "lfw-devtrain")
    parser.add_argument("--people", type=int, default=298)
    parser.add_argument("--attacks", type=int, default=300)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    detector = FaceDetector()
    live = live_cases(detector, args.lfw, args.people, rng)
    attacks = list(attack_cases(detector, args.lfw, args.attacks, rng))
    print(f"threshold MIN_TURN = {MIN_TURN}")
    for kind in ("print", "phone"):
        chosen = [c for c in attacks if c.kind == kind]
        unseen = sum(any(f is None for f in c.frames) for c in chosen)
        accepted = sum(passes(c) for c in chosen)
        turns = np.array([case_turn(c) for c in chosen])
        print(
            f"attack {kind}: {len(chosen)} cases, accepted {accepted} "
            f"({accepted / len(chosen):.1%}); a frame without a face: {unseen}; "
            f"turn p50 {np.median(turns):.3f} p95 {np.quantile(turns, 0.95):.3f} "
            f"max {turns.max():.3f}"
        )
    rejected = sum(not passes(c) for c in live)
    turns = np.array([case_turn(c) for c in live])
    print(
        f"live: {len(live)} cases, rejected {rejected} ({rejected / len(live):.1%}); "
        f"turn p5 {np.quantile(turns, 0.05):.3f} p50 {np.median(turns):.3f}"
    )
    every = np.array([case_turn(c) for c in attacks])
    for threshold in (0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10):
        print(
            f"  at {threshold:.2f}: attacks accepted {np.mean(every >= threshold):.1%}, "
            f"live rejected {np.mean(turns < threshold):.1%}"
        )


if __name__ == "__main__":
    main()
