"""What a running service holds once per process: settings, database, model and gallery."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from dataclasses import dataclass, field

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from app.core.config import ConfigurationError, Settings
from app.core.db import Database, redacted, require_database
from app.core.migrate import upgrade
from app.core.observability import Metrics
from app.core.throttle import KeyFailureThrottle
from app.search import weights
from app.search.gallery import Gallery
from app.search.recognizer import Recognizer
from app.search.store import GalleryStore
from models.backbones import BackboneSpec, get_backbone
from models.detection import DetectorConfig
from models.embedder import EmbedderConfig, FaceEmbedder, FacePipeline
from models.fusion import FusedPipeline, FusionUnavailableError
from models.identification import DecisionRule, RetryBand, RetryBands, shipped_retry_bands
from models.serving import ServingEmbedder
from models.thresholds import FarCurve, RunnerUpCurve

log = logging.getLogger(__name__)


def embedder_config(settings: Settings) -> EmbedderConfig:
    """The model the settings describe."""
    return EmbedderConfig(
        backbone=settings.backbone,
        weights_path=settings.weights_path,
        device=settings.device,
        flip_tta=settings.flip_tta,
        detector=DetectorConfig(
            min_probability=settings.min_face_probability,
            min_face_size=settings.min_face_size,
            max_side=settings.detect_max_side,
        ),
    )


def use_one_inference_thread() -> None:
    """One torch (and ONNX Runtime) thread per process, unless OMP_NUM_THREADS says more.

    Requests already run side by side on uvicorn's threads and `--workers`; a thread pool per
    request on top oversubscribes the cores, and torch's pool runs 6-11x slower when any other
    process uses a core (1.5 s vs 0.14 s a check-in on 2 cores). ONNX Runtime reads
    the same setting (models.serving.inference_threads); torch only where a command uses it.
    """
    torch = sys.modules.get("torch")
    if torch is not None and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)


def backbone_spec(settings: Settings) -> BackboneSpec:
    """ROLLCALL_BACKBONE's spec; an unknown one names the setting."""
    try:
        return get_backbone(settings.backbone)
    except ValueError as exc:
        raise ConfigurationError(f"ROLLCALL_BACKBONE: {exc}") from None


def load_embedder(settings: Settings, flip_tta: bool | None = None) -> FacePipeline:
    """The settings' model; an unknown backbone or unusable weights name their setting.
    `flip_tta`, where given, decides mirror averaging instead of ROLLCALL_FLIP_TTA (with the
    gallery's say: `served_mirroring`).

    On a CPU, ONNX Runtime from files exported from the weights (no torch in this process:
    the memory target); on a GPU, torch.
    """
    spec = backbone_spec(settings)
    config = embedder_config(settings)
    if flip_tta is not None:
        config = dataclasses.replace(config, flip_tta=flip_tta)
    try:
        if spec.parts:  # dlib+faceres: both networks, every face
            return FusedPipeline(config, part_embedder)
        return part_embedder(config, True)
    except FusionUnavailableError as exc:
        raise ConfigurationError(f"ROLLCALL_BACKBONE={settings.backbone}: {exc}") from None
    except FileNotFoundError as exc:
        raise ConfigurationError(f"ROLLCALL_WEIGHTS_PATH: no such file {exc.filename}") from None
    except RuntimeError as exc:  # not these weights, pretrained ones not downloaded, or export
        reason = " ".join(str(exc).split())[:300]
        setting = "ROLLCALL_WEIGHTS_PATH" if settings.weights_path else "ROLLCALL_BACKBONE"
        raise ConfigurationError(f"{setting}: cannot load weights: {reason}") from None


def part_embedder(config: EmbedderConfig, detect: bool) -> FacePipeline:
    """One network's embedder: ONNX Runtime on a CPU, torch on a GPU. `detect`: False for a
    fusion's later parts (ONNX: no second detector; torch's FaceEmbedder always has one)."""
    if config.device in (None, "cpu"):
        return ServingEmbedder(config, detect=detect)
    return FaceEmbedder(config)


