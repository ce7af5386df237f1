"""All of the service's settings, in one place: environment variables `ROLLCALL_*` or `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.detection import DetectorConfig
from models.embedder import EmbedderConfig
from models.identification import DEFAULT_AMBIGUITY_MARGIN, DEFAULT_MAX_FPIR


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLLCALL_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./data/rollcall.db"
    backbone: str = "dlib-resnet"
    weights_path: Path | None = None  # a fine-tuned or locally stored weights file
    device: str | None = None  # None: CUDA when present, else CPU
    flip_tta: bool = False  # average with the mirror image's embedding (bench/tta.py: no gain)
    # A fixed distance threshold for every search; None: the backbone's, tightened for the
    # number of people searched through its FAR curve (see models/thresholds.py).
    threshold: float | None = Field(None, gt=0)
    far_curve: Path | None = None  # FAR(t) from `rollcall calibrate --far-curve`
    # The share of strangers that may be taken for somebody, whatever the gallery's size.
    max_fpir: float = Field(DEFAULT_MAX_FPIR, gt=0, lt=1)
    ambiguity_margin: float = Field(
        DEFAULT_AMBIGUITY_MARGIN, ge=0
    )  # two students closer than this: ambiguous
    max_upload_bytes: int = Field(10 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(50_000_000, gt=0)
    keep_photos: bool = False  # keep enrolled photos (allows re-embedding with new weights)
    min_face_probability: float = Field(0.95, ge=0, le=1)
    min_face_size: int = Field(40, gt=0)  # pixels; smaller faces are ignored
    detect_max_side: int = Field(800, gt=0)  # photos are downscaled to this for detection
    # The enrollment gate refuses photos whose template would fail, measured by bench/accuracy.py
    # (LFW, the enrolled photo downscaled and blurred, its owner's other photos checking in):
    # faces of 40-50 px matched 76-88% of check-ins, as many as full 92 px faces (85%), so size
    # alone refuses nothing the detector keeps (ROLLCALL_MIN_FACE_SIZE); sharpness below 4 matched
    # 26-60%, 4-6 74%, above 6 80-87%: below 4 the photo is refused as blurred.
    enroll_min_face_size: int = Field(40, gt=0)
    enroll_min_sharpness: float = Field(4.0, ge=0)
    refuse_duplicate_enrollment: bool = False  # else: enroll and warn
    timezone: str = "UTC"  # IANA name; decides the calendar day of check-ins outside sessions
    migrate_on_startup: bool = True
    admin_key: SecretStr | None = Field(None, min_length=16)  # bootstrap admin key, never stored

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    def embedder_config(self) -> EmbedderConfig:
        return EmbedderConfig(
            backbone=self.backbone,
            weights_path=self.weights_path,
            device=self.device,
            flip_tta=self.flip_tta,
            detector=DetectorConfig(
                min_probability=self.min_face_probability,
                min_face_size=self.min_face_size,
                max_side=self.detect_max_side,
            ),
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
