"""Pictures of a face as a pinhole camera sees them: flat, bent like a cylinder or creased
down the nose, turned like a head. Used by bench/liveness.py and the liveness tests.

The photo is cropped to the face and printed life size (eye centres 6.3 cm apart), as a
student holding up a friend's print would. The sheet is a developable surface bent about its
vertical axis: a cylinder of radius R (convex or concave towards the camera) or a V-fold whose
two halves each bend back by an angle from a crease through the nose. Each camera pixel's ray
is intersected with the sheet (nearest crossing) and the print sampled bilinearly there.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image

from models.liveness import plane_homography

EYE_CM = 6.3  # eye centre to eye centre on an adult face
CROP_EYES = 3.4  # the print: this many eye distances square around the face
CANVAS = 480
_SAMPLES = 4001  # positions across the sheet, for the crossing of each camera ray


@dataclass(frozen=True)
class Sheet:
    """How the print is bent: "flat", "cylinder" (radius cm, sign: +1 convex to the camera)
    or "fold" (each half's angle, degrees, crease at `crease` cm from the nose)."""

    kind: str
    radius: float = 0.0
    sign: float = 1.0
    angle: float = 0.0
    crease: float = 0.0

    def surface(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x, z) in cm of the sheet at arc length `u` from the crease/axis; z away from the
        camera."""
        if self.kind == "cylinder":
            return self.radius * np.sin(u / self.radius), self.sign * self.radius * (
                1 - np.cos(u / self.radius)
            )
        if self.kind == "fold":
            a = np.radians(self.angle)
            return u * np.cos(a), np.abs(u) * np.sin(a)
        return u, np.zeros_like(u)


@dataclass(frozen=True)
class Pose:
    """Where the sheet is held, fixed over one burst; the yaw is each frame's."""

    pitch: float
    roll: float
    fill: float  # the print's width as a share of the frame
    shift: tuple[float, float]

    @staticmethod
    def random(rng: random.Random) -> Pose:
        return Pose(
            rng.uniform(-15, 15),
            rng.uniform(-10, 10),
            rng.uniform(0.55, 0.8),
            (rng.uniform(-0.08, 0.08) * CANVAS, rng.uniform(-0.08, 0.08) * CANVAS),
        )


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    angles = np.radians([yaw, pitch, roll])
    cy, cp, cr = np.cos(angles)
    sy, sp, sr = np.sin(angles)
    about_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    about_x = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    about_z = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return about_z @ about_x @ about_y


def face_print(photo: Image.Image, eyes: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """The print: the photo's pixels cropped around the face (float, H x W x 3), its cm per
    pixel and the nose-line centre (x, y) in crop pixels. `eyes`: the two eye centres."""
    pixels = np.asarray(photo.convert("RGB"), dtype=np.float32)
    distance = float(np.linalg.norm(eyes[1] - eyes[0]))
    centre = eyes.mean(axis=0) + np.array([0.0, 0.6 * distance])
    half = CROP_EYES * distance / 2
    x0, y0 = (max(0, int(c - half)) for c in centre)
    x1, y1 = (
        min(pixels.shape[1], int(centre[0] + half)),
        min(pixels.shape[0], int(centre[1] + half)),
    )
    return pixels[y0:y1, x0:x1], EYE_CM / distance, centre - np.array([x0, y0])


def view_of_sheet(
    crop: np.ndarray,
    cm_per_pixel: float,
    centre: np.ndarray,
    sheet: Sheet,
    pose: Pose,
    yaw: float,
    rng: random.Random,
) -> Image.Image:
    """One JPEG-compressed camera frame of the print bent as `sheet`, held as `pose`, turned
    by `yaw` degrees about its vertical axis."""
    height, width = crop.shape[:2]
    width_cm = width * cm_per_pixel
    focal = CANVAS * 1.2
    depth = focal * width_cm / (CANVAS * pose.fill)
    turn = rotation(yaw, pose.pitch, pose.roll)
    ys, xs = np.mgrid[0:CANVAS, 0:CANVAS].astype(np.float64)
    rays = np.stack(
        [
            (xs - CANVAS / 2 - pose.shift[0]) / focal,
            (ys - CANVAS / 2 - pose.shift[1]) / focal,
            np.ones_like(xs),
        ],
        axis=-1,
    ).reshape(-1, 3)
    # In the sheet's frame (crease at x = 0): the camera at `origin`, each ray `rays @ turn`.
    origin = turn.T @ np.array([0.0, 0.0, -depth])
    directions = rays @ turn
    left = -centre[0] * cm_per_pixel - sheet.crease
    right = (width - centre[0]) * cm_per_pixel - sheet.crease
    u = np.linspace(left, right, _SAMPLES)
    sx, sz = sheet.surface(u)
    # Every ray leaves the same origin, so where it meets the sheet depends only on its angle
    # in the x-z plane: each sample's angle seen from the origin, interpolated. Where that
    # angle falls back the sheet faces away (or is hidden behind its nearer part): left out.
    seen = np.arctan2(sx - origin[0], sz - origin[2])
    visible = seen >= np.maximum.accumulate(seen)
    ray_angle = np.arctan2(directions[:, 0], directions[:, 2])
    hit_u = np.interp(ray_angle, seen[visible], u[visible], left=np.nan, right=np.nan)
    cx, cz = sheet.surface(np.nan_to_num(hit_u))
    best_t = ((cx - origin[0]) * directions[:, 0] + (cz - origin[2]) * directions[:, 2]) / (
        directions[:, 0] ** 2 + directions[:, 2] ** 2
    )
    v = origin[1] + best_t * directions[:, 1]
    px = (hit_u + sheet.crease) / cm_per_pixel + centre[0]
    py = v / cm_per_pixel + centre[1]
    inside = np.isfinite(px) & (px >= 0) & (px <= width - 1) & (py >= 0) & (py <= height - 1)
    background = np.array([rng.randint(90, 200) for _ in range(3)], dtype=np.float32)
    out = np.tile(background, (len(rays), 1))
    out[inside] = _bilinear(crop, px[inside], py[inside])
    image = Image.fromarray(out.reshape(CANVAS, CANVAS, 3).clip(0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=rng.randint(60, 90))
    return Image.open(io.BytesIO(buffer.getvalue()))


def _bilinear(pixels: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x0 = np.minimum(np.floor(x).astype(int), pixels.shape[1] - 2)
    y0 = np.minimum(np.floor(y).astype(int), pixels.shape[0] - 2)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    top = pixels[y0, x0] * (1 - fx) + pixels[y0, x0 + 1] * fx
    bottom = pixels[y0 + 1, x0] * (1 - fx) + pixels[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def view_of_plane(picture: Image.Image, yaw: float, rng: random.Random) -> Image.Image:
    """The picture as a pinhole camera sees it, turned by `yaw` and randomly tilted, rotated,
    moved and re-compressed."""
    w, h = picture.size
    turn = rotation(yaw, rng.uniform(-20, 20), rng.uniform(-15, 15))
    focal = CANVAS * 1.2
    depth = focal * max(w, h) / (CANVAS * rng.uniform(0.55, 0.85))
    shift = np.array([rng.uniform(-0.1, 0.1) * CANVAS, rng.uniform(-0.1, 0.1) * CANVAS])
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
    seen = []
    for x, y in corners:
        point = turn @ np.array([x - w / 2, y - h / 2, 0.0]) + np.array([0, 0, depth])
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
