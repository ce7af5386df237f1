"""`rollcall train`: fine-tune a backbone with a metric-learning loss on a folder-per-identity set.

Faces are detected and aligned once into chips held in memory; training then runs on chips only.
Each step takes a P-K batch (P identities x K photos), augments it (flip, small colour jitter,
small affine), embeds it with the same `SiameseNetwork.embed` the service uses, mines triplets
inside the batch (batch-hard or semi-hard) and applies a contrastive or triplet loss from
pytorch-metric-learning (the optional `train` extra, imported only here). After every epoch the
identities held out of training are scored with the evaluation's verification metrics; the best
epoch's backbone is saved as a state dict that the base `BackboneSpec.load` reads, with a JSON
sidecar of its metrics, and a PNG of the training curves.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from models.backbones import BackboneSpec
from models.cli import make_embedder
from models.embedder import FaceEmbedder
from models.evaluation.chips import extract_chips
from models.evaluation.datasets import all_pairs, identity_root, list_identity_photos
from models.evaluation.metrics import verification_metrics
from models.siamese import SiameseNetwork
from models.train_config import LOSSES, MINERS, TrainConfig

WEIGHTS_FILE = "backbone.pt"
SIDECAR_FILE = "backbone.json"
PLOT_FILE = "training.png"
VAL_KEYS = ("accuracy", "best_accuracy", "best_threshold", "roc_auc", "eer")


class MissingTrainExtraError(RuntimeError):
    """pytorch-metric-learning (the `train` extra) is not installed."""


def _pml() -> tuple[ModuleType, ModuleType, ModuleType, ModuleType]:
    """(distances, losses, miners, reducers) of pytorch-metric-learning, imported on demand."""
    try:
        from pytorch_metric_learning import distances, losses, miners, reducers
    except ImportError as exc:
        raise MissingTrainExtraError(
            "Training needs pytorch-metric-learning, which is not installed. "
            "Install the train extra: pip install 'rollcall[train]'"
        ) from exc
    return distances, losses, miners, reducers


# --------------------------------------------------------------------------- losses, miners


def embedding_distance() -> nn.Module:
    """Plain euclidean distance, as the service compares embeddings.

    pml's LpDistance L2-normalises by default; `SiameseNetwork.embed` already normalises where
    the backbone expects it, and dlib's raw descriptors must stay raw.
    """
    distances, _, _, _ = _pml()
    return distances.LpDistance(normalize_embeddings=False, p=2, power=1)


def build_loss(kind: str, margin: float) -> nn.Module:
    """The textbook losses, averaged over every pair/triplet (not pml's non-zero average).

    contrastive: y * d^2 + (1 - y) * max(0, m - d)^2 per pair, reported as the mean over
        positive pairs plus the mean over negative pairs (pml reduces the two separately, which
        also keeps the many negatives of a P-K batch from drowning the few positives).
    triplet: max(0, d(a, p) - d(a, n) + m) per triplet, averaged over the triplets.
    """
    _, losses, _, reducers = _pml()
    if kind == "contrastive":

        class SquaredContrastiveLoss(losses.ContrastiveLoss):  # type: ignore[misc, name-defined]
            # pml's hinge terms are relu(d - 0) and relu(m - d); the textbook squares both.
            def pos_calc(self, pos_pair_dist: torch.Tensor, margin: float) -> torch.Tensor:
                return super().pos_calc(pos_pair_dist, margin) ** 2

            def neg_calc(self, neg_pair_dist: torch.Tensor, margin: float) -> torch.Tensor:
                return super().neg_calc(neg_pair_dist, margin) ** 2

        return SquaredContrastiveLoss(
            pos_margin=0.0,
            neg_margin=margin,
            distance=embedding_distance(),
            reducer=reducers.MeanReducer(),
        )
    if kind == "triplet":
        return losses.TripletMarginLoss(
            margin=margin, distance=embedding_distance(), reducer=reducers.MeanReducer()
        )
    raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")


def build_miner(kind: str, margin: float) -> nn.Module:
    """batch-hard: per anchor, its farthest positive and nearest negative in the batch.
    semi-hard: every triplet with d(a, p) < d(a, n) <= d(a, p) + margin."""
    _, _, miners, _ = _pml()
    if kind == "batch-hard":
        return miners.BatchHardMiner(distance=embedding_distance())
    if kind == "semi-hard":
        return miners.TripletMarginMiner(
            margin=margin, type_of_triplets="semihard", distance=embedding_distance()
        )
    raise ValueError(f"unknown miner {kind!r}; choose one of {', '.join(MINERS)}")


def default_margin(loss: str, threshold: float) -> float:
    """Margins in the backbone's distance units: dlib's threshold is 0.6, facenet's 1.0.

    contrastive pushes impostors beyond the decision threshold itself; triplet asks for a gap
    of a fifth of it (FaceNet's 0.2 on unit-length embeddings).
    """
    return threshold if loss == "contrastive" else 0.2 * threshold


# --------------------------------------------------------------------------- data


def split_identities(
    labels: Sequence[str], val_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """(train, validation) identities, disjoint and deterministic.

    Identities with two or more photos and single-photo ones are split separately, so both
    sides get photos that form genuine pairs (the only ones that can train or test matching).
    """
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    rng = np.random.default_rng(seed)
    train: list[str] = []
    val: list[str] = []
    for group in (
        sorted(name for name, n in counts.items() if n >= 2),
        sorted(name for name, n in counts.items() if n < 2),
    ):
        shuffled = [group[i] for i in rng.permutation(len(group))]
        take = round(val_fraction * len(shuffled))
        if val_fraction > 0 and group and counts[group[0]] >= 2:
            take = min(max(take, 1), len(shuffled) - 2)  # training needs two such identities
        take = max(take, 0)
        val += shuffled[:take]
        train += shuffled[take:]
    return sorted(train), sorted(val)


class PKSampler:
    """Batches of P identities x K photos (identities with fewer than K photos repeat some).

    Only identities with at least two photos are drawn: a batch-hard or semi-hard miner needs a
    positive for each anchor. An epoch visits every identity at least once and draws about as
    many photos as the training set holds.
    """

    def __init__(self, labels: Sequence[int], p: int, k: int, seed: int) -> None:
        by_class: dict[int, list[int]] = {}
        for index, label in enumerate(labels):
            by_class.setdefault(int(label), []).append(index)
        self.by_class = {c: idx for c, idx in by_class.items() if len(idx) >= 2}
        if len(self.by_class) < 2:
            raise ValueError("training needs at least two identities with two or more photos")
        self.classes = sorted(self.by_class)
        self.p = min(p, len(self.classes))
        self.k = k
        photos = sum(len(idx) for idx in self.by_class.values())
        self.batches = max(math.ceil(len(self.classes) / self.p), math.ceil(photos / (p * k)))
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.batches

    def _photos(self, cls: int) -> list[int]:
        photos = self.by_class[cls]
        chosen = [photos[i] for i in self.rng.permutation(len(photos))[: self.k]]
        if len(chosen) < self.k:
            chosen += [photos[i] for i in self.rng.integers(len(photos), size=self.k - len(chosen))]
        return chosen

    def __iter__(self) -> Iterator[list[int]]:
        queue: list[int] = []
        for _ in range(self.batches):
            batch_classes: list[int] = []
            while len(batch_classes) < self.p:
                if not queue:
                    queue = [self.classes[i] for i in self.rng.permutation(len(self.classes))]
                cls = queue.pop(0)
                if cls in batch_classes:  # at a permutation's seam: draw a class not yet in
                    spare = [c for c in self.classes if c not in batch_classes]
                    cls = spare[self.rng.integers(len(spare))]
                batch_classes.append(cls)
            yield [index for cls in batch_classes for index in self._photos(cls)]


# --------------------------------------------------------------------------- augmentation


def augment(chips: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random flip, small affine (+-6 deg, +-5% scale, +-3% shift), small colour jitter.

    Kept small on purpose: the chips are already aligned, and the service's chips never come
    rotated or off-centre by more than alignment noise.
    """
    n = chips.shape[0]

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, *shape, generator=generator)

    flip = torch.rand(n, generator=generator) < 0.5
    chips = torch.where(flip.view(n, 1, 1, 1), chips.flip(-1), chips)
    angle = torch.deg2rad(uniform(-6.0, 6.0))
    scale = uniform(0.95, 1.05)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin, uniform(-0.06, 0.06)], 1),
            torch.stack([sin, cos, uniform(-0.06, 0.06)], 1),
        ],
        1,
    ).to(chips)
    grid = F.affine_grid(theta, list(chips.shape), align_corners=False)
    chips = F.grid_sample(chips, grid, mode="bilinear", padding_mode="border", align_corners=False)
    brightness = uniform(0.9, 1.1, 1, 1, 1).to(chips)
    contrast = uniform(0.9, 1.1, 1, 1, 1).to(chips)
    tint = uniform(0.96, 1.04, 3, 1, 1).to(chips)
    mean = chips.mean(dim=(1, 2, 3), keepdim=True)
    chips = ((chips - mean) * contrast + mean) * brightness * tint
    return chips.clamp(0.0, 255.0)


