"""Fine-tuning: the same loop `rollcall train` runs, on a tiny backbone and synthetic faces.

The synthetic "faces" are coarse colour patterns, one per identity; each photo of an identity
changes its brightness, contrast and colour cast and adds noise. An untrained network mostly
sees those nuisances, so held-out identities are poorly separated until training teaches it to
ignore them: the loss must fall and the held-out verification must rise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from models.backbones import BACKBONES, BackboneSpec
from models.backbones.dlib_resnet import DlibResNet
from models.embedder import EmbedderConfig, FaceEmbedder
from models.siamese import SiameseNetwork
from models.training.augment import augment
from models.training.checkpoints import check_loadable, exportable_state_dict
from models.training.config import TrainConfig
from models.training.data import PKSampler, split_identities
from models.training.freezing import freeze, layer_units
from models.training.loop import EpochRecord, describe_epoch, fine_tune, train_epoch

CHIP = 32


class TinyNet(nn.Module):
    """(N, 3, 32, 32) chips in 0..255 -> (N, 16), like a real backbone's interface."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2), nn.ReLU()
        )
        self.fc = nn.Linear(16 * 7 * 7, 16)

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features((chips - 127.5) / 128.0).flatten(1))


def load_tiny(weights_path: Path | None) -> nn.Module:
    torch.manual_seed(0)  # the "pretrained" weights: the same every time
    network = TinyNet()
    if weights_path is not None:
        network.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    return network.eval()


TINY = BackboneSpec(
    name="tiny-test",
    embedding_dim=16,
    chip_size=CHIP,
    template=np.zeros((5, 2), dtype=np.float32),
    l2_normalize=True,
    threshold=1.0,
    version="tiny-v0",
    load=load_tiny,
    pretrained_is_local=lambda: True,
)


@pytest.fixture
def tiny_embedder(monkeypatch: pytest.MonkeyPatch) -> FaceEmbedder:
    """An embedder of the tiny backbone, with freshly "pretrained" weights."""
    monkeypatch.setitem(BACKBONES, TINY.name, TINY)
    return FaceEmbedder(EmbedderConfig(backbone=TINY.name, device="cpu"))


def synthetic_faces(identities: int = 24, photos: int = 6) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(0)
    chips, labels = [], []
    for identity in range(identities):
        pattern = np.kron(rng.uniform(0, 1, (4, 4, 3)), np.ones((8, 8, 1)))  # 32x32, 4x4 blocks
        for _ in range(photos):
            photo = (
                pattern * rng.uniform(80, 140)  # contrast
                + rng.uniform(10, 110)  # brightness
                + rng.uniform(-35, 35, size=3)  # colour cast
                + rng.normal(0, 15, size=pattern.shape)  # sensor noise
            )
            chips.append(np.clip(photo, 0, 255).astype(np.uint8))
            labels.append(f"person_{identity:02d}")
    return np.stack(chips), labels


@pytest.mark.slow
def test_training_lowers_the_loss_and_raises_held_out_accuracy(
    tmp_path: Path, tiny_embedder: FaceEmbedder
) -> None:
    chips, labels = synthetic_faces()
    # Contrastive loss's default margin is the threshold: impostors are pushed beyond it.
    config = TrainConfig(
        loss="contrastive", miner="batch-hard", epochs=15, p=8, k=4, lr=3e-3, val_fraction=0.25,
        seed=0,
    )  # fmt: skip
    result = fine_tune(tiny_embedder, chips, labels, config, tmp_path, progress=False)

    history = result.history
    before, best = history[0].val, history[result.best_epoch].val
    assert before is not None and best is not None
    # Before training every held-out pair is closer than the threshold (accuracy = the share of
    # genuine pairs, 1/7); after it, the threshold separates many of them.
    assert history[-1].train_loss < 0.5 * history[1].train_loss
    assert history[-1].val is not None
    assert history[-1].val["accuracy"] > before["accuracy"] + 0.25
    assert best["roc_auc"] > before["roc_auc"] + 0.08
    assert best["best_accuracy"] > before["best_accuracy"] + 0.03
    assert result.best_epoch > 0
    assert not set(result.train_identities) & set(result.val_identities)

    # The checkpoint is the best epoch's backbone, loadable by the base spec's own loader.
    assert check_loadable(TINY, tiny_embedder.network, result.weights_path, chips) < 1e-5
    sidecar = json.loads(result.sidecar_path.read_text())
    assert sidecar["base_backbone"] == "tiny-test"
    assert sidecar["best_epoch"] == result.best_epoch
    assert sidecar["metrics"]["roc_auc"] == pytest.approx(best["roc_auc"])
    assert len(sidecar["history"]) == config.epochs + 1
    assert result.plot_path.stat().st_size > 20_000


@pytest.mark.slow  # trains a model for two epochs
def test_triplet_semi_hard_runs_the_same_loop(tmp_path: Path, tiny_embedder: FaceEmbedder) -> None:
    chips, labels = synthetic_faces(identities=12, photos=4)
    config = TrainConfig(loss="triplet", miner="semi-hard", epochs=2, lr=1e-3, seed=1)
    result = fine_tune(tiny_embedder, chips, labels, config, tmp_path, progress=False)
    assert [r.epoch for r in result.history] == [0, 1, 2]
    assert all(r.train_loss is not None and r.train_loss > 0 for r in result.history[1:])
    assert all(r.mined_per_batch is not None and r.mined_per_batch > 0 for r in result.history[1:])
    # The triplet margin defaults to a fifth of the threshold.
    assert json.loads(result.sidecar_path.read_text())["config"]["margin"] == 0.2 * TINY.threshold