@dataclass
class ServiceContext:
    settings: Settings
    db: Database
    embedder: FacePipeline
    gallery: Gallery
    metrics: Metrics

    rule: DecisionRule = field(init=False)
    recognizer: Recognizer = field(init=False)  # what photos, bursts and searches need
    gallery_store: GalleryStore = field(init=False)  # keeps `gallery` in step with the db
    key_throttle: KeyFailureThrottle = field(init=False)
    verify_throttle: KeyFailureThrottle = field(init=False)  # per kiosk key: non-matches

    def __post_init__(self) -> None:
        self.rule = decision_rule(self.settings, self.embedder)
        self.recognizer = Recognizer(
            self.embedder,
            self.gallery,
            self.rule,
            retry_bands=retry_bands(self.settings, self.embedder.spec.name, self.embedder.mirrored),
            admit_non_members=self.settings.admit_non_members,
            max_image_pixels=self.settings.max_image_pixels,
            max_burst_frames=self.settings.max_burst_frames,
        )
        self.key_throttle = KeyFailureThrottle(
            self.settings.max_key_failures, self.settings.key_failure_window
        )
        self.verify_throttle = KeyFailureThrottle(
            self.settings.max_verify_failures, self.settings.key_failure_window
        )
        self.gallery_store = GalleryStore(self.db, self.gallery, self.embedder.version)

    @classmethod
    def start(
        cls,
        settings: Settings,
        metrics: Metrics,
        embedder: FacePipeline | None = None,
        *,
        serving: bool = False,
    ) -> ServiceContext:
        """Migrate, connect, load the model (unless one is handed over: then the settings
        must describe it) and fill the gallery.

        `serving`: the service itself, which makes a missing SQLite database and refuses
        weights that would strand students (ConfigurationError, one line, names the fix).
        """
        require_database(settings.database_url, create=serving)
        if settings.migrate_on_startup:
            upgrade(settings.database_url)
        db = Database(settings.database_url, settings.database_timeout)
        try:
            return cls._started(settings, metrics, embedder, db, serving)
        except BaseException:  # bad weights, a stranding refusal, a bad FAR curve...
            db.dispose()
            raise

    @classmethod
    def _started(
        cls,
        settings: Settings,
        metrics: Metrics,
        embedder: FacePipeline | None,
        db: Database,
        serving: bool,
    ) -> ServiceContext:
        """`start`'s work once connected (`start` disposes of the database if it fails)."""
        use_one_inference_thread()
        if settings.cache_dir is not None:  # models/ reads it from the environment only
            os.environ["ROLLCALL_CACHE_DIR"] = str(settings.cache_dir)
        if embedder is None:
            with db.read_session() as session:
                mirrored = served_mirroring(settings, session)
            log.info("loading the model (%s)", settings.backbone)
            started = time.monotonic()
            embedder = load_embedder(settings, mirrored)
            log.info("model loaded in %.1f s", time.monotonic() - started)
        log.info("database %s, weights %s", redacted(settings.database_url), embedder.version)
        gallery = Gallery(
            embedder.spec.embedding_dim,
            embedder.distances,
            search_threads=settings.search_threads,
        )
        context = cls(settings, db, embedder, gallery, metrics)
        weights.adopt_former_versions(db, embedder.version, embedder.former_versions)
        if serving and not settings.allow_stranded_students:
            with db.read_session() as session:
                weights.refuse_stranding(session, embedder.version)
        context.gallery_store.sync()
        return context

    def close(self) -> None:
        self.db.dispose()


def served_mirroring(settings: Settings, reader: Session | Connection | None) -> bool:
    """Whether the service mirror-averages: as ROLLCALL_FLIP_TTA says (unset: the backbone's
    default), except that unset over a gallery whose templates of the backbone were all enrolled
    without it (`reader`: the database; None: none yet), it stays off. A default that changed
    in a release must neither hide the enrolled students (stale templates) nor refuse to start
    (no kept photos)."""
    spec = backbone_spec(settings)  # first: a mistyped backbone is one line
    mirrored = embedder_config(settings).mirrored
    if settings.flip_tta is not None or not mirrored or reader is None:
        return mirrored
    if not weights.enrolled_without_mirroring(reader, spec.version):
        return True
    log.warning(
        "ROLLCALL_FLIP_TTA is unset and the students were enrolled without mirror averaging: "
        "it stays off. To turn it on (more students recognised at school scale: "
        "docs/recognition.md, Mirror averaging) set ROLLCALL_FLIP_TTA=true and run "
        "`rollcall reembed` (needs kept photos), or ROLLCALL_FLIP_TTA=false to silence this"
    )
    return False


def decision_rule(settings: Settings, embedder: FacePipeline) -> DecisionRule:
    """The threshold rule the settings ask for (see `models.thresholds`).

    ROLLCALL_FAR_CURVE (written by `rollcall calibrate --far-curve`) makes every search's
    threshold follow the number of people searched; without it, the backbone's own curve does
    for its pretrained weights, unless ROLLCALL_THRESHOLD fixes one threshold for every search.
    The size-aware threshold is never looser than ROLLCALL_THRESHOLD or the backbone's. The
    pretrained weights' runner-up curve (models.thresholds.RunnerUpCurve) applies with their
    own FAR curve only: it was measured for those weights and that rule.
    """
    spec = embedder.spec
    ceiling = settings.threshold if settings.threshold is not None else spec.threshold
    curve_path = settings.far_curve
    if curve_path is None and settings.threshold is None and settings.weights_path is None:
        curve_path = spec.far_curve
    curve = FarCurve.load(curve_path) if curve_path is not None else None
    if curve is None and settings.threshold is None and settings.weights_path is not None:
        log.warning(
            "no FAR curve for the weights in %s: every search uses the fixed threshold %.3f; "
            "`rollcall calibrate DATASET --far-curve FILE` makes one",
            settings.weights_path,
            ceiling,
        )
    runner_up = None
    if curve_path is not None and curve_path == spec.far_curve and spec.runner_up_curve:
        runner_up = RunnerUpCurve.load(spec.runner_up_curve)
    return DecisionRule(ceiling, settings.ambiguity_margin, settings.max_fpir, curve, runner_up)


def retry_bands(settings: Settings, backbone: str, mirrored: bool) -> RetryBands:
    """ROLLCALL_ONE_FRAME_RETRY_BAND for a face seen in one frame, ROLLCALL_RETRY_BAND (both
    sides) for one fused from a burst; either unset: the band shipped for the served
    embeddings, the backbone's mirror-averaged or plain ones (FacePipeline.mirrored; see
    models.identification.shipped_retry_bands: dlib+faceres and mirror-averaged dlib-resnet
    have their own)."""
    shipped = shipped_retry_bands(backbone, mirrored)
    one_frame, burst = shipped.one_frame, shipped.burst
    if settings.one_frame_retry_band is not None:
        one_frame = RetryBand(*settings.one_frame_retry_band)
    if settings.retry_band is not None:
        burst = RetryBand(settings.retry_band, settings.retry_band)
    return RetryBands(one_frame, burst)
