"""ROLLCALL_RETRY_BAND (a burst's) and ROLLCALL_ONE_FRAME_RETRY_BAND become the service's
retry bands; unset, the backbone's shipped ones (models.identification.shipped_retry_bands:
bench/retry_band.py's choice, dlib+faceres's its own)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.context import retry_bands
from app.core.config import Settings, describe_invalid_settings
from models.identification import SHIPPED_RETRY_BANDS, RetryBand, RetryBands, shipped_retry_bands
from tests.support.settings import make_settings

FUSION = "dlib+faceres"


def test_the_default_settings_are_the_shipped_bands(tmp_path: Path) -> None:
    # dlib-resnet, mirror-averaged by default: its own bands
    settings = make_settings(tmp_path)
    mirrored = retry_bands(settings, "dlib-resnet", True)
    assert mirrored == shipped_retry_bands("dlib-resnet", True) != SHIPPED_RETRY_BANDS
    assert retry_bands(settings, "dlib-resnet", False) == SHIPPED_RETRY_BANDS


def test_the_fusion_unset_takes_its_own_bands(tmp_path: Path) -> None:
    own = retry_bands(make_settings(tmp_path, backbone=FUSION), FUSION, False)
    assert (
        own
        == shipped_retry_bands(FUSION, False)
        == RetryBands(RetryBand(0.03, 0.08), RetryBand(0.04, 0.04))
    )
    assert own != SHIPPED_RETRY_BANDS
    # ROLLCALL_FLIP_TTA=true: the fusion's parts never mirror (FusedPipeline.mirrored), and
    # even asked for mirrored embeddings it has its own bands, not the plain backbones'
    assert retry_bands(make_settings(tmp_path, backbone=FUSION, flip_tta=True), FUSION, True) == own


def test_a_band_the_operator_sets_wins_over_the_fusions_own(tmp_path: Path) -> None:
    own = shipped_retry_bands(FUSION, False)
    burst_set = retry_bands(make_settings(tmp_path, retry_band=0.03), FUSION, False)
    assert burst_set == RetryBands(own.one_frame, RetryBand(0.03, 0.03))
    one_frame = make_settings(tmp_path, one_frame_retry_band=(0, 0))
    one_set = retry_bands(one_frame, FUSION, False)
    assert one_set == RetryBands(RetryBand(0, 0), own.burst)


def test_the_bands_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLLCALL_ONE_FRAME_RETRY_BAND", "[0.01, 0.05]")
    monkeypatch.setenv("ROLLCALL_RETRY_BAND", "0.05")
    monkeypatch.setenv("ROLLCALL_BACKBONE", FUSION)
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'r.db'}")
    bands = retry_bands(settings, FUSION, False)
    assert bands == RetryBands(RetryBand(0.01, 0.05), RetryBand(0.05, 0.05))


@pytest.mark.parametrize("band", [(-0.01, 0.05), (0.02, 1.0)])
def test_a_band_side_out_of_range_is_refused(tmp_path: Path, band: tuple[float, float]) -> None:
    with pytest.raises(ValidationError, match="one_frame_retry_band"):
        make_settings(tmp_path, one_frame_retry_band=band)


def test_a_burst_band_out_of_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="retry_band"):
        make_settings(tmp_path, retry_band=1.0)


BAND_VARIABLES = ["ROLLCALL_ONE_FRAME_RETRY_BAND", "ROLLCALL_RETRY_BAND"]


@pytest.mark.parametrize("variable", BAND_VARIABLES)
@pytest.mark.parametrize("value", ["", " ", "null", "None", " NONE "])
def test_an_empty_or_null_band_variable_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    """Compose's `${VAR:-}` hands the service an empty variable: the backbone's own bands."""
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("ROLLCALL_BACKBONE", FUSION)
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'r.db'}")
    assert settings.retry_band is None and settings.one_frame_retry_band is None
    assert retry_bands(settings, FUSION, False) == shipped_retry_bands(FUSION, False)


def test_empty_band_keys_in_the_env_file_are_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in BAND_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("ROLLCALL_ONE_FRAME_RETRY_BAND=\nROLLCALL_RETRY_BAND=\n")
    settings = Settings(_env_file=env_file, database_url=f"sqlite:///{tmp_path / 'r.db'}")
    assert retry_bands(settings, "dlib-resnet", True) == shipped_retry_bands("dlib-resnet", True)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ROLLCALL_ONE_FRAME_RETRY_BAND", "0.02,0.05"),
        ("ROLLCALL_ONE_FRAME_RETRY_BAND", "[0.02]"),
        ("ROLLCALL_ONE_FRAME_RETRY_BAND", "nil"),
        ("ROLLCALL_RETRY_BAND", "nil"),
        ("ROLLCALL_RETRY_BAND", "1.5"),
    ],
)
def test_other_bad_band_values_are_still_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'r.db'}")
    line = describe_invalid_settings(caught.value)
    assert line.startswith(f"invalid setting (environment or .env): {variable}")
    assert "\n" not in line
