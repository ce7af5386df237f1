"""`rollcall train`'s handler: detect and align the dataset, fine-tune, say what was kept."""

from __future__ import annotations

import argparse

from models.cli import make_embedder, refuse
from models.embedder import FaceEmbedder
from models.evaluation.chips import ChipSet, extract_chips
from models.evaluation.datasets import identity_root, list_identity_photos
from models.training.checkpoints import check_loadable
from models.training.config import TrainConfig
from models.training.freezing import frozen_count
from models.training.loop import TrainResult, describe_epoch, fine_tune
from models.training.losses import MissingTrainExtraError, import_metric_learning


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        loss=args.loss,
        miner=args.miner,
        margin=args.margin,
        epochs=args.epochs,
        p=args.p,
        k=args.k,
        lr=args.lr,
        freeze_until=args.freeze_until,
        val_fraction=args.val_fraction,
        seed=args.seed,
        augment=not args.no_augment,
    )


def train_command(args: argparse.Namespace) -> int:
    try:
        import_metric_learning()  # fail before the slow model loading
        config = config_from_args(args)
        root = identity_root(args.dataset)
    except (MissingTrainExtraError, FileNotFoundError, ValueError) as exc:
        return refuse("train", exc)
    embedder = make_embedder(args)
    if embedder is None:
        return 2
    try:
        frozen_count(embedder.network.backbone, args.freeze_until)  # before the slow detection
    except ValueError as exc:
        return refuse("train", exc)
    paths, labels = list_identity_photos(root)
    chip_set = extract_chips(embedder, root, paths, progress=True)
    label_of = dict(zip(paths, labels, strict=True))
    extra: dict[str, object] = {"dataset": str(root), "photos": chip_set.issues(len(paths))}
    try:
        result = fine_tune(
            embedder,
            chip_set.chips,
            [label_of[path] for path in chip_set.paths],
            config,
            args.out,
            extra=extra,
        )
    except ValueError as exc:
        return refuse("train", exc)
    print_summary(embedder, result, chip_set, len(paths))
    return 0


def print_summary(
    embedder: FaceEmbedder, result: TrainResult, chip_set: ChipSet, photos: int
) -> None:
    """The photos used, the split, the epoch kept and how to use the weights."""
    name = embedder.spec.name
    drift = check_loadable(embedder.spec, embedder.network, result.weights_path, chip_set.chips)
    print(
        f"photos: {len(chip_set.paths)} of {photos} with a face "
        f"(no face: {len(chip_set.no_face)}, unreadable: {len(chip_set.unreadable)})"
    )
    print(f"train identities {len(result.train_identities)}, held out {len(result.val_identities)}")
    print(f"kept {describe_epoch(result.history[result.best_epoch])}")  # each epoch was printed
    if result.best_epoch == 0:
        print(
            "fine-tuning did not beat the base weights on the held-out identities; "
            "the checkpoint holds the base weights (the same weights version: nothing to "
            "re-embed)"
        )
    print(
        f"weights: {result.weights_path} (reloads through {name}'s loader, "
        f"max embedding difference {drift:.2e})"
    )
    print(f"metrics: {result.sidecar_path}; curves: {result.plot_path}")
    print(
        f"use it: rollcall evaluate DATASET --backbone {name} "
        f"--weights {result.weights_path}  (service: ROLLCALL_WEIGHTS_PATH)"
    )