# --------------------------------------------------------------------------- freezing


def layer_units(backbone: nn.Module) -> list[tuple[str, nn.Module]]:
    """The backbone's layers in forward order, the units `--freeze-until` counts and names.

    Sequential containers are opened up (dlib's `layers.0.1` is one residual block), and so is a
    wrapper with a single child (facenet's `network`).
    """
    units: list[tuple[str, nn.Module]] = []

    def walk(prefix: str, module: nn.Module) -> None:
        children = list(module.named_children())
        own = any(True for _ in module.parameters(recurse=False))
        opened = isinstance(module, nn.Sequential | nn.ModuleList) or (
            len(children) == 1 and not own
        )
        if children and (opened or not prefix):
            for name, child in children:
                walk(f"{prefix}.{name}" if prefix else name, child)
        elif any(True for _ in module.parameters()):
            units.append((prefix, module))

    walk("", backbone)
    return units


def frozen_count(backbone: nn.Module, until: str | None) -> int:
    """How many of `layer_units` `--freeze-until` names (a unit name or prefix, or a count)."""
    if not until:
        return 0
    names = [name for name, _ in layer_units(backbone)]
    if until.isdigit():
        if int(until) > len(names):
            raise ValueError(f"--freeze-until {until}: the backbone has only {len(names)} layers")
        return int(until)
    matches = [i for i, name in enumerate(names) if name == until or name.startswith(f"{until}.")]
    if not matches:
        raise ValueError(f"--freeze-until {until!r}: no such layer; layers: {', '.join(names)}")
    return matches[-1] + 1


