"""All of the service's settings, in one place: environment variables `ROLLCALL_*` or `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.backbones import get_backbone
from models.detection import DetectorConfig
from models.embedder import EmbedderConfig
from models.identification import DEFAULT_AMBIGUITY_MARGIN


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLLCALL_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./data/rollcall.db"
    backbone: str = "dlib-resnet"
    weights_path: Path | None = None  # a fine-tuned or locally stored weights file
    device: str | None = None  # None: CUDA when present, else CPU
    flip_tta: bool = False  # average with the mirror image's embedding (bench/tta.py: no gain)
    threshold: float | None = None  # distance; None: the backbone's calibrated default
    ambiguity_margin: float = Field(
        DEFAULT_AMBIGUITY_MARGIN, ge=0
    )  # two students closer than this: ambiguous
    max_upload_bytes: int = Field(10 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(50_000_000, gt=0)
    keep_photos: bool = False  # keep enrolled photos (allows re-embedding with new weights)
    min_face_probability: float = Field(0.95, ge=0, le=1)
    min_face_size: int = Field(40, gt=0)  # pixels; smaller faces are ignored
    detect_max_side: int = Field(800, gt=0)  # photos are downscaled to this for detection
    enroll_min_face_size: int = Field(80, gt=0)  # an enrollment photo needs a bigger face
    enroll_min_sharpness: float = Field(15.0, ge=0)
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

    @property
    def distance_threshold(self) -> float:
        return (
            self.threshold if self.threshold is not None else get_backbone(self.backbone).threshold
        )

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
