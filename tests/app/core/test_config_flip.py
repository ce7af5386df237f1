"""ROLLCALL_FLIP_TTA: unset, each backbone's default (mirror averaging where the backbone ships a
calibration for it: dlib-resnet); set, what it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.context import embedder_config
from app.core.config import Settings
from tests.support.settings import make_settings


@pytest.mark.parametrize(
    ("backbone", "mirrored"),
    [("dlib-resnet", True), ("faceres", False), ("dlib+faceres", False)],
)
def test_unset_each_backbone_takes_its_default(
    tmp_path: Path, backbone: str, mirrored: bool
) -> None:
    settings = make_settings(tmp_path, backbone=backbone)
    assert settings.flip_tta is None
    assert embedder_config(settings).mirrored is mirrored


@pytest.mark.parametrize("value", [False, True])
def test_a_value_set_wins(tmp_path: Path, value: bool) -> None:
    assert embedder_config(make_settings(tmp_path, flip_tta=value)).mirrored is value


@pytest.mark.parametrize(("raw", "parsed"), [("", None), ("null", None), ("false", False)])
def test_the_variable_as_compose_hands_it_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: str, parsed: bool | None
) -> None:
    monkeypatch.setenv("ROLLCALL_FLIP_TTA", raw)
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'r.db'}")
    assert settings.flip_tta is parsed
