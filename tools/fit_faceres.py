"""Fit the opt-in faceres backbone's constants, and its fusion with dlib's, on HALF 0 of LFW.

    python tools/fit_faceres.py [--lfw ../shared/lfw-devtrain] [--fusion | --fusion-only]

On half 0 of LFW dev-train's people (bench.lfw.person_half; bench/accuracy.py reports on
half 1): the first photo of every person, and photos 2-3 of 500 people with several photos.
From faceres's raw features (bench.lfw.FaceresPipeline) it writes

- models/backbones/faceres_mean.json: the mean feature of the first photos, taken off every
  embedding (the features share a large common part that cosine distances would be blind to),
  and the scale of the unit embeddings that gives their impostor distances dlib's spread (so
  the ambiguity margin and the retry band mean the same);
- far_curves/faceres.json: FAR(t) on the impostor pairs of the first photos;
- far_curves/faceres-runner-up.json: tau(N) of the runner-up rule (tools/fit_runner_up_curve);
- and prints the 1:1 threshold: the distance with the FAR dlib's 0.596 has on its own curve.

With --fusion, also dlib's embeddings of the same photos, and the weight w of the fusion
D^2 = w d_dlib^2 + (1 - w) k d_faceres^2 (k puts faceres's impostor distances on dlib's
scale): the w, of a few, that recognises most half-0 check-ins at 500 enrolled and 1% FPIR,
and its FAR and runner-up curves (far_curves/dlib+faceres*.json). With --fusion-only, the
fusion alone, on the shipped faceres centring: faceres's own files are left as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lfw import (
    EmbeddingCache,
    FaceresPipeline,
    RollcallPipeline,
    embed_all,
    lfw_protocol,
    person_half,
)
from models.backbones import FAR_CURVES, get_backbone
from models.backbones.faceres import MEAN_EMBEDDING_FILE, Centring, load_centring
from models.thresholds import FarCurve
from tools.fit_runner_up_curve import FILL_STRANGERS, Limits, fit_curve, recognised_at_500

REPO = Path(__file__).resolve().parents[1]
ENROLLED = 500  # half-0 people with several photos enrolled for the weight choices
PROBES = 2  # their photos checked in
FUSION_WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7)
DLIB = get_backbone("dlib-resnet")


def impostor_distances(embeddings: np.ndarray) -> np.ndarray:
    """Distances of every pair of rows (each row another person)."""
    squared = (embeddings**2).sum(1)
    gram = embeddings @ embeddings.T
    distances = np.sqrt(np.maximum(squared[:, None] + squared[None] - 2 * gram, 0))
    return distances[np.triu_indices(len(embeddings), 1)]


class HalfZero:
    """The photos of half 0 the constants are fitted on, and their embeddings' arrays."""

    def __init__(self, lfw: Path, limit: int | None = None) -> None:
        protocol = lfw_protocol(lfw, 0, 10**6, 10**6)
        self.protocol = protocol
        self.half = {n: p for n, p in protocol.photos.items() if person_half(n) == 0}
        self.several = [n for n in protocol.gallery if n in self.half][:ENROLLED]
        self.jobs = {(p[0], "full") for p in self.half.values()}
        self.jobs |= {(p, "full") for n in self.several for p in self.half[n][1 : 1 + PROBES]}
        if limit is not None:  # the first photos by path: the people whose names come first
            self.jobs = set(sorted(self.jobs)[:limit])

    def arrays(self, embed) -> dict[str, np.ndarray]:
        """people (first photos), enrolled, probes, owners, strangers (everyone else's first
        photo): a photo without a face in either network is left out of both."""
        firsts = {n: embed(p[0]) for n, p in self.half.items()}
        enrolled_names = [n for n in self.several if firsts[n] is not None]
        probes, owners = [], []
        for index, name in enumerate(enrolled_names):
            for photo in self.half[name][1 : 1 + PROBES]:
                if (found := embed(photo)) is not None:
                    probes.append(found)
                    owners.append(index)
        chosen = set(enrolled_names)
        row = {n: i for i, n in enumerate(n for n, e in firsts.items() if e is not None)}
        return {
            "people": np.stack([e for e in firsts.values() if e is not None]),
            "probe_people": np.array([row[enrolled_names[o]] for o in owners]),
            "enrolled": np.stack([firsts[n] for n in enrolled_names]),
            "probes": np.stack(probes),
            "owners": np.array(owners),
            "strangers": np.stack(
                [e for n, e in firsts.items() if e is not None and n not in chosen]
            ),
        }


