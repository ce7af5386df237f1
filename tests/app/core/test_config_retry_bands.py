"""ROLLCALL_RETRY_BAND (a burst's) and ROLLCALL_ONE_FRAME_RETRY_BAND become the service's
retry bands; the defaults are the ones bench/retry_band.py chose (models/identification.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.context import retry_bands
from app.core.config import Settings
from models.identification import SHIPPED_RETRY_BANDS, RetryBand, RetryBands
from tests.support.settings import make_settings


def test_the_default_settings_are_the_shipped_bands(tmp_path: Path) -> None:
    assert retry_bands(make_settings(tmp_path)) == SHIPPED_RETRY_BANDS


def test_the_bands_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLLCALL_ONE_FRAME_RETRY_BAND", "[0.01, 0.05]")
    monkeypatch.setenv("ROLLCALL_RETRY_BAND", "0.04")
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'r.db'}")
    assert retry_bands(settings) == RetryBands(RetryBand(0.01, 0.05), RetryBand(0.04, 0.04))


@pytest.mark.parametrize("band", [(-0.01, 0.05), (0.02, 1.0)])
def test_a_band_side_out_of_range_is_refused(tmp_path: Path, band: tuple[float, float]) -> None:
    with pytest.raises(ValidationError, match="one_frame_retry_band"):
        make_settings(tmp_path, one_frame_retry_band=band)
