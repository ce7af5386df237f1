"""Enrollment photos with several faces: refused, or enrolled with the right face, before and now.

LFW dev-train photos are news photos cropped around one person (centred), with neighbours and
bystanders around them: the first photo of `--people` people drawn at random (seed 27), and
the shared group photos, which must refuse. Each photo's faces are found once (the service's
detector at its defaults); then the former rule (`dominant_face`: the widest face, 1.5x wider
than the next) and enrollment's (`main_face`) each answer. An enrolled face is right when it is
LFW's centred one (its box centre within 35 px of the photo's) or the photo's only face.

The constants of `main_face` were chosen on the default draw; `--held-out` measures as many
other people, drawn with another seed.

    python bench/enrollment_faces.py [--people 500] [--held-out] [--lfw ../shared/lfw-devtrain]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.context import embedder_config
from app.core.config import Settings
from app.core.errors import Unprocessable
from app.services.photos import dominant_face, main_face
from models.embedder import AlignedFace, FaceEmbedder
from models.image import Photo, load_image

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def outcome(faces: list[AlignedFace], chosen: AlignedFace | None, width: int, height: int) -> str:
    if chosen is None:
        return "refused"
    x1, y1, x2, y2 = (float(v) for v in chosen.box)
    centred = abs((x1 + x2 - width) / 2) < 35 and abs((y1 + y2 - height) / 2) < 35
    return "right" if centred or len(faces) == 1 else "wrong face"


def chosen(
    rule: str, faces: list[AlignedFace], photo: Photo, settings: Settings
) -> AlignedFace | None:
    """The face the rule enrolls, or None where it refuses (multiple_faces)."""
    try:
        if rule == "before":
            return dominant_face(faces)
        return main_face(faces, photo.width, photo.height, settings.enroll_min_sharpness)[0]
    except Unprocessable:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--lfw", type=Path, default=SHARED / "lfw-devtrain")
    parser.add_argument("--held-out", action="store_true", help="other people than those drawn")
    parser.add_argument("--faces", type=Path, default=SHARED / "faces")
    args = parser.parse_args()
    settings = Settings(_env_file=None)
    embedder = FaceEmbedder(embedder_config(settings))
    people = sorted(p for p in (args.lfw / "people").iterdir() if p.is_dir())
    drawn = random.Random(27).sample(people, args.people)  # the photos the rule was chosen on
    if args.held_out:  # as many others, never looked at while choosing it
        chosen_on = set(drawn)
        drawn = [p for p in random.Random(28).sample(people, len(people)) if p not in chosen_on]
        drawn = drawn[: args.people]
    photos = [sorted(p.glob("*.jpg"))[0] for p in drawn]
    groups = sorted((args.faces / "group").glob("*.jpg"))
    tallies = {"before": Counter(), "now": Counter()}
    for path in [*photos, *groups]:
        photo = load_image(path.read_bytes())
        faces = embedder.aligned_faces(photo)
        if not faces:
            continue
        answers = {
            rule: outcome(faces, chosen(rule, faces, photo, settings), photo.width, photo.height)
            for rule in tallies
        }
        if path in groups:
            enrolled = {
                rule: "refused" if a == "refused" else "enrolled" for rule, a in answers.items()
            }
            print(
                f"group/{path.name}: {len(faces)} faces, before {enrolled['before']}, "
                f"now {enrolled['now']}"
            )
            continue
        for rule, answer in answers.items():
            tallies[rule][answer] += 1
            tallies[rule][f"{min(len(faces), 3)} faces"] += 1
    found = sum(tallies["now"][f"{n} faces"] for n in (1, 2, 3))
    several = found - tallies["now"]["1 faces"]
    print(f"{len(photos)} LFW photos: {found} with a face, {several} with several")
    for rule, tally in tallies.items():
        print(
            f"  {rule:6} right {tally['right']}, refused {tally['refused']} "
            f"(multiple_faces), wrong face enrolled {tally['wrong face']}"
        )


if __name__ == "__main__":
    main()
