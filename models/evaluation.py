"""`rollcall evaluate`: how well a backbone verifies and identifies faces on a labelled dataset.

Two kinds of dataset:

* a folder per identity, ``<root>/<identity>/<photo>``. ``DATASET_DIR`` is that root; if it has
  a ``people/`` subfolder that itself holds identity folders (the layout of ``../shared/faces``,
  whose ``group/`` and ``variants/`` folders are not identities), ``people/`` is used instead.
  Every pair of photos is scored (same identity: genuine, else impostor), and the open-set
  attendance protocol is run (see `open_set_split`).
* a CSV of labelled pairs, ``file_a,file_b,same`` (``same`` is yes/no, 1/0 or true/false; an
  optional header row), with paths relative to ``DATASET_DIR``. Only verification is scored.

A pair is accepted as the same person when its distance is strictly below the threshold, as the
service decides. Photos in which no face is found, or which cannot be read, are counted and
listed in the report, never silently dropped; when several faces are found, the most probable
one is used and the photo is listed too. Metrics use numpy only.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from models.embedder import FaceEmbedder
from models.identification import DEFAULT_AMBIGUITY_MARGIN, IdentificationDecision, decide
from models.image import ImageError, load_image

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"})
FAR_TARGETS = (1e-2, 1e-3)
DEFAULT_STRANGER_FRACTION = 0.4
TRUE_WORDS = frozenset({"1", "yes", "y", "true"})
FALSE_WORDS = frozenset({"0", "no", "n", "false"})


# --------------------------------------------------------------------------- dataset


@dataclass(frozen=True)
class LabelledPair:
    file_a: str
    file_b: str
    same: bool


def is_photo(path: Path) -> bool:
    return (
        path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES and not path.name.startswith(".")
    )


def _identity_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and any(is_photo(f) for f in p.iterdir()))


def identity_root(dataset_dir: Path) -> Path:
    """The folder whose subfolders are the identities (see the module docstring)."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise FileNotFoundError(f"No such dataset folder: {dataset_dir}")
    people = dataset_dir / "people"
    if people.is_dir() and _identity_folders(people):
        return people
    if not _identity_folders(dataset_dir):
        raise ValueError(
            f"{dataset_dir} holds no identity folders (<identity>/<photo>); "
            "pass a folder-per-identity dataset or --pairs"
        )
    return dataset_dir


def list_identity_photos(root: Path) -> tuple[list[str], list[str]]:
    """(photo paths relative to `root`, identity of each photo), sorted."""
    paths: list[str] = []
    labels: list[str] = []
    for folder in _identity_folders(root):
        for photo in sorted(folder.iterdir()):
            if is_photo(photo):
                paths.append(photo.relative_to(root).as_posix())
                labels.append(folder.name)
    return paths, labels


def parse_same(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"not a same/different label: {value!r} (use yes/no or 1/0)")


def read_pairs_csv(path: Path) -> list[LabelledPair]:
    """`file_a,file_b,same` rows; a first row whose label does not parse is taken as a header."""
    pairs: list[LabelledPair] = []
    with Path(path).open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or all(not cell.strip() for cell in row) or row[0].startswith("#"):
                continue
            if len(row) < 3:
                raise ValueError(f"{path}:{number}: expected file_a,file_b,same, got {row}")
            try:
                same = parse_same(row[2])
            except ValueError:
                if number == 1:
                    continue  # header
                raise ValueError(
                    f"{path}:{number}: bad label {row[2]!r} (use yes/no or 1/0)"
                ) from None
            pairs.append(LabelledPair(row[0].strip(), row[1].strip(), same))
    if not pairs:
        raise ValueError(f"{path} holds no labelled pairs")
    return pairs


# --------------------------------------------------------------------------- faces


@dataclass
class ChipSet:
    """The aligned chip of the most probable face of each photo, and what went wrong where."""

    paths: list[str]  # photos with a face, in input order
    chips: np.ndarray  # (len(paths), S, S, 3) uint8
    no_face: list[str] = field(default_factory=list)
    unreadable: list[dict[str, str]] = field(default_factory=list)
    multiple_faces: list[dict[str, object]] = field(default_factory=list)

    def issues(self, total: int) -> dict[str, object]:
        return {
            "total": total,
            "embedded": len(self.paths),
            "no_face_count": len(self.no_face),
            "no_face": self.no_face,
            "unreadable_count": len(self.unreadable),
            "unreadable": self.unreadable,
            "multiple_faces_count": len(self.multiple_faces),
            "multiple_faces": self.multiple_faces,
        }


