"""The cases bench/liveness.py measures: live turns and attacks, as 5-point landmarks per frame
with each frame's capture time, filmed at the kiosk's times (app/api/pages/static/js/kiosk.js).

Live: there is no video of a real turn among the shared photos, so a turn is made of LFW
photos of one person: a person asked to turn starts moving after a reaction time and turns
with the bell-shaped speed of a voluntary movement (a minimum-jerk path); at each capture
time the photo whose pose is nearest that path's is the frame. The pose is read from the
landmarks by another measure than the decision's: the nose's offset along the eye line (affine,
not projective), 0.5 for a frontal face; a difference of AFFINE_TURN (about 20 degrees of yaw
for an average face) is a turn. Such a burst mixes photos of other days, light and expression:
noisier than a video, so its figures lean against the live person.

Attacks, each in the direction that answers the challenge, as an attacker who has tried:
* print, phone: one photo turned like a head, tilted and rotated anew each frame (the
  benchmark of the first liveness check);
* cylinder: a print bent round (radius 8-30 cm, either way), turned 10-40 degrees;
* fold: a print creased down the nose, each half bent back 15-35 degrees, turned 10-40;
* mirror: a photo on a phone, then the same photo mirrored (one tap);
* swap: two photos of the person about 20 degrees of yaw apart, one after the other.
A replay of a real turn on a screen moves as the live bursts do: it is not simulated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from bench.lfw import person_half
from bench.liveness_render import Pose, Sheet, face_print, on_phone, view_of_plane, view_of_sheet
from models.detection import DetectedFace, FaceDetector
from models.face_shape import FaceShape
from models.image import Photo
from models.liveness import Action

TURNS = [Action.turn_left, Action.turn_right]  # the cases simulate turns: yaw, not pitch

AFFINE_TURN = 0.14  # see the module's docstring
KIOSK_MS = (
    0,
    200,
    400,
    600,
    800,
    1000,
    1200,
    1400,
)  # BURST_AT_MS of app/api/pages/static/js/kiosk.js
# A person's reaction to the prompt, then the turn's duration (ms): judgement from reaction
# times (300 ms or more) and voluntary head turns of 20 degrees (0.4-1 s), not measured.
REACTION_MS = (250.0, 600.0)
TURN_MS = (400.0, 1000.0)
ATTACKS = ("print", "phone", "cylinder", "fold", "mirror", "swap")


@dataclass(frozen=True)
class Case:
    kind: str  # "live" or one of ATTACKS
    action: Action
    frames: list[np.ndarray | None]  # 5-point landmarks per frame; None: no face found
    times_ms: tuple[float, ...] = KIOSK_MS
    # dlib's 68 landmarks per frame (models/face_shape.py), None where no face was found
    shapes: list[np.ndarray | None] = field(default_factory=list)


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


Seen = tuple[np.ndarray, np.ndarray] | tuple[None, None]  # 5 and 68 landmarks of a frame


@cache
def face_shape() -> FaceShape:
    return FaceShape()


def detect_both(detector: FaceDetector, image: Image.Image) -> Seen:
    """MTCNN's 5 landmarks of the central face and dlib's 68 in its box; None, None: none."""
    pixels = np.asarray(image.convert("RGB"))
    face = central_face(detector.detect(Photo(pixels)), image.width, image.height)
    if face is None:
        return None, None
    return face.landmarks, face_shape().points(pixels, face.box)


def detect(detector: FaceDetector, image: Image.Image) -> np.ndarray | None:
    pixels = np.asarray(image.convert("RGB"))
    face = central_face(detector.detect(Photo(pixels)), image.width, image.height)
    return None if face is None else face.landmarks


def in_half(folder: Path, half: int | None) -> bool:
    """The person's folder is in `half` (bench/lfw.py person_half); None: every person."""
    return half is None or person_half(folder.name) == half


def minimum_jerk(share: np.ndarray) -> np.ndarray:
    """How far along a voluntary movement is at `share` (0-1) of its duration."""
    s = np.clip(share, 0.0, 1.0)
    return 10 * s**3 - 15 * s**4 + 6 * s**5


