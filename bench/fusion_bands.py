"""The roster and burst rows of dlib+faceres by retry band, on one half of LFW dev-train's
people, beside dlib-resnet's (Rollcall's default) in the same run: bench/accuracy.py's roster
rows (bench/rosters.py) without the rest of that benchmark (no dlib's-own reference pipeline,
which half 0 has not been embedded by), by symmetric band. The fusion's shipped bands were
chosen with `bench/retry_band.py --half 0 --backbone dlib+faceres --burst-bands 0.03 0.04 0.05`
(one frame, burst and kiosk at 30 to 2,000 and in rosters), and reported there on half 1.

    OMP_NUM_THREADS=1 python bench/fusion_bands.py --half 0 [--lfw ../shared/lfw-devtrain]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fusion, rosters
from bench.accuracy import finished_faceres
from bench.lfw import EmbeddingCache, FaceresPipeline, RollcallPipeline, embed_all, lfw_protocol
from models.identification import shipped_retry_bands, shipped_rule

SHARED = Path(__file__).resolve().parents[2] / "shared"
PROBES = 4  # bench/accuracy.py's check-ins per person: photos 2-5 make a burst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lfw", type=Path, default=SHARED / "lfw-devtrain")
    parser.add_argument("--cache", type=Path, default=Path("out/bench-cache"))
    parser.add_argument("--half", type=int, choices=(0, 1), default=0)
    parser.add_argument("--json", type=Path, default=Path("out/fusion-bands.json"))
    args = parser.parse_args()
    protocol = lfw_protocol(args.lfw, 0, rosters.GALLERY, 0, args.half)
    everyone = lfw_protocol(args.lfw, 0, 10**6, 0, args.half).gallery
    strangers = [p for p in everyone[rosters.GALLERY :] if len(protocol.photos[p]) >= 3][:100]
    jobs = {(protocol.enrolled_photo(p), "full") for p in protocol.enrolled(rosters.GALLERY)}
    for person in protocol.gallery[: rosters.GALLERY]:
        jobs |= {(p, "full") for p in protocol.photos[person][: 1 + PROBES]}
    jobs |= {(p, "full") for s in strangers for p in protocol.photos[s][:PROBES]}
    lookups = {}
    for pipeline in (RollcallPipeline(flip_tta=False), FaceresPipeline()):
        cache = EmbeddingCache(args.cache, pipeline.cache_key)
        lookups[pipeline.name] = embed_all(pipeline, cache, jobs, protocol.root, "LFW")
    lookups["faceres"] = finished_faceres(lookups["faceres"])
    lookups[fusion.NAME] = fusion.fused_lookup(lookups["rollcall"], lookups["faceres"])
    rules = {"rollcall": shipped_rule(flip_tta=False), fusion.NAME: fusion.fused_rule()}
    print(f"half {args.half}: {len(strangers)} burst strangers (3+ photos, outside the 500)")
    report = {}
    for name, rule in rules.items():
        parts = fusion.PARTS if name == fusion.NAME else ()
        bands = shipped_retry_bands("dlib-resnet" if name == "rollcall" else name, False)
        rows = rosters.roster_rows(protocol, lookups[name], lookups[name], strangers, rule,
                                   PROBES, False, parts, shipped=bands)  # fmt: skip
        report[name] = rows
        print(f"\n{name}:", end="")
        rosters.print_rows(rows)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