def fit_backbone(name: str, arrays: dict[str, np.ndarray], ceiling_far: float) -> np.ndarray:
    """FAR curve, 1:1 threshold and runner-up curve of one backbone's half-0 embeddings."""
    impostors = impostor_distances(arrays["people"])
    curve = FarCurve.from_impostors(
        impostors, f"../shared/lfw-devtrain, half 0 of its people, first photos ({name})"
    )
    curve.save(FAR_CURVES / f"{name}.json")
    ceiling = curve.threshold_for_far(ceiling_far)
    print(f"{name}: {len(impostors)} impostor pairs, 1:1 threshold {ceiling:.4f} "
          f"(FAR {ceiling_far:.2e})")  # fmt: skip
    runner_up = fit_curve(
        list(arrays["people"]), arrays["enrolled"], arrays["probes"], arrays["owners"],
        arrays["strangers"], Limits(curve, ceiling),
        f"../shared/lfw-devtrain, half 0 of its people (tools/fit_faceres.py, {name}); "
        f"N > {len(arrays['people']) - FILL_STRANGERS}: {FILL_STRANGERS} of them strangers, "
        "the gallery filled with photos 2-3 of its people (tools/fit_runner_up_curve.py)",
        (arrays["probes"], arrays["probe_people"]),
    )  # fmt: skip
    runner_up.save(FAR_CURVES / f"{name}-runner-up.json")
    return impostors