def extract_chips(
    embedder: FaceEmbedder, root: Path, paths: Sequence[str], progress: bool = True
) -> ChipSet:
    """Detect and align each photo once; training and evaluation then work on the chips."""
    size = embedder.spec.chip_size
    kept: list[str] = []
    chips: list[np.ndarray] = []
    result = ChipSet(paths=kept, chips=np.zeros((0, size, size, 3), np.uint8))
    for path in tqdm(paths, desc="detect+align", unit="photo", disable=not progress):
        try:
            photo = load_image(Path(root) / path)
        except ImageError as exc:
            result.unreadable.append({"path": path, "error": exc.message})
            continue
        faces = embedder.detect(photo)  # most probable first
        if not faces:
            result.no_face.append(path)
            continue
        if len(faces) > 1:
            result.multiple_faces.append({"path": path, "faces": len(faces)})
        kept.append(path)
        chips.append(embedder.align(photo, faces[0]))
    if chips:
        result.chips = np.stack(chips)
    return result


def all_pairs(labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices (i, j), i < j, of every pair, and whether each is genuine."""
    first, second = np.triu_indices(len(labels), k=1)
    names = np.asarray(labels, dtype=object)
    return first, second, names[first] == names[second]


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class RocCurve:
    """Operating points when accepting every pair with distance < thresholds[k], as the service
    decides: each threshold is the next float above a distance that occurs, so the pair at that
    distance is accepted under the strict rule too."""

    far: np.ndarray
    tar: np.ndarray
    thresholds: np.ndarray  # -inf first: accept nothing


def _split(distances: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    distances = np.asarray(distances, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    return np.sort(distances[same]), np.sort(distances[~same])


def roc_curve(genuine: np.ndarray, impostor: np.ndarray) -> RocCurve:
    genuine, impostor = np.sort(genuine), np.sort(impostor)
    values = np.unique(np.concatenate([genuine, impostor]))
    thresholds = np.concatenate([[-np.inf], np.nextafter(values, np.inf)])
    tar = np.searchsorted(genuine, thresholds, side="left") / len(genuine)
    far = np.searchsorted(impostor, thresholds, side="left") / len(impostor)
    return RocCurve(far=far, tar=tar, thresholds=thresholds)


def roc_auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """P(genuine distance < impostor distance) + P(tie) / 2: the exact area under the ROC."""
    impostor = np.sort(impostor)
    above = len(impostor) - np.searchsorted(impostor, genuine, side="right")
    ties = np.searchsorted(impostor, genuine, side="right") - np.searchsorted(
        impostor, genuine, side="left"
    )
    return float((above + 0.5 * ties).sum() / (len(genuine) * len(impostor)))


def equal_error_rate(roc: RocCurve) -> tuple[float, float]:
    """(EER, distance where it occurs): FAR and FRR interpolated linearly where they cross."""
    frr = 1.0 - roc.tar
    crossed = np.flatnonzero(roc.far >= frr)  # FAR rises, FRR falls: the first k is the cross
    k = int(crossed[0])
    if k == 0 or roc.far[k] == frr[k]:
        return float(roc.far[k]), float(roc.thresholds[max(k, 1)])
    d_far, d_frr = roc.far[k] - roc.far[k - 1], frr[k] - frr[k - 1]
    alpha = (frr[k - 1] - roc.far[k - 1]) / (d_far - d_frr)
    low = roc.thresholds[k - 1] if k > 1 else roc.thresholds[k]
    return (
        float(roc.far[k - 1] + alpha * d_far),
        float(low + alpha * (roc.thresholds[k] - low)),
    )


def gap_thresholds(values: np.ndarray) -> np.ndarray:
    """Thresholds midway between consecutive distinct distances, plus one below and one above.

    Every way of splitting the pairs by a threshold is reached by one of these; being midway,
    each keeps the largest safety margin to the distances on either side.
    """
    values = np.unique(values)
    spread = max(float(values[-1] - values[0]), 1e-6)
    inner = (values[:-1] + values[1:]) / 2
    return np.concatenate([[values[0] - 0.05 * spread], inner, [values[-1] + 0.05 * spread]])


def accepted(distances: np.ndarray, threshold: float) -> int:
    """How many sorted `distances` the service accepts at `threshold` (strictly below it)."""
    return int(np.searchsorted(distances, threshold, side="left"))


def tar_at_far(roc: RocCurve, target: float, impostor_pairs: int) -> dict[str, object]:
    """The best TAR whose FAR is at most `target`, with how far the figure can be trusted."""
    allowed = roc.far <= target + 1e-12
    best = int(np.flatnonzero(allowed)[np.argmax(roc.tar[allowed])])
    return {
        "far_target": target,
        "tar": float(roc.tar[best]),
        "far": float(roc.far[best]),
        "distance": None if best == 0 else float(roc.thresholds[best]),
        "impostor_pairs": impostor_pairs,
        # With n impostor pairs FAR moves in steps of 1/n: a target below 1/n can only be met
        # by zero false accepts, and a handful of false accepts is no estimate either.
        "false_accepts_allowed": math.floor(target * impostor_pairs + 1e-9),
        "far_resolution": 1.0 / impostor_pairs,
        "reliable": impostor_pairs * target >= 10,
    }


def distance_summary(values: np.ndarray) -> dict[str, float | int]:
    if len(values) == 0:
        return {"count": 0}
    quantiles = np.quantile(values, [0.05, 0.5, 0.95])
    return {
        "count": len(values),
        "min": float(values.min()),
        "p05": float(quantiles[0]),
        "median": float(quantiles[1]),
        "mean": float(values.mean()),
        "p95": float(quantiles[2]),
        "max": float(values.max()),
    }


def verification_metrics(
    distances: np.ndarray, same: np.ndarray, threshold: float
) -> dict[str, object]:
    """Every verification figure from pair distances and labels (needs both kinds of pair)."""
    genuine, impostor = _split(distances, same)
    if len(genuine) == 0 or len(impostor) == 0:
        raise ValueError(
            f"verification needs genuine and impostor pairs; got {len(genuine)} genuine and "
            f"{len(impostor)} impostor pairs"
        )
    total = len(genuine) + len(impostor)
    true_accepts = accepted(genuine, threshold)
    false_accepts = accepted(impostor, threshold)
    candidates = gap_thresholds(np.concatenate([genuine, impostor]))
    correct = np.searchsorted(genuine, candidates, side="left") + (
        len(impostor) - np.searchsorted(impostor, candidates, side="left")
    )
    best = int(np.argmax(correct))  # first maximum: the lowest threshold, fewest false accepts
    roc = roc_curve(genuine, impostor)
    eer, eer_distance = equal_error_rate(roc)
    return {
        "threshold": float(threshold),
        "pairs": total,
        "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostor),
        "accuracy": (true_accepts + len(impostor) - false_accepts) / total,
        "true_accepts": true_accepts,
        "false_rejects": len(genuine) - true_accepts,
        "false_accepts": false_accepts,
        "true_rejects": len(impostor) - false_accepts,
        "tar": true_accepts / len(genuine),
        "far": false_accepts / len(impostor),
        "best_accuracy": float(correct[best] / total),
        "best_threshold": float(candidates[best]),
        "roc_auc": roc_auc(genuine, impostor),
        "eer": eer,
        "eer_distance": eer_distance,
        "tar_at_far": [tar_at_far(roc, target, len(impostor)) for target in FAR_TARGETS],
        "genuine_distances": distance_summary(genuine),
        "impostor_distances": distance_summary(impostor),
    }


# --------------------------------------------------------------------------- open set


@dataclass(frozen=True)
class OpenSetSplit:
    enrolled: dict[str, int]  # identity -> index of its one enrolled photo
    strangers: list[str]  # identities never enrolled: every photo of theirs is a stranger


def open_set_split(
    labels: Sequence[str], seed: int = 0, stranger_fraction: float = DEFAULT_STRANGER_FRACTION
) -> OpenSetSplit:
    """Enroll one photo of some identities; hold the rest out as strangers. Deterministic.

    Only identities with at least two photos can be enrolled (one photo enrolls, the others
    check in); `stranger_fraction` of them (rounded, keeping at least one enrolled) are held out
    as strangers, along with every single-photo identity.
    """
    by_identity: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_identity.setdefault(label, []).append(index)
    candidates = sorted(name for name, idx in by_identity.items() if len(idx) >= 2)
    rng = np.random.default_rng(seed)
    order = [candidates[i] for i in rng.permutation(len(candidates))]
    held_out = min(round(stranger_fraction * len(order)), max(len(order) - 1, 0))
    enrolled = {
        name: int(by_identity[name][rng.integers(len(by_identity[name]))])
        for name in sorted(order[held_out:])
    }
    strangers = sorted(set(by_identity) - set(enrolled))
    return OpenSetSplit(enrolled=enrolled, strangers=strangers)


@dataclass(frozen=True)
class Probe:
    """One check-in photo against the enrolled gallery."""

    index: int
    identity: str
    known: bool  # the identity is enrolled
    nearest: str  # nearest enrolled identity
    distance: float
    runner_up: str | None
    runner_up_distance: float  # inf when only one identity is enrolled

    def decision(self, threshold: float, ambiguity_margin: float) -> IdentificationDecision:
        """The service's answer to this check-in: present, unknown or ambiguous."""
        return decide(self.distance, self.runner_up_distance, threshold, ambiguity_margin)


def open_set_probes(
    distances: np.ndarray, labels: Sequence[str], split: OpenSetSplit
) -> list[Probe]:
    """Search every non-enrolled photo against the gallery, as the service's check-in does."""
    names = list(split.enrolled)
    gallery = np.array([split.enrolled[name] for name in names], dtype=int)
    enrolled_photos = set(gallery.tolist())
    probes = []
    for index, identity in enumerate(labels):
        if index in enrolled_photos:
            continue
        row = distances[index, gallery]
        order = np.argsort(row, kind="stable")
        second = order[1] if len(order) > 1 else None
        probes.append(
            Probe(
                index=index,
                identity=identity,
                known=identity in split.enrolled,
                nearest=names[order[0]],
                distance=float(row[order[0]]),
                runner_up=None if second is None else names[second],
                runner_up_distance=math.inf if second is None else float(row[second]),
            )
        )
    return probes


def outcome(probe: Probe, threshold: float, ambiguity_margin: float) -> str:
    decision = probe.decision(threshold, ambiguity_margin)
    if not probe.known:
        return "accepted_stranger" if decision == "present" else "rejected_stranger"
    if decision != "present":
        return "rejected"
    return "correct" if probe.nearest == probe.identity else "wrong"


def open_set_metrics(
    probes: Sequence[Probe],
    threshold: float,
    ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN,
    paths: Sequence[str] | None = None,
) -> dict[str, object]:
    counts = dict.fromkeys(
        ("correct", "wrong", "rejected", "accepted_strangers", "rejected_strangers"), 0
    )
    key = {"accepted_stranger": "accepted_strangers", "rejected_stranger": "rejected_strangers"}
    checkins = []
    ambiguous = 0
    for probe in probes:
        result = outcome(probe, threshold, ambiguity_margin)
        counts[key.get(result, result)] += 1
        ambiguous += probe.decision(threshold, ambiguity_margin) == "ambiguous"
        checkins.append(
            {
                "photo": paths[probe.index] if paths else probe.index,
                "identity": probe.identity,
                "known": probe.known,
                "nearest": probe.nearest,
                "distance": round(probe.distance, 4),
                "outcome": result,
            }
        )
    known = sum(probe.known for probe in probes)
    return {
        "threshold": float(threshold),
        "ambiguity_margin": ambiguity_margin,
        "known_checkins": known,
        "stranger_checkins": len(probes) - known,
        **counts,
        "ambiguous": ambiguous,
        "checkins": checkins,
    }


# --------------------------------------------------------------------------- plots


def plot_roc(roc: RocCurve, metrics: dict[str, object], path: Path) -> None:
    """Linear ROC, and the same with a log FAR axis where the TAR@FAR targets can be read."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    impostors = int(metrics["impostor_pairs"])
    # FAR 0 cannot sit on a log axis: it is drawn left of both the first step and the targets.
    floor = 0.5 * min(1.0 / impostors, *FAR_TARGETS)
    fig, (linear, log) = plt.subplots(1, 2, figsize=(12, 5.2), dpi=110)
    point = (
        f"threshold {metrics['threshold']:.3f}: TAR {metrics['tar']:.1%}, FAR {metrics['far']:.2%}"
    )
    for ax, far in ((linear, roc.far), (log, np.maximum(roc.far, floor))):
        ax.step(far, roc.tar, where="post", lw=2, label=f"ROC (AUC = {metrics['roc_auc']:.4f})")
        ax.plot([max(metrics["far"], floor if ax is log else 0.0)], [metrics["tar"]], "o",
                color="crimson", ms=9, label=point)  # fmt: skip
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel(f"true accept rate (of {metrics['genuine_pairs']} genuine pairs)")
        ax.grid(alpha=0.3)
    linear.plot([0, 1], [0, 1], ls=":", color="grey", label="chance")
    linear.plot([metrics["eer"]], [1 - metrics["eer"]], "s", color="darkorange", ms=7,
                label=f"EER {metrics['eer']:.2%}")  # fmt: skip
    linear.set_xlim(-0.02, 1.02)
    linear.set_xlabel(f"false accept rate (of {impostors} impostor pairs)")
    linear.set_title("Verification ROC")
    linear.legend(loc="lower right", fontsize=8)
    log.set_xscale("log")
    log.set_xlim(floor * 0.8, 1.05)
    for row in metrics["tar_at_far"]:
        log.axvline(row["far_target"], color="grey", ls="--", lw=1)
        log.annotate(f"FAR {row['far_target']:.0e}\nTAR {row['tar']:.1%}",
                     (row["far_target"], 0.05), fontsize=8, ha="right")  # fmt: skip
    log.axvspan(floor * 0.8, 1.0 / impostors, color="grey", alpha=0.15,
                label=f"below 1/{impostors}: not measurable")  # fmt: skip
    log.set_xlabel("false accept rate (log scale; FAR 0 drawn at the left edge)")
    log.set_title("ROC, low-FAR region")
    log.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_distances(
    distances: np.ndarray, same: np.ndarray, metrics: dict[str, object], path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    genuine, impostor = _split(distances, same)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    low, high = min(genuine.min(), impostor.min()), max(genuine.max(), impostor.max())
    bins = np.linspace(low, max(high, low + 1e-6), 40)
    # Each histogram sums to 1: impostor pairs far outnumber genuine ones.
    for values, colour, name in (
        (genuine, "tab:green", "genuine"),
        (impostor, "tab:red", "impostor"),
    ):
        ax.hist(
            values,
            bins=bins,
            weights=np.full(len(values), 1 / len(values)),
            alpha=0.55,
            color=colour,
            edgecolor=colour,
            label=f"{name} pairs (n={len(values)})",
        )
    ax.axvline(
        metrics["threshold"], color="black", lw=2, label=f"threshold {metrics['threshold']:.3f}"
    )
    if abs(metrics["best_threshold"] - metrics["threshold"]) > 1e-9:
        ax.axvline(
            metrics["best_threshold"],
            color="black",
            ls="--",
            lw=1.2,
            label=f"best-accuracy threshold {metrics['best_threshold']:.3f}",
        )
    ax.set_xlabel("distance between the two photos' embeddings (below the threshold: same person)")
    ax.set_ylabel("share of pairs")
    ax.set_title("Genuine vs impostor distances")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# --------------------------------------------------------------------------- the whole run


@dataclass
class EvaluationData:
    """Everything computed before thresholds come in: shared by evaluate and calibrate."""

    dataset: Path
    paths: list[str]  # embedded photos
    photos: dict[str, object]  # counts and lists of what could not be used
    pair_distances: np.ndarray
    pair_same: np.ndarray
    unscored_pairs: list[dict[str, str]]
    labels: list[str] | None = None  # folder datasets only
    distances: np.ndarray | None = None  # (N, N), folder datasets only


def load_evaluation_data(
    embedder: FaceEmbedder,
    dataset_dir: Path,
    pairs_csv: Path | None = None,
    progress: bool = True,
) -> EvaluationData:
    if pairs_csv is not None:
        return _pairs_data(embedder, Path(dataset_dir), Path(pairs_csv), progress)
    root = identity_root(Path(dataset_dir))
    paths, labels = list_identity_photos(root)
    chips = extract_chips(embedder, root, paths, progress)
    kept = {path: i for i, path in enumerate(paths)}
    kept_labels = [labels[kept[path]] for path in chips.paths]
    embeddings = embedder.embed_chips(chips.chips)
    distances = embedder.distances(embeddings, embeddings).astype(np.float64)
    first, second, same = all_pairs(kept_labels)
    return EvaluationData(
        dataset=root,
        paths=chips.paths,
        photos={**chips.issues(len(paths)), "identities": len(set(labels))},
        pair_distances=distances[first, second],
        pair_same=same,
        unscored_pairs=[],
        labels=kept_labels,
        distances=distances,
    )


def pair_distances(embedder: FaceEmbedder, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The distance of each pair (first[i], second[i]), by the embedder's distance function."""
    return np.array(
        [embedder.distances(a[None], b[None])[0, 0] for a, b in zip(first, second, strict=True)],
        dtype=np.float64,
    )


def _pairs_data(
    embedder: FaceEmbedder, root: Path, pairs_csv: Path, progress: bool
) -> EvaluationData:
    pairs = read_pairs_csv(pairs_csv)
    paths = sorted({p.file_a for p in pairs} | {p.file_b for p in pairs})
    chips = extract_chips(embedder, root, paths, progress)
    index = {path: i for i, path in enumerate(chips.paths)}
    embeddings = embedder.embed_chips(chips.chips)
    scored = [p for p in pairs if p.file_a in index and p.file_b in index]
    a = np.array([index[p.file_a] for p in scored], dtype=int)
    b = np.array([index[p.file_b] for p in scored], dtype=int)
    return EvaluationData(
        dataset=root,
        paths=chips.paths,
        photos=chips.issues(len(paths)),
        pair_distances=pair_distances(embedder, embeddings[a], embeddings[b]),
        pair_same=np.array([p.same for p in scored], dtype=bool),
        # A pair with an unusable photo is neither passed nor failed: it is listed.
        unscored_pairs=[asdict(p) for p in pairs if p.file_a not in index or p.file_b not in index],
    )


def build_report(
    data: EvaluationData,
    threshold: float,
    *,
    backbone: str,
    weights: str,
    threshold_source: str,
    seed: int = 0,
    ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN,
) -> dict[str, object]:
    verification = verification_metrics(data.pair_distances, data.pair_same, threshold)
    verification["unscored_pairs"] = data.unscored_pairs
    report: dict[str, object] = {
        "dataset": str(data.dataset),
        "backbone": backbone,
        "weights": weights,
        "threshold": threshold,
        "threshold_source": threshold_source,
        "photos": data.photos,
        "verification": verification,
        "open_set": None,
    }
    if data.labels is not None and data.distances is not None:
        split = open_set_split(data.labels, seed)
        probes = open_set_probes(data.distances, data.labels, split)
        report["open_set"] = {
            "seed": seed,
            "enrolled": {name: data.paths[i] for name, i in split.enrolled.items()},
            "strangers": split.strangers,
            **open_set_metrics(probes, threshold, ambiguity_margin, data.paths),
        }
    return report


def write_outputs(data: EvaluationData, report: dict[str, object], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = report["verification"]
    genuine, impostor = _split(data.pair_distances, data.pair_same)
    plot_roc(roc_curve(genuine, impostor), metrics, out_dir / "roc.png")
    plot_distances(data.pair_distances, data.pair_same, metrics, out_dir / "distances.png")
    report["plots"] = {"roc": "roc.png", "distances": "distances.png"}
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def evaluate(
    embedder: FaceEmbedder,
    dataset_dir: Path,
    out_dir: Path,
    pairs_csv: Path | None = None,
    threshold: float | None = None,
    seed: int = 0,
    progress: bool = True,
    ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN,
) -> dict[str, object]:
    """Run the whole evaluation, write report.json and the plots, return the report.

    The threshold is `threshold` if given, else the backbone's default (never the service's
    settings: pass its ROLLCALL_THRESHOLD as `threshold` to judge at it).
    """
    source = "--threshold"
    if threshold is None:
        threshold, source = embedder.threshold, f"{embedder.spec.name} default"
    data = load_evaluation_data(embedder, dataset_dir, pairs_csv, progress)
    report = build_report(
        data,
        threshold,
        backbone=embedder.spec.name,
        weights=embedder.version,
        threshold_source=source,
        seed=seed,
        ambiguity_margin=ambiguity_margin,
    )
    write_outputs(data, report, Path(out_dir))
    return report


# --------------------------------------------------------------------------- terminal


def _pct(value: float) -> str:
    return f"{100 * value:6.2f}%"


def format_photos(photos: dict[str, object]) -> list[str]:
    """The photo counts, and every photo that was not used or needed a choice, by name."""
    lines = [
        f"photos    {photos['embedded']} of {photos['total']} embedded; "
        f"no face: {photos['no_face_count']}, unreadable: {photos['unreadable_count']}, "
        f"several faces (most probable used): {photos['multiple_faces_count']}"
    ]
    lines += [f"  no face:    {path}" for path in photos["no_face"]]
    lines += [f"  unreadable: {e['path']} ({e['error']})" for e in photos["unreadable"]]
    lines += [f"  {e['faces']} faces:    {e['path']}" for e in photos["multiple_faces"]]
    return lines


def format_report(report: dict[str, object]) -> str:
    v = report["verification"]
    lines = [
        f"dataset   {report['dataset']}",
        f"backbone  {report['backbone']} ({report['weights']})",
        f"threshold {report['threshold']:.4f} ({report['threshold_source']})",
        *format_photos(report["photos"]),
    ]
    lines += [
        "",
        f"Verification: {v['genuine_pairs']} genuine, {v['impostor_pairs']} impostor pairs"
        + (f" ({len(v['unscored_pairs'])} pairs unscored)" if v["unscored_pairs"] else ""),
        f"  accuracy @ {v['threshold']:.4f}      {_pct(v['accuracy'])}   "
        f"(TAR {v['true_accepts']}/{v['genuine_pairs']}, FAR {v['false_accepts']}/"
        f"{v['impostor_pairs']})",
        f"  best accuracy @ {v['best_threshold']:.4f} {_pct(v['best_accuracy'])}",
        f"  ROC AUC                {v['roc_auc']:8.4f}",
        f"  EER                    {_pct(v['eer'])}   (at distance {v['eer_distance']:.4f})",
    ]
    for row in v["tar_at_far"]:
        note = ""
        if not row["reliable"]:
            note = (
                f"  [only {row['impostor_pairs']} impostor pairs: FAR moves in steps of "
                f"{row['far_resolution']:.1e}, so at most {row['false_accepts_allowed']} false "
                "accepts; not a reliable estimate]"
            )
        lines.append(f"  TAR @ FAR={row['far_target']:.0e}      {_pct(row['tar'])}{note}")
    for kind in ("genuine", "impostor"):
        s = v[f"{kind}_distances"]
        lines.append(
            f"  {kind:8} distances  min {s['min']:.3f}  median {s['median']:.3f}  "
            f"max {s['max']:.3f}  (n={s['count']})"
        )
    o = report.get("open_set")
    if o:
        lines += [
            "",
            f"Attendance (open set, seed {o['seed']}): {len(o['enrolled'])} identities enrolled "
            f"with one photo, {len(o['strangers'])} held out as strangers",
            f"  known check-ins   {o['known_checkins']:4}: correct {o['correct']}, "
            f"wrong person {o['wrong']}, rejected {o['rejected']}",
            f"  stranger check-ins {o['stranger_checkins']:3}: accepted {o['accepted_strangers']}, "
            f"rejected {o['rejected_strangers']}",
            f"  ambiguous (runner-up within {o['ambiguity_margin']}): {o['ambiguous']}",
        ]
    return "\n".join(lines)


def make_embedder(args: argparse.Namespace) -> FaceEmbedder | None:
    """The embedder for a CLI command, or None after printing why the weights are unavailable."""
    from models.backbones.facenet import WeightsUnavailableError
    from models.embedder import EmbedderConfig

    try:
        return FaceEmbedder(EmbedderConfig(backbone=args.backbone, weights_path=args.weights))
    except (WeightsUnavailableError, FileNotFoundError) as exc:
        print(f"rollcall: cannot load backbone {args.backbone}: {exc}", file=sys.stderr)
        return None


def evaluate_command(args: argparse.Namespace) -> int:
    embedder = make_embedder(args)
    if embedder is None:
        return 2
    try:
        report = evaluate(
            embedder,
            args.dataset,
            args.out,
            args.pairs,
            args.threshold,
            args.seed,
            progress=True,
            ambiguity_margin=args.ambiguity_margin,
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"rollcall evaluate: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    print(f"\nreport and plots written to {args.out}/ (report.json, roc.png, distances.png)")
    return 0
