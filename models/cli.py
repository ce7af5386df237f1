"""The model-level `rollcall` commands: embed, and evaluate/calibrate/train (each in its module).

`app.cli` assembles the full `rollcall` command; this module knows nothing of the service.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models import calibration, evaluation, training
from models.backbones import BACKBONES
from models.embedder import FaceEmbedder
from models.image import ImageError


def add_backbone_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backbone",
        choices=sorted(BACKBONES),
        default="dlib-resnet",
        help="embedding network (default: dlib-resnet, works offline)",
    )
    parser.add_argument(
        "--weights", type=Path, default=None, help="weights file (default: the pretrained ones)"
    )


def _embed_one(embedder: FaceEmbedder, path: Path) -> dict[str, object]:
    try:
        faces = embedder.faces(path)
    except ImageError as exc:
        return {"path": str(path), "faces": [], "error": exc.message}
    except OSError as exc:
        return {"path": str(path), "faces": [], "error": str(exc)}
    return {"path": str(path), "faces": [face.to_json() for face in faces], "error": None}


def embed_command(args: argparse.Namespace) -> int:
    embedder = evaluation.make_embedder(args)
    if embedder is None:
        return 2
    failures = 0
    if not args.json:
        print(f"{'photo':40} {'face':>4} {'box (x1,y1,x2,y2)':>26} {'prob':>6} {'quality':>7}")
    for path in args.photos:
        result = _embed_one(embedder, path)
        failures += result["error"] is not None
        if args.json:
            print(json.dumps(result), flush=True)
            continue
        name = str(path)[-40:]
        if result["error"]:
            print(f"{name:40} error: {result['error']}")
        elif not result["faces"]:
            print(f"{name:40} no face found")
        for index, face in enumerate(result["faces"]):  # type: ignore[arg-type]
            box = ",".join(f"{v:.0f}" for v in face["box"])
            print(
                f"{name if index == 0 else '':40} {index + 1:>4} {box:>26} "
                f"{face['probability']:>6.3f} {face['quality']:>7.2f}"
            )
    if failures:
        print(f"{failures} of {len(args.photos)} photos could not be read", file=sys.stderr)
    return 1 if failures == len(args.photos) else 0


def add_model_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    embed = commands.add_parser("embed", help="detect and embed the faces in photos")
    add_backbone_argument(embed)
    embed.add_argument("--json", action="store_true", help="one JSON object per line per photo")
    embed.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    embed.set_defaults(handler=embed_command)

    evaluate = commands.add_parser(
        "evaluate", help="verification and attendance figures of a backbone on a labelled set"
    )
    evaluation.add_evaluate_arguments(evaluate)
    add_backbone_argument(evaluate)
    evaluate.add_argument(
        "--out", type=Path, default=Path("out/evaluation"), help="folder for report.json and plots"
    )
    evaluate.set_defaults(handler=evaluation.evaluate_command)

    calibrate = commands.add_parser(
        "calibrate", help="choose the threshold meeting a false-accept target; write it to .env"
    )
    calibration.add_calibrate_arguments(calibrate)
    add_backbone_argument(calibrate)
    calibrate.set_defaults(handler=calibration.calibrate_command)

    train = commands.add_parser("train", help="fine-tune a backbone with a metric-learning loss")
    training.add_train_arguments(train)
    add_backbone_argument(train)
    train.set_defaults(handler=training.train_command)