def freeze(backbone: nn.Module, until: str | None) -> list[str]:
    """Freeze every layer up to and including `until`; the names of the frozen layers."""
    units = layer_units(backbone)[: frozen_count(backbone, until)]
    for _, module in units:
        module.requires_grad_(False)
    return [name for name, _ in units]


def set_training(network: nn.Module, backbone: nn.Module, frozen: Sequence[str]) -> None:
    """Train mode, except frozen layers: their batch-norm statistics must not move either."""
    network.train()
    modules = dict(backbone.named_modules())
    for name in frozen:
        modules[name].eval()


# --------------------------------------------------------------------------- checkpoints


def exportable_state_dict(backbone: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict the base spec's `load(weights_path)` expects.

    facenet's loader builds a bare InceptionResnetV1, so the wrapper's `network.` is dropped.
    """
    from models.backbones.facenet import FacenetBackbone

    module = backbone.network if isinstance(backbone, FacenetBackbone) else backbone
    return {key: value.detach().cpu().clone() for key, value in module.state_dict().items()}


def _save_atomic(state: dict[str, torch.Tensor], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- the loop


@dataclass
class EpochRecord:
    epoch: int  # 0: the weights before training
    train_loss: float | None  # over batches that mined something; None: none did
    mined_per_batch: float | None
    val: dict[str, float] | None


@dataclass
class TrainResult:
    weights_path: Path
    sidecar_path: Path
    plot_path: Path
    history: list[EpochRecord]
    best_epoch: int
    train_identities: list[str]
    val_identities: list[str]
    frozen: list[str] = field(default_factory=list)


def _to_tensor(chips: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(chips)).to(device).permute(0, 3, 1, 2).float()


def validate(
    embedder: FaceEmbedder, chips: np.ndarray, labels: Sequence[str]
) -> dict[str, float] | None:
    """Verification figures on the held-out identities (None without both kinds of pair),
    embedded and compared exactly as the service does, at the backbone's threshold."""
    first, second, same = all_pairs(labels)
    if not same.any() or same.all():
        return None
    embedder.network.eval()
    embeddings = embedder.embed_chips(chips)
    distances = embedder.distances(embeddings, embeddings)
    metrics = verification_metrics(distances[first, second], same, embedder.spec.threshold)
    return {key: float(metrics[key]) for key in VAL_KEYS}


def _score(record: EpochRecord) -> tuple[float, ...]:
    if record.val is None:
        return (record.epoch,)  # nothing to compare: the latest epoch wins
    return (record.val["roc_auc"], record.val["best_accuracy"], record.val["accuracy"])


def _train_epoch(
    network: SiameseNetwork,
    chips: torch.Tensor,
    labels: torch.Tensor,
    sampler: PKSampler,
    step: Callable[[torch.Tensor, torch.Tensor], tuple[float | None, int]],
    description: str,
    progress: bool,
    generator: torch.Generator | None,
) -> tuple[float | None, float]:
    """One pass of P-K batches; (mean loss, mean mined triplets per batch).

    The loss is averaged over the batches that mined something: a batch with nothing to mine
    took no step, and counting it as loss 0 would flatter the epoch (None: every batch empty).
    """
    device = next(network.parameters()).device
    losses: list[float] = []
    mined: list[int] = []
    bar = tqdm(sampler, desc=description, unit="batch", disable=not progress, leave=False)
    for batch in bar:
        index = torch.tensor(batch)
        batch_chips = chips[index].permute(0, 3, 1, 2).float()
        if generator is not None:
            batch_chips = augment(batch_chips, generator)
        loss, count = step(batch_chips.to(device), labels[index].to(device))
        mined.append(count)
        if loss is not None:
            losses.append(loss)
        bar.set_postfix(
            loss="-" if loss is None else f"{loss:.4f}",
            mined=count,
            empty_batches=len(mined) - len(losses),
        )
    return (float(np.mean(losses)) if losses else None), float(np.mean(mined))


def fine_tune(
    embedder: FaceEmbedder,
    chips: np.ndarray,
    labels: Sequence[str],
    config: TrainConfig,
    out_dir: Path,
    *,
    progress: bool = True,
    extra: dict[str, object] | None = None,
) -> TrainResult:
    """Fine-tune `embedder.network.backbone` on (N, S, S, 3) uint8 chips labelled by identity.

    Writes the best epoch's weights, the JSON sidecar and the training-curve PNG to `out_dir`
    and leaves the embedder's network holding the best weights.
    """
    spec, network = embedder.spec, embedder.network
    if config.loss not in LOSSES or config.miner not in MINERS:
        raise ValueError(f"loss must be one of {LOSSES} and miner one of {MINERS}")
    margin = (
        config.margin if config.margin is not None else default_margin(config.loss, spec.threshold)
    )
    loss_fn, miner = build_loss(config.loss, margin), build_miner(config.miner, margin)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)

    train_ids, val_ids = split_identities(labels, config.val_fraction, config.seed)
    names = np.asarray(labels, dtype=object)
    train_idx = np.flatnonzero(np.isin(names, train_ids))
    val_idx = np.flatnonzero(np.isin(names, val_ids))
    class_of = {name: i for i, name in enumerate(train_ids)}
    train_chips = torch.from_numpy(np.ascontiguousarray(chips[train_idx]))  # uint8, on the CPU
    train_labels = torch.tensor([class_of[labels[i]] for i in train_idx])
    val_chips, val_labels = chips[val_idx], [labels[i] for i in val_idx]
    sampler = PKSampler(train_labels.tolist(), config.p, config.k, config.seed)

    backbone = network.backbone
    frozen = freeze(backbone, config.freeze_until)
    trainable = [p for p in backbone.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("every layer is frozen: nothing to train")
    optimizer = torch.optim.Adam(trainable, lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed) if config.augment else None

    def step(batch: torch.Tensor, batch_labels: torch.Tensor) -> tuple[float | None, int]:
        embeddings = network.embed(batch)
        triplets = miner(embeddings, batch_labels)
        if len(triplets[0]) == 0:
            return None, 0  # nothing violates the margin in this batch: no gradient to follow
        loss = loss_fn(embeddings, batch_labels, triplets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.detach()), len(triplets[0])

    weights_path = out_dir / WEIGHTS_FILE
    history = [EpochRecord(0, None, None, validate(embedder, val_chips, val_labels))]
    if progress:
        tqdm.write(_describe(history[0]))
    best, best_state = history[0], exportable_state_dict(backbone)
    _save_atomic(best_state, weights_path)
    for epoch in range(1, config.epochs + 1):
        set_training(network, backbone, frozen)
        loss, mined = _train_epoch(
            network,
            train_chips,
            train_labels,
            sampler,
            step,
            f"epoch {epoch}/{config.epochs}",
            progress,
            generator,
        )
        record = EpochRecord(epoch, loss, mined, validate(embedder, val_chips, val_labels))
        history.append(record)
        if progress:
            tqdm.write(_describe(record))
        if _score(record) > _score(best):
            best, best_state = record, exportable_state_dict(backbone)
            _save_atomic(best_state, weights_path)  # an interrupted run keeps its best so far

    backbone.load_state_dict(_wrap_state(backbone, best_state))
    network.eval()
    plot_path = out_dir / PLOT_FILE
    title = (
        f"Fine-tuning {spec.name}: {config.loss} loss (margin {margin:g}), {config.miner} mining"
    )
    plot_training(history, best.epoch, plot_path, spec.threshold, title)
    result = TrainResult(
        weights_path,
        out_dir / SIDECAR_FILE,
        plot_path,
        history,
        best.epoch,
        train_ids,
        val_ids,
        frozen,
    )
    sidecar = {
        "base_backbone": spec.name,
        "base_version": embedder.version,
        "weights": WEIGHTS_FILE,
        "sha256": _sha256(weights_path),
        "chip_size": spec.chip_size,
        "embedding_dim": spec.embedding_dim,
        "l2_normalize": spec.l2_normalize,
        "threshold": spec.threshold,  # the one the val accuracy was measured at
        "best_epoch": best.epoch,
        "metrics": best.val,
        "config": {**asdict(config), "margin": margin},
        "train_identities": train_ids,
        "val_identities": val_ids,
        "train_photos": len(train_idx),
        "val_photos": len(val_idx),
        "frozen_layers": frozen,
        "history": [asdict(record) for record in history],
        **(extra or {}),
    }
    result.sidecar_path.write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return result


def _wrap_state(backbone: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Undo `exportable_state_dict`'s unwrapping, to load the state back into `backbone`."""
    from models.backbones.facenet import FacenetBackbone

    if isinstance(backbone, FacenetBackbone):
        return {f"network.{key}": value for key, value in state.items()}
    return state


def _describe(record: EpochRecord) -> str:
    """One readable line per epoch (epoch 0: the weights before training)."""
    if record.epoch == 0:
        text = "epoch 0 (before training)"
    else:
        loss = "n/a (nothing mined)" if record.train_loss is None else f"{record.train_loss:.4f}"
        mined = "n/a" if record.mined_per_batch is None else f"{record.mined_per_batch:.1f}"
        text = f"epoch {record.epoch}: loss {loss}, mined {mined} per batch"
    val = record.val
    if val:
        text += (
            f"; held-out accuracy {val['accuracy']:.2%} (best {val['best_accuracy']:.2%}),"
            f" AUC {val['roc_auc']:.4f}, EER {val['eer']:.2%}"
        )
    return text


def plot_training(
    history: Sequence[EpochRecord], best_epoch: int, path: Path, threshold: float, title: str = ""
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (loss_ax, val_ax) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    trained = [r for r in history if r.train_loss is not None]
    loss_ax.plot(
        [r.epoch for r in trained], [r.train_loss for r in trained], "o-", label="train loss"
    )
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("mean loss per batch")
    loss_ax.set_title("Training loss")
    loss_ax.grid(alpha=0.3)
    loss_ax.legend()
    scored = [r for r in history if r.val is not None]
    if scored:
        epochs = [r.epoch for r in scored]
        val_ax.plot(
            epochs,
            [r.val["accuracy"] for r in scored],
            "o-",
            label=f"accuracy at threshold {threshold:g}",
        )
        val_ax.plot(epochs, [r.val["best_accuracy"] for r in scored], "s--", label="best accuracy")
        val_ax.plot(epochs, [r.val["roc_auc"] for r in scored], "^-", label="ROC AUC")
        val_ax.axvline(best_epoch, color="grey", ls=":", label=f"kept: epoch {best_epoch}")
        val_ax.legend(fontsize=8)
    else:
        val_ax.text(0.5, 0.5, "no held-out pairs to score", ha="center", transform=val_ax.transAxes)
    val_ax.set_xlabel("epoch (0: before training)")
    val_ax.set_ylabel("held-out verification")
    val_ax.set_title("Held-out identities")
    val_ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def check_loadable(
    spec: BackboneSpec, network: SiameseNetwork, weights: Path, chips: np.ndarray
) -> float:
    """Reload the saved weights through `spec.load` and return the largest embedding difference
    from the network in memory on a few chips (it should be ~0)."""
    device = next(network.parameters()).device
    reloaded = SiameseNetwork(spec.load(weights), spec.l2_normalize).to(device).eval()
    network.eval()
    sample = _to_tensor(chips[:4], device)
    with torch.no_grad():
        return float((reloaded.embed(sample) - network.embed(sample)).abs().max())


# --------------------------------------------------------------------------- command


def train_command(args: argparse.Namespace) -> int:
    try:
        _pml()  # fail before the slow model loading
        config = TrainConfig(
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
        root = identity_root(args.dataset)
    except (MissingTrainExtraError, FileNotFoundError, ValueError) as exc:
        print(f"rollcall train: {exc}", file=sys.stderr)
        return 2
    embedder = make_embedder(args)
    if embedder is None:
        return 2
    try:
        frozen_count(embedder.network.backbone, args.freeze_until)  # before the slow detection
    except ValueError as exc:
        print(f"rollcall train: {exc}", file=sys.stderr)
        return 2
    paths, labels = list_identity_photos(root)
    chip_set = extract_chips(embedder, root, paths, progress=True)
    label_of = dict(zip(paths, labels, strict=True))
    kept_labels = [label_of[path] for path in chip_set.paths]
    try:
        result = fine_tune(
            embedder,
            chip_set.chips,
            kept_labels,
            config,
            args.out,
            extra={"dataset": str(root), "photos": chip_set.issues(len(paths))},
        )
    except ValueError as exc:
        print(f"rollcall train: {exc}", file=sys.stderr)
        return 2
    drift = check_loadable(embedder.spec, embedder.network, result.weights_path, chip_set.chips)
    print(
        f"photos: {len(chip_set.paths)} of {len(paths)} with a face "
        f"(no face: {len(chip_set.no_face)}, unreadable: {len(chip_set.unreadable)})"
    )
    print(f"train identities {len(result.train_identities)}, held out {len(result.val_identities)}")
    best = result.history[result.best_epoch]
    print(f"kept {_describe(best)}")  # each epoch was printed once, as it ended
    if result.best_epoch == 0:
        print(
            "fine-tuning did not beat the base weights on the held-out identities; "
            "the checkpoint holds the base weights (the same weights version: nothing to "
            "re-embed)"
        )
    print(
        f"weights: {result.weights_path} (reloads through {embedder.spec.name}'s loader, "
        f"max embedding difference {drift:.2e})"
    )
    print(f"metrics: {result.sidecar_path}; curves: {result.plot_path}")
    print(
        f"use it: rollcall evaluate DATASET --backbone {embedder.spec.name} "
        f"--weights {result.weights_path}  (service: ROLLCALL_WEIGHTS_PATH)"
    )
    return 0
