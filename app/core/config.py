"""All of the service's settings, in one place: environment variables `ROLLCALL_*` or `.env`.

This module imports no model code (no torch): the CLI reads settings in commands that load no
model, and those must start in well under a second.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "ROLLCALL_"
ADMIN_KEY_MIN_LENGTH = 16  # a guessable bootstrap key would open every endpoint
BandWidth = Annotated[float, Field(ge=0, lt=1)]  # one side of a retry band
# What an empty or "null" variable (`KEY=` in .env, compose's `${VAR:-}`) means: unset.
UNSET_WORDS = frozenset({"", "null", "none"})


class ConfigurationError(Exception):
    """The service or a command cannot run as configured; the message is one line that names
    the setting to change."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./data/rollcall.db"
    backbone: str = "dlib-resnet"
    weights_path: Path | None = None  # a fine-tuned or locally stored weights file
    device: str | None = None  # None: CUDA when present, else CPU
    # Where the models' exported ONNX networks (and downloaded weights) are kept; None:
    # ~/.cache/rollcall. Read here so that .env may set it, as every other setting.
    cache_dir: Path | None = None
    # Average each face's embedding with its mirror image's (twice the embedding's cost). None:
    # the backbone's default, on where it ships a calibration for it (dlib-resnet), except over a
    # gallery whose templates of that backbone are all plain: it stays off (said at start).
    # app/context.py resolves it (config imports no ML). docs/recognition.md, "Mirror averaging".
    flip_tta: bool | None = None
    # A fixed distance threshold for every search; None: the backbone's, tightened for the
    # number of people searched through its FAR curve (see models/thresholds.py).
    threshold: float | None = Field(None, gt=0)
    far_curve: Path | None = None  # FAR(t) from `rollcall calibrate --far-curve`
    # The share of strangers that may be taken for somebody, whatever the gallery's size. The
    # same default as models.identification.DEFAULT_MAX_FPIR (tests/app/test_cli_database.py).
    max_fpir: float = Field(0.01, gt=0, lt=1)
    # Two students closer than this to a face: ambiguous. The same default as
    # models.identification.DEFAULT_AMBIGUITY_MARGIN (tests/app/test_cli_database.py checks it).
    ambiguity_margin: float = Field(0.04, ge=0)
    max_upload_bytes: int = Field(10 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(50_000_000, gt=0)
    keep_photos: bool = False  # keep enrolled photos (allows re-embedding with new weights)
    min_face_probability: float = Field(0.95, ge=0, le=1)
    min_face_size: int = Field(40, gt=0)  # pixels; smaller faces are ignored
    detect_max_side: int = Field(800, gt=0)  # detection works as on photos this size at most
    # Threads of a large gallery's int8 search pass (from 200k templates; bench/gallery.py).
    # 1: a worker's one inference thread, no oversubscription with --workers. At a million
    # templates one thread took 25 ms and two 16 ms on the 2-core bench machine, idle:
    # raise it where cores are spare beside the workers.
    search_threads: int = Field(1, ge=1, le=64)
    # The enrollment gate refuses photos whose template would fail, measured by bench/accuracy.py
    # (LFW, the enrolled photo downscaled and blurred, its owner's other photos checking in):
    # faces of 40-50 px matched 76-88% of check-ins, as many as full 92 px faces (85%), so size
    # alone refuses nothing the detector keeps (ROLLCALL_MIN_FACE_SIZE); sharpness below 4 matched
    # 26-60%, 4-6 74%, above 6 80-87%: below 4 the photo is refused as blurred.
    enroll_min_face_size: int = Field(40, gt=0)
    enroll_min_sharpness: float = Field(4.0, ge=0)
    refuse_duplicate_enrollment: bool = False  # else: enroll and warn
    # Photos (templates) a student may hold; the search scores a student by their best one.
    # 5: a front, two three-quarter views and two other days' photos; more costs search time
    # for every check-in and rarely adds a view the others lack.
    max_photos_per_student: int = Field(5, ge=1, le=50)
    timezone: str = "UTC"  # IANA name; decides the calendar day of check-ins outside sessions
    # A check-in for a session of a course whose face is confidently an enrolled student who is
    # not on the roster answers `not_on_roster` (counted in the report, nobody marked); true
    # marks them present instead (e.g. a school where students may visit other classes).
    admit_non_members: bool = False
    # Check-ins sent with a session's id are taken from this many minutes before its start
    # (students come in before the bell; 15 covers a break between classes), never after its
    # end. 0: only while it runs.
    checkin_early_minutes: int = Field(15, ge=0, le=24 * 60)
    # Frames a check-in may send (`file` repeated): each person's faces are fused across them.
    # 8: the kiosk's liveness burst (8 frames 200 ms apart, so that a head's turn is seen in
    # progress, not as a jump; see models/liveness_motion.py); each frame costs a detection.
    max_burst_frames: int = Field(8, ge=1, le=8)
    # How near its threshold a face answers `retry` (look again, nothing marked; the kiosk then
    # sends a burst of 3 frames). A face fused from a burst (2+ frames): less than
    # ROLLCALL_RETRY_BAND either side (0 turns it off). Its fused embedding lies nearer to
    # everybody's template: bench/accuracy.py's roster rows (rosters of 30 in 500, LFW) marked
    # 3.4% of strangers' bursts at 0, 0.3% at 0.03. A face seen in one frame: less than
    # ROLLCALL_ONE_FRAME_RETRY_BAND's [below, above] under or over it (JSON list; [0, 0] turns
    # it off). `python bench/retry_band.py --half 0` chose 0.025 under it, the narrowest that
    # marked no more wrong people than 0.03 had at 30 to 2,000 searched, and 0.06 over it (a
    # near miss takes a burst instead of answering unknown), the widest before the kiosk (one
    # frame, the burst on retry) marked one more; strangers under 1% at every size of half 0.
    # On half 1 (docs/recognition.md): one frame at 500 searched 52.5% -> 54.8% right, the
    # kiosk 70.2% -> 75.5% (strangers 0 -> 0.63%); in a roster of 30, 68.5% -> 70.7% and
    # 83.0% -> 86.7% (0.32% -> 0.91%); the kiosk at 1,000 marked 1.6% with every band tried.
    # Unset (None): the backbone's own, models/identification.py's shipped_retry_bands (config
    # imports no ML; app/context.py picks): the values above for every backbone's plain
    # embeddings (mirror-averaged dlib-resnet, the default, has one frame [0.03, 0.08]) but
    # dlib+faceres, whose own (one frame [0.03, 0.08], a burst 0.04) the same bench chose for
    # it (`--backbone dlib+faceres`): with the above its strangers' roster bursts were 2.7%
    # marked on half 1, with its own 0.3%. A value set wins for every backbone; an empty one,
    # "null" or "none" is unset.
    retry_band: float | None = Field(None, ge=0, lt=1)
    one_frame_retry_band: tuple[BandWidth, BandWidth] | None = None
    # Days check-in attempts (every face seen at a kiosk, recognised or not: ~190 KB/min at a
    # busy door) are kept; `rollcall purge` (daily, from the systemd timer in
    # docs/operations.md) deletes older ones. None: kept until purged by hand. Attendance stays.
    checkin_retention_days: int | None = Field(None, ge=1)
    migrate_on_startup: bool = True
    # Seconds a request may wait on the database (to connect, for a pooled connection, for a
    # statement) before answering 503 database_unavailable (PostgreSQL).
    database_timeout: float = Field(15.0, gt=0, le=3600)
    # Unknown keys a client (an address) may present within the window before it is answered
    # 429 (app.core.throttle): a person mistyping or a kiosk with a revoked key stays
    # far under it; a scan does not.
    max_key_failures: int = Field(20, ge=1)
    key_failure_window: float = Field(60.0, gt=0)
    # Verifications that do not match a kiosk key may ask within that window (then 429).
    max_verify_failures: int = Field(10, ge=1)
    admin_key: SecretStr | None = None  # bootstrap admin key, never stored
    # Serve even when students' templates are of other weights and cannot be re-embedded (no
    # kept photo): they go unrecognised until re-enrolled. `rollcall serve --force` sets it.
    allow_stranded_students: bool = False
    # "challenge": every check-in must answer a liveness challenge (POST /checkins/challenge,
    # then a burst of frames with its nonce), which a photo held up to the camera cannot pass.
    # Off by default: it asks more of every person at the door (see the README's Liveness).
    liveness: Literal["off", "challenge"] = "off"
    # How many actions a challenge asks, in a random order, never one twice in a row: one
    # recording (as it is, backwards or mirrored) answers at most 4 of the 12 sequences of 2,
    # of the 36 of 3. Each action is filmed apart: 2 actions, 16 frames, about 3.5 s at the door.
    liveness_steps: int = Field(2, ge=1, le=3)
    # The actions a challenge draws from (JSON list in the environment). Looking up and down
    # are judged on a head's geometry, not calibrated on real photos (docs/liveness.md).
    liveness_actions: list[Literal["turn_left", "turn_right", "look_up", "look_down"]] = Field(
        ["turn_left", "turn_right", "look_up", "look_down"], min_length=2
    )
    # Liveness bursts refused (not live) that one student may send for one session (or day)
    # before their next is answered 429 `too_many_attempts`: a student fumbling the prompt
    # passes in 2 or 3; an attacker retrying a print until one passes is stopped. None: no limit.
    liveness_max_attempts: int | None = Field(5, ge=1)
    # A 96 px JPEG of the face each check-in marked, kept with the mark as evidence for staff
    # (a photo of a photo shows): "liveness" with ROLLCALL_LIVENESS=challenge only, "always",
    # or "never". Personal data: deleted with the student, and by `rollcall purge` once older
    # than thumbnail_retention_days.
    keep_thumbnails: Literal["liveness", "always", "never"] = "liveness"
    thumbnail_retention_days: int = Field(30, ge=1)
    # GET /reports/attendance lists as chronically absent the students whose attendance rate
    # (present or late, of the sessions held less those excused) is below this share.
    chronic_absence_rate: float = Field(0.9, ge=0, le=1)

    @field_validator("admin_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < ADMIN_KEY_MIN_LENGTH:
            raise ValueError(
                f"must be at least {ADMIN_KEY_MIN_LENGTH} characters (e.g. `openssl rand -hex 24`)"
            )
        return value

    @field_validator("retry_band", "one_frame_retry_band", "flip_tta", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in UNSET_WORDS:
            return None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value


def describe_invalid_settings(error: ValidationError) -> str:
    """One line naming each invalid variable and what is wrong (never the value: it may be a
    password or a key)."""
    problems = []
    for item in error.errors():
        name = ENV_PREFIX + "_".join(str(part) for part in item["loc"]).upper()
        problems.append(f"{name}: {item['msg'].removeprefix('Value error, ')}")
    return "invalid setting (environment or .env): " + "; ".join(problems)


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(describe_invalid_settings(exc)) from None
