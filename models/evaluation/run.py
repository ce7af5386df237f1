"""The whole evaluation: embed a dataset, score it, write report.json and the plots.

Photos in which no face is found, or which cannot be read, are counted and listed in the report,
never silently dropped; when several faces are found, the most probable one is used and the
photo is listed too. A folder dataset scores every pair of photos (same identity: genuine, else
impostor) and runs the open-set attendance protocol; a pairs CSV scores verification only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NotRequired, TypedDict

import numpy as np

from models.embedder import FaceEmbedder
from models.evaluation.chips import PhotoIssues, extract_chips
from models.evaluation.datasets import (
    all_pairs,
    identity_root,
    list_identity_photos,
    read_pairs_csv,
)
from models.evaluation.metrics import (
    VerificationMetrics,
    roc_curve,
    split_genuine_impostor,
    verification_metrics,
)
from models.evaluation.open_set import (
    OpenSetMetrics,
    open_set_metrics,
    open_set_probes,
    open_set_split,
)
from models.evaluation.plots import plot_distances, plot_roc
from models.identification import DEFAULT_AMBIGUITY_MARGIN


class OpenSetReport(OpenSetMetrics):
    seed: int
    enrolled: dict[str, str]  # identity -> its enrolled photo
    strangers: list[str]


class EvaluationReport(TypedDict):
    """report.json."""

    dataset: str
    backbone: str
    weights: str
    threshold: float
    threshold_source: str
    photos: PhotoIssues
    verification: VerificationMetrics
    open_set: OpenSetReport | None  # folder datasets only
    plots: NotRequired[dict[str, str]]  # written beside it: kind -> file name


@dataclass
class EvaluationData:
    """Everything computed before thresholds come in: shared by evaluate and calibrate."""

    dataset: Path
    paths: list[str]  # embedded photos
    photos: PhotoIssues  # counts and lists of what could not be used
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
) -> EvaluationReport:
    verification = verification_metrics(data.pair_distances, data.pair_same, threshold)
    verification["unscored_pairs"] = data.unscored_pairs
    report: EvaluationReport = {
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


def write_outputs(data: EvaluationData, report: EvaluationReport, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = report["verification"]
    genuine, impostor = split_genuine_impostor(data.pair_distances, data.pair_same)
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
) -> EvaluationReport:
    """Run the whole evaluation, write report.json and the plots, return the report.

    The threshold is `threshold` if given, else the backbone's default (never the service's
    settings: pass its ROLLCALL_THRESHOLD as `threshold` to judge at it).
    """
    source = "--threshold"
    if threshold is None:
        threshold, source = embedder.spec.threshold, f"{embedder.spec.name} default"
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