def turn_path(rng: random.Random, times: tuple[float, ...] = KIOSK_MS) -> np.ndarray:
    """How far along its turn a head is at each capture time, 0 to 1."""
    start, duration = rng.uniform(*REACTION_MS), rng.uniform(*TURN_MS)
    return minimum_jerk((np.asarray(times) - start) / duration)


@dataclass(frozen=True)
class Posed:
    """One person's photos with a face: their landmarks and affine yaw, in order of yaw."""

    name: str
    photos: list[Path]
    marks: list[np.ndarray]
    yaws: list[float]
    shapes: list[np.ndarray] = field(default_factory=list)  # dlib's 68 landmarks


def posed_people(
    detector: FaceDetector, lfw: Path, people: int, rng: random.Random, half: int | None = None
) -> list[Posed]:
    folders = [
        f
        for f in sorted((lfw / "people").iterdir())
        if len(list(f.glob("*.jpg"))) >= 6 and in_half(f, half)
    ]
    chosen = []
    for folder in rng.sample(folders, min(people, len(folders))):
        found = []
        for path in sorted(folder.glob("*.jpg"))[:16]:
            marks, shape = detect_both(detector, Image.open(path))
            if marks is not None and shape is not None:
                found.append((affine_yaw(marks), path, marks, shape))
        found.sort(key=lambda item: item[0])
        chosen.append(
            Posed(
                folder.name,
                [item[1] for item in found],
                [item[2] for item in found],
                [item[0] for item in found],
                [item[3] for item in found],
            )
        )
    return chosen


def live_cases(
    people: list[Posed], rng: random.Random, span: tuple[float, float] = (1.0, 2.0)
) -> list[Case]:
    """Per person, a turn each way across the span of AFFINE_TURN to twice it (`span`, in
    AFFINE_TURNs: (0.5, 1) for small turns of about 10-20 degrees) that has the most photos
    between its ends (a turn needs poses between; none: no case)."""
    cases = []
    for person in people:
        yaws = np.array(person.yaws)
        spans = [
            (int(np.sum((yaws > yaws[a]) & (yaws < yaws[b]))), a, b)
            for a in range(len(yaws))
            for b in range(a + 1, len(yaws))
            if span[0] * AFFINE_TURN <= yaws[b] - yaws[a] <= span[1] * AFFINE_TURN
        ]
        if not spans or max(spans)[0] < 1:
            continue
        _, first, last = max(spans)
        for action, ends in ((Action.turn_left, (first, last)), (Action.turn_right, (last, first))):
            start, end = yaws[ends[0]], yaws[ends[1]]
            low, high = min(ends), max(ends)
            indices = []
            for along in turn_path(rng):
                wanted = start + along * (end - start)
                indices.append(low + int(np.argmin(np.abs(yaws[low : high + 1] - wanted))))
            frames: list[np.ndarray | None] = [person.marks[i] for i in indices]
            shapes: list[np.ndarray | None] = (
                [person.shapes[i] for i in indices] if person.shapes else []
            )
            cases.append(Case("live", action, frames, shapes=shapes))
    return cases


def attack_cases(
    detector: FaceDetector,
    lfw: Path,
    people: list[Posed],
    kind: str,
    count: int,
    rng: random.Random,
    half: int | None = None,
) -> list[Case]:
    """`count` attacks of `kind` on photos of `half`'s people (None: anyone's)."""
    photos = [p for p in sorted((lfw / "people").glob("*/*.jpg")) if in_half(p.parent, half)]
    cases = []
    while len(cases) < count:
        action = rng.choice(TURNS)
        seen: list[Seen] | None
        if kind in ("print", "phone"):
            photo = Image.open(rng.choice(photos)).convert("RGB")
            picture = photo if kind == "print" else on_phone(photo)
            yaws = np.linspace(-5, 40, len(KIOSK_MS)) * action.direction * rng.choice([1, -1])
            seen = [detect_both(detector, view_of_plane(picture, float(y), rng)) for y in yaws]
        elif kind in ("cylinder", "fold"):
            seen = _bent_print(detector, Image.open(rng.choice(photos)), kind, action, rng)
        elif kind == "mirror":
            seen = _mirror_pair(detector, Image.open(rng.choice(photos)), action, rng)
        else:
            seen = _swap(detector, rng.choice(people), action, rng)
        if seen is not None:
            cases.append(Case(kind, action, [m for m, _ in seen], shapes=[s for _, s in seen]))
    return cases


