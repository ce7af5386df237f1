"""ROLLCALL_FLIP_TTA: unset, each backbone's default (mirror averaging where the backbone ships a
calibration for it: dlib-resnet); set, what it says. The service's start looks at it before it
loads a model."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.context import ServiceContext, embedder_config
from app.core.config import ConfigurationError, Settings
from app.core.observability import Metrics
from models.embedder import FaceEmbedder
from models.identification import SHIPPED_RETRY_BANDS, shipped_retry_bands
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


@pytest.mark.parametrize(
    ("raw", "parsed"), [("", None), ("null", None), ("false", False), ("true", True)]
)
def test_the_variable_as_compose_hands_it_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: str, parsed: bool | None
) -> None:
    monkeypatch.setenv("ROLLCALL_FLIP_TTA", raw)
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'r.db'}")
    assert settings.flip_tta is parsed


def test_a_mistyped_backbone_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    """The gallery's mirroring is looked at before the model loads: a backbone that does not
    exist must still be the one-line ConfigurationError, not a traceback."""
    settings = make_settings(tmp_path, backbone="dlib-resent")
    with pytest.raises(
        ConfigurationError, match="ROLLCALL_BACKBONE: Unknown backbone 'dlib-resent'"
    ):
        ServiceContext.start(settings, Metrics(), serving=True)  # serving: makes the database


def test_a_default_service_decides_with_the_mirrored_bands(
    tmp_path: Path, embedder: FaceEmbedder
) -> None:
    """The session's model is the default one (mirror-averaged): the service takes the bands
    chosen for its embeddings, not the plain ones'."""
    context = ServiceContext.start(make_settings(tmp_path), Metrics(), embedder, serving=True)
    try:
        assert embedder.mirrored
        bands = context.recognizer.retry_bands
        assert bands == shipped_retry_bands("dlib-resnet", True) != SHIPPED_RETRY_BANDS
    finally:
        context.close()