def spread(curve: FarCurve) -> float:
    """How far apart impostor distances lie: the thresholds of FAR 1e-4 and of FAR 0.5."""
    return curve.threshold_for_far(0.5) - curve.threshold_for_far(1e-4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lfw", type=Path, default=REPO.parent / "shared" / "lfw-devtrain")
    parser.add_argument("--cache", type=Path, default=Path("out/bench-cache"))
    parser.add_argument("--fusion", action="store_true", help="also fit dlib+faceres")
    parser.add_argument(
        "--fusion-only", action="store_true", help="fit dlib+faceres alone, on faceres's files"
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos")
    args = parser.parse_args()
    half = HalfZero(args.lfw, args.limit)
    faceres = FaceresPipeline()
    raw = embed_all(faceres, EmbeddingCache(args.cache, faceres.cache_key), half.jobs,
                    half.protocol.root, "faceres, LFW half 0")  # fmt: skip
    found = {p for p, _ in half.jobs if raw(p) is not None}
    dlib_lookup = None
    if args.fusion or args.fusion_only:
        dlib = RollcallPipeline(flip_tta=False)  # as the fusion embeds (models/fusion.py)
        dlib_lookup = embed_all(dlib, EmbeddingCache(args.cache, dlib.cache_key), half.jobs,
                                half.protocol.root, "dlib, LFW half 0")  # fmt: skip
        found = {p for p in found if dlib_lookup(p) is not None}

    def arrays(embed) -> dict[str, np.ndarray]:
        return half.arrays(lambda p: embed(p) if p in found else None)

    dlib_curve = FarCurve.load(DLIB.far_curve)
    ceiling_far = dlib_curve.far_at(DLIB.threshold)
    if args.fusion_only:
        centring = load_centring()
        faceres_arrays = arrays(lambda p: centring.apply(raw(p).embedding))
        faceres_impostors = impostor_distances(faceres_arrays["people"])
    else:
        centring = fit_centring(half, raw, found, dlib_curve, arrays)
        faceres_arrays = arrays(lambda p: centring.apply(raw(p).embedding))
        print(f"scale {centring.scale:.4f}; dlib's {DLIB.threshold} has FAR {ceiling_far:.3g}")
        faceres_impostors = fit_backbone("faceres", faceres_arrays, ceiling_far)
    if dlib_lookup is not None:
        dlib_arrays = arrays(lambda p: dlib_lookup(p).embedding)
        fit_fusion(dlib_arrays, faceres_arrays, faceres_impostors, ceiling_far)
    return 0


def fit_centring(half: HalfZero, raw, found: set, dlib_curve: FarCurve, arrays) -> Centring:
    """The mean of the half-0 first photos' features, and the scale that gives the unit
    embeddings' impostor distances dlib's spread; written to faceres_mean.json."""
    firsts = [raw(p[0]).embedding for p in half.half.values() if p[0] in found]
    unit = Centring(np.mean(np.stack(firsts), axis=0), 1.0)
    # The scale gives faceres's impostor distances the spread of dlib's on its shipped curve.
    unit_impostors = impostor_distances(arrays(lambda p: unit.apply(raw(p).embedding))["people"])
    unit_spread = spread(FarCurve.from_impostors(unit_impostors, "unit"))
    centring = Centring(unit.mean, spread(dlib_curve) / unit_spread)
    MEAN_EMBEDDING_FILE.write_text(json.dumps({
        "source": f"../shared/lfw-devtrain, half 0 of its people, {len(firsts)} first photos "
                  "(tools/fit_faceres.py): the mean of their features; the scale gives the "
                  "unit embeddings' impostor distances (FAR 1e-4 to 0.5) dlib's spread",
        "scale": round(centring.scale, 6),
        "mean": [round(float(v), 6) for v in centring.mean],
    }) + "\n")  # fmt: skip
    return centring


def fit_fusion(dlib_arrays, faceres_arrays, faceres_impostors, ceiling_far: float) -> None:
    dlib_impostors = impostor_distances(dlib_arrays["people"])
    k = float(np.mean(dlib_impostors**2) / np.mean(faceres_impostors**2))
    keys = ("people", "enrolled", "probes", "strangers")
    rates = {}
    for w in FUSION_WEIGHTS:
        fused = {key: fuse(dlib_arrays[key], faceres_arrays[key], w, k) for key in keys}
        curve = FarCurve.from_impostors(impostor_distances(fused["people"]), "trial")
        limits = Limits(curve, curve.threshold_for_far(ceiling_far))
        rates[w] = max(recognised_at_500(fused["enrolled"], fused["probes"],
                                         faceres_arrays["owners"], fused["strangers"], rw, limits)
                       for rw in (1.0, 2.0))  # fmt: skip
        print(f"fusion w={w}: {rates[w]:.1%} right at 500 enrolled, 1% FPIR (half 0)")
    w = max(rates, key=rates.__getitem__)
    fused = {key: fuse(dlib_arrays[key], faceres_arrays[key], w, k) for key in keys}
    fused["owners"] = faceres_arrays["owners"]
    fused["probe_people"] = faceres_arrays["probe_people"]
    fit_backbone("dlib+faceres", fused, ceiling_far)
    print(f"fusion: w {w}, k {k:.5f}")
    weights = {"source": "tools/fit_faceres.py, half 0", "dlib": w, "faceres": (1 - w) * k}
    (FAR_CURVES / "dlib+faceres-weights.json").write_text(json.dumps(weights) + "\n")


def fuse(dlib: np.ndarray, faceres: np.ndarray, w: float, k: float) -> np.ndarray:
    """Concatenated, scaled embeddings: their squared distance is w d_dlib^2 + (1-w) k d_fr^2."""
    return np.concatenate([np.sqrt(w) * dlib, np.sqrt((1 - w) * k) * faceres], axis=-1)


if __name__ == "__main__":
    raise SystemExit(main())