def _bent_print(
    detector: FaceDetector, photo: Image.Image, kind: str, action: Action, rng: random.Random
) -> list[Seen] | None:
    photo = photo.convert("RGB")
    marks = detect(detector, photo)
    if marks is None:
        return None
    if kind == "cylinder":
        sheet = Sheet("cylinder", radius=rng.uniform(8, 30), sign=rng.choice([1.0, -1.0]))
    else:
        sheet = Sheet("fold", angle=rng.uniform(15, 35), crease=rng.uniform(-0.4, 0.4))
    crop, cm_per_pixel, centre = face_print(photo, marks[:2])
    pose, turned = Pose.random(rng), rng.uniform(10, 40)
    # Turning a convex sheet (or a ridge fold) to positive yaw moves its nose to smaller u, a
    # concave one to larger: the attacker turns it the way that answers.
    sign = -action.direction * sheet.sign
    yaws = -5 + (turned + 5) * turn_path(rng)
    return [
        detect_both(detector, view_of_sheet(crop, cm_per_pixel, centre, sheet, pose, sign * y, rng))
        for y in yaws
    ]


def _held_still(
    detector: FaceDetector, pictures: list[Image.Image], rng: random.Random
) -> list[Seen]:
    """Each picture on a phone held nearly still in front of the camera (a flat sheet)."""
    pose = Pose.random(rng)
    frames = []
    for picture in pictures:
        phone = np.asarray(on_phone(picture), dtype=np.float32)
        height, width = phone.shape[:2]
        # A phone about 7 cm wide; the sheet's scale only sets the perspective.
        centre = np.array([width / 2, height / 2])
        view = view_of_sheet(
            phone, 7.0 / width, centre, Sheet("flat"), pose, rng.uniform(-3, 3), rng
        )
        frames.append(detect_both(detector, view))
    return frames


def _switch_frames(rng: random.Random) -> int:
    """Frames shown before the switch: the attacker taps between two of the kiosk's frames."""
    return rng.randint(1, len(KIOSK_MS) - 1)


def _mirror_pair(
    detector: FaceDetector, photo: Image.Image, action: Action, rng: random.Random
) -> list[Seen] | None:
    photo = photo.convert("RGB")
    marks = detect(detector, photo)
    if marks is None or abs(affine_yaw(marks) - 0.5) < AFFINE_TURN / 4:
        return None  # a frontal photo's mirror is the same pose: nothing to gain
    mirrored = ImageOps.mirror(photo)
    # Mirroring moves the nose to the other side of the face: first the side the turn starts on.
    first, second = (
        (photo, mirrored) if (0.5 - affine_yaw(marks)) * action.direction > 0 else (mirrored, photo)
    )
    switch = _switch_frames(rng)
    return _held_still(detector, [first] * switch + [second] * (len(KIOSK_MS) - switch), rng)


def _swap(
    detector: FaceDetector, person: Posed, action: Action, rng: random.Random
) -> list[Seen] | None:
    yaws = np.array(person.yaws)
    pairs = [
        (a, b)
        for a in range(len(yaws))
        for b in range(a + 1, len(yaws))
        if yaws[b] - yaws[a] >= AFFINE_TURN
    ]
    if not pairs:
        return None
    low, high = rng.choice(pairs)
    first, second = (low, high) if action is Action.turn_left else (high, low)
    pictures = [Image.open(person.photos[i]).convert("RGB") for i in (first, second)]
    switch = _switch_frames(rng)
    return _held_still(
        detector, [pictures[0]] * switch + [pictures[1]] * (len(KIOSK_MS) - switch), rng
    )
