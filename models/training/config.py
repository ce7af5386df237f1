"""What `rollcall train` can be asked for. Free of torch: the CLI's help shows these defaults."""

from __future__ import annotations

from dataclasses import dataclass

LOSSES = ("contrastive", "triplet")
MINERS = ("batch-hard", "semi-hard")


@dataclass(frozen=True)
class TrainConfig:
    loss: str = "triplet"
    miner: str = "batch-hard"
    margin: float | None = None  # None: `models.training.losses.default_margin`
    epochs: int = 10
    p: int = 8  # identities per batch
    k: int = 4  # photos per identity in a batch
    lr: float = 1e-4  # Adam's learning rate
    freeze_until: str | None = None
    val_fraction: float = 0.25
    seed: int = 0
    augment: bool = True