def test_pk_sampler_draws_p_identities_of_k_photos() -> None:
    labels = [0] * 5 + [1] * 3 + [2] * 2 + [3] * 6 + [4]  # identity 4 has a single photo
    sampler = PKSampler(labels, p=3, k=4, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) >= 2
    seen = set()
    for batch in batches:
        classes = [labels[i] for i in batch]
        assert len(batch) == 12
        assert len(set(classes)) == 3  # three distinct identities...
        assert all(classes.count(c) == 4 for c in set(classes))  # ...of four photos each
        assert 4 not in classes  # a single photo has no positive to mine
        seen |= set(classes)
    assert seen == {0, 1, 2, 3}


def test_split_identities_is_deterministic_and_disjoint() -> None:
    labels = [f"id{i}" for i in range(8) for _ in range(3)] + ["solo_a", "solo_b"]
    train, val = split_identities(labels, 0.25, seed=5)
    assert (train, val) == split_identities(labels, 0.25, seed=5)
    assert not set(train) & set(val)
    assert set(train) | set(val) == set(labels)
    assert sum(name.startswith("id") for name in val) == 2  # a quarter of the multi-photo ids


def test_augment_keeps_shape_and_range_but_changes_the_chips() -> None:
    chips = torch.rand(6, 3, 40, 40) * 255
    out = augment(chips, torch.Generator().manual_seed(0))
    assert out.shape == chips.shape
    assert out.min() >= 0 and out.max() <= 255
    assert (out - chips).abs().mean() > 1.0
    # Small: a chip stays far closer to its own augmentation than to another chip.
    assert (out - chips).abs().mean() < (chips[1:] - chips[:-1]).abs().mean()


def test_freeze_until_a_layer_name_or_a_count() -> None:
    backbone = DlibResNet()
    names = [name for name, _ in layer_units(backbone)]
    assert names[:3] == ["stem", "layers.0.0", "layers.0.1"]
    assert names[-1] == "fc"

    frozen = freeze(backbone, "layers.1")
    assert frozen == ["stem", "layers.0.0", "layers.0.1", "layers.0.2"] + [
        f"layers.1.{i}" for i in range(4)
    ]
    assert not any(p.requires_grad for p in backbone.stem.parameters())
    assert not any(p.requires_grad for p in backbone.layers[1].parameters())
    assert all(p.requires_grad for p in backbone.layers[2].parameters())
    assert all(p.requires_grad for p in backbone.fc.parameters())

    assert freeze(DlibResNet(), "2") == ["stem", "layers.0.0"]
    with pytest.raises(ValueError, match="no such layer"):
        freeze(DlibResNet(), "layer9")


def test_dlib_checkpoint_reloads_through_the_spec(tmp_path: Path) -> None:
    torch.manual_seed(1)
    backbone = DlibResNet().eval()
    with torch.no_grad():  # move the weights off the defaults so the reload is a real check
        for parameter in backbone.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    path = tmp_path / "backbone.pt"
    torch.save(exportable_state_dict(backbone), path)
    network = SiameseNetwork(backbone, l2_normalize=False)
    chips = np.random.default_rng(0).integers(0, 256, (2, 150, 150, 3), dtype=np.uint8)
    assert check_loadable(BACKBONES["dlib-resnet"], network, path, chips) < 1e-5


def test_batches_with_nothing_mined_do_not_count_in_the_epoch_loss() -> None:
    chips, labels = synthetic_faces(identities=4, photos=2)
    sampler = PKSampler(list(range(4)) * 2, p=1, k=2, seed=0)
    assert len(sampler) == 4
    network = SiameseNetwork(TINY.load(None), TINY.l2_normalize)

    def epoch(results: list[tuple[float | None, int]]) -> tuple[float | None, float]:
        steps = iter(results)
        targets = torch.zeros(len(labels), dtype=torch.long)
        return train_epoch(
            network, torch.from_numpy(chips), targets, sampler, lambda *_: next(steps), "epoch",
            False, None,
        )  # fmt: skip

    loss, mined = epoch([(0.8, 5), (None, 0), (0.4, 3), (None, 0)])
    assert loss == pytest.approx(0.6)  # (0.8 + 0.4) / 2: the empty batches are not zeros
    assert mined == pytest.approx(2.0)  # but they do count as batches that mined nothing
    assert epoch([(None, 0)] * 4) == (None, 0.0)


def test_epochs_are_described_in_words() -> None:
    val = {
        "accuracy": 0.9,
        "best_accuracy": 0.95,
        "best_threshold": 0.6,
        "roc_auc": 0.97,
        "eer": 0.05,
    }
    before = describe_epoch(EpochRecord(0, None, None, val))
    assert before.startswith("epoch 0 (before training); held-out accuracy 90.00%")
    idle = describe_epoch(EpochRecord(3, None, None, None))
    assert idle == "epoch 3: loss n/a (nothing mined), mined n/a per batch"
    for text in (before, idle):
        assert "{" not in text and "None" not in text  # never a raw dict
