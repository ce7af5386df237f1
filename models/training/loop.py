"""`fine_tune`: the training loop, keeping the epoch that scores best on held-out identities."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from tqdm import tqdm

from models.embedder import FaceEmbedder
from models.evaluation.datasets import all_pairs
from models.evaluation.metrics import verification_metrics
from models.files import file_sha256
from models.siamese import SiameseNetwork
from models.training.augment import augment
from models.training.checkpoints import exportable_state_dict, load_exported_state, save_state
from models.training.config import LOSSES, MINERS, TrainConfig
from models.training.data import PKSampler, split_identities
from models.training.freezing import freeze, set_training
from models.training.losses import build_loss, build_miner, default_margin
from models.training.plots import plot_training

WEIGHTS_FILE = "backbone.pt"
SIDECAR_FILE = "backbone.json"
PLOT_FILE = "training.png"
ValKey = Literal["accuracy", "best_accuracy", "best_threshold", "roc_auc", "eer"]
VAL_KEYS: tuple[ValKey, ...] = ("accuracy", "best_accuracy", "best_threshold", "roc_auc", "eer")

# One optimisation step on a batch of chips and labels: (loss, mined triplets); loss None when
# nothing was mined and so no step was taken.
Step = Callable[[torch.Tensor, torch.Tensor], tuple[float | None, int]]


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


@dataclass
class TrainingSplit:
    """The chips of the training identities (as class numbers) and of the held-out ones."""

    train_identities: list[str]
    val_identities: list[str]
    train_chips: torch.Tensor  # (N, S, S, 3) uint8, on the CPU
    train_labels: torch.Tensor  # class number of each training chip
    val_chips: np.ndarray
    val_labels: list[str]


def split_chips(chips: np.ndarray, labels: Sequence[str], config: TrainConfig) -> TrainingSplit:
    train_ids, val_ids = split_identities(labels, config.val_fraction, config.seed)
    names = np.asarray(labels, dtype=object)
    train_idx = np.flatnonzero(np.isin(names, train_ids))
    val_idx = np.flatnonzero(np.isin(names, val_ids))
    class_of = {name: i for i, name in enumerate(train_ids)}
    return TrainingSplit(
        train_identities=train_ids,
        val_identities=val_ids,
        train_chips=torch.from_numpy(np.ascontiguousarray(chips[train_idx])),
        train_labels=torch.tensor([class_of[labels[i]] for i in train_idx.tolist()]),
        val_chips=chips[val_idx],
        val_labels=[labels[i] for i in val_idx.tolist()],
    )


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


def train_epoch(
    network: SiameseNetwork,
    chips: torch.Tensor,
    labels: torch.Tensor,
    sampler: PKSampler,
    step: Step,
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


def resolve_margin(config: TrainConfig, threshold: float) -> float:
    if config.loss not in LOSSES or config.miner not in MINERS:
        raise ValueError(f"loss must be one of {LOSSES} and miner one of {MINERS}")
    return config.margin if config.margin is not None else default_margin(config.loss, threshold)


def make_step(network: SiameseNetwork, config: TrainConfig, margin: float) -> Step:
    """Mine the batch, and take an Adam step on its loss when anything was mined."""
    loss_fn, miner = build_loss(config.loss, margin), build_miner(config.miner, margin)
    trainable = [p for p in network.backbone.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("every layer is frozen: nothing to train")
    optimizer = torch.optim.Adam(trainable, lr=config.lr)

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

    return step


@dataclass
class _Epochs:
    """What every epoch of one run needs."""

    embedder: FaceEmbedder
    split: TrainingSplit
    sampler: PKSampler
    step: Step
    frozen: list[str]
    generator: torch.Generator | None
    weights_path: Path
    progress: bool

    def validate(self) -> dict[str, float] | None:
        return validate(self.embedder, self.split.val_chips, self.split.val_labels)

    def train(self, epoch: int, epochs: int) -> EpochRecord:
        network = self.embedder.network
        set_training(network, network.backbone, self.frozen)
        loss, mined = train_epoch(
            network,
            self.split.train_chips,
            self.split.train_labels,
            self.sampler,
            self.step,
            f"epoch {epoch}/{epochs}",
            self.progress,
            self.generator,
        )
        return EpochRecord(epoch, loss, mined, self.validate())

    def run(self, epochs: int) -> tuple[list[EpochRecord], EpochRecord, dict[str, torch.Tensor]]:
        """(every epoch's record, the best one, its backbone state); epoch 0 is the base."""
        backbone = self.embedder.network.backbone
        history = [EpochRecord(0, None, None, self.validate())]
        self.describe(history[0])
        best, best_state = history[0], exportable_state_dict(backbone)
        save_state(best_state, self.weights_path)
        for epoch in range(1, epochs + 1):
            record = self.train(epoch, epochs)
            history.append(record)
            self.describe(record)
            if _score(record) > _score(best):
                best, best_state = record, exportable_state_dict(backbone)
                save_state(best_state, self.weights_path)  # an interrupted run keeps its best
        return history, best, best_state

    def describe(self, record: EpochRecord) -> None:
        if self.progress:
            tqdm.write(describe_epoch(record))


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
    margin = resolve_margin(config, spec.threshold)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    split = split_chips(chips, labels, config)
    sampler = PKSampler(split.train_labels.tolist(), config.p, config.k, config.seed)
    frozen = freeze(network.backbone, config.freeze_until)
    step = make_step(network, config, margin)
    generator = torch.Generator().manual_seed(config.seed) if config.augment else None
    epochs = _Epochs(
        embedder, split, sampler, step, frozen, generator, out_dir / WEIGHTS_FILE, progress
    )
    history, best, best_state = epochs.run(config.epochs)
    load_exported_state(network.backbone, best_state)
    network.eval()
    title = (
        f"Fine-tuning {spec.name}: {config.loss} loss (margin {margin:g}), {config.miner} mining"
    )
    plot_training(history, best.epoch, out_dir / PLOT_FILE, spec.threshold, title)
    result = TrainResult(
        out_dir / WEIGHTS_FILE,
        out_dir / SIDECAR_FILE,
        out_dir / PLOT_FILE,
        history,
        best.epoch,
        split.train_identities,
        split.val_identities,
        frozen,
    )
    sidecar = _sidecar(embedder, config, margin, result, split, best) | (extra or {})
    result.sidecar_path.write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return result


def _sidecar(
    embedder: FaceEmbedder,
    config: TrainConfig,
    margin: float,
    result: TrainResult,
    split: TrainingSplit,
    best: EpochRecord,
) -> dict[str, object]:
    """What the weights file is, where it came from and how it scored."""
    spec = embedder.spec
    return {
        "base_backbone": spec.name,
        "base_version": embedder.version,
        "weights": WEIGHTS_FILE,
        "sha256": file_sha256(result.weights_path),
        "chip_size": spec.chip_size,
        "embedding_dim": spec.embedding_dim,
        "l2_normalize": spec.l2_normalize,
        "threshold": spec.threshold,  # the one the val accuracy was measured at
        "best_epoch": best.epoch,
        "metrics": best.val,
        "config": {**asdict(config), "margin": margin},
        "train_identities": result.train_identities,
        "val_identities": result.val_identities,
        "train_photos": len(split.train_labels),
        "val_photos": len(split.val_labels),
        "frozen_layers": result.frozen,
        "history": [asdict(record) for record in result.history],
    }


def describe_epoch(record: EpochRecord) -> str:
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
