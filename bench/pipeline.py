"""Per-stage latency of Rollcall's pipeline beside dlib's own, on the same photos, same run.

dlib's side is the `face_recognition` pipeline: HOG detector (upsampled once, its default),
5-point landmarks, ResNet descriptor. Rollcall's: decode, MTCNN detect, align, embed (the same
ResNet, ported to torch), as the service runs it (every network on ONNX Runtime from exported
files, numpy glue, no torch: models/serving.py) and every network on torch (training,
evaluation, the export: MTCNN's stages are the same numpy in both). Runs alternate between them so
machine load hits all alike. Run it with OMP_NUM_THREADS=1, dlib's and the service's setting:
one thread per process.

    OMP_NUM_THREADS=1 python bench/pipeline.py [--repeat 7] [--busy-core] [--backbone NAME]
    (needs dlib-bin, `test` extra)

--backbone embeds Rollcall's side with another backbone (an opt-in one installed first:
`rollcall models install faceres`; `dlib+faceres` runs both networks on every face, as the
service does: models/fusion.py); dlib's side stays dlib's own pipeline, the reference.

--busy-core runs a process that keeps one core busy for the whole measurement (a school PC is
never idle): the issue's "no worse when another process loads one core".
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lfw import DlibModels
from models.backbones import get_backbone
from models.embedder import EmbedderConfig, FaceEmbedder, FacePipeline
from models.fusion import FusedPipeline
from models.image import load_image
from models.serving import ServingEmbedder
from models.timing import StageTimer

FACES = Path(__file__).resolve().parents[1].parent / "shared" / "faces"
PHOTOS = {  # label: (photo, faces in it)
    "480p": ("variants/obama-480p.jpg", 1),
    "1080p": ("variants/obama-1080p.jpg", 1),
    "group": ("group/multiface.jpg", None),  # as many faces as dlib finds
}
STAGES = ["decode", "detect", "align", "embed"]


class DlibPipeline(DlibModels):
    def run(self, data: bytes, timer: StageTimer) -> int:
        with timer.stage("decode"):
            pixels = load_image(data).pixels
        with timer.stage("detect"):
            boxes = self.detector(pixels, 1)
        with timer.stage("align"):
            shapes = [self.landmarks(pixels, box) for box in boxes]
        with timer.stage("embed"):
            descriptors = [self.encoder.compute_face_descriptor(pixels, s) for s in shapes]
        return len(descriptors)


def torch_pipeline(config: EmbedderConfig) -> FacePipeline:
    """Every network on torch (a fusion: each of its parts)."""
    if get_backbone(config.backbone).parts:
        return FusedPipeline(config, lambda part, _detect: FaceEmbedder(part))
    return FaceEmbedder(config)


def serving_pipeline(config: EmbedderConfig) -> FacePipeline:
    """The service's: ONNX Runtime (a fusion: each part, one detector)."""
    if get_backbone(config.backbone).parts:
        return FusedPipeline(config, lambda part, detect: ServingEmbedder(part, detect=detect))
    return ServingEmbedder(config)


def matmul_flops_per_second() -> float:
    """What this machine's thread does in the densest work there is: a float32 matmul."""
    a, b = torch.rand(1024, 1024), torch.rand(1024, 1024)
    torch.mm(a, b)
    seconds = []
    for _ in range(5):
        start = time.perf_counter()
        torch.mm(a, b)
        seconds.append(time.perf_counter() - start)
    return 2 * 1024**3 / min(seconds)


def physical_limit(data: bytes, measured_ms: float, config: EmbedderConfig) -> str:
    """The photo's arithmetic (convolutions and matmuls counted in the torch pipeline) at the
    machine's matmul speed: a floor no implementation on this thread can go under."""
    with FlopCounterMode(display=False) as counter:
        torch_pipeline(config).faces(data)
    flops, peak = counter.get_total_flops(), matmul_flops_per_second()
    ideal_ms = flops / peak * 1000
    return (
        f"       limit: {flops / 1e9:.2f} GFLOP at {peak / 1e9:.0f} GFLOP/s (one thread, matmul) "
        f"= {ideal_ms:.1f} ms; measured {measured_ms:.1f} ms = {ideal_ms / measured_ms:.0%} of peak"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument("--busy-core", action="store_true", help="load one core meanwhile")
    parser.add_argument("--backbone", default="dlib-resnet", help="Rollcall's backbone")
    parser.add_argument("--flip-tta", action=argparse.BooleanOptionalAction, default=None,
                        help="mirror averaging (default: the backbone's)")  # fmt: skip
    args = parser.parse_args()
    config = EmbedderConfig(backbone=args.backbone, flip_tta=args.flip_tta)
    if not args.busy_core:
        measure(args.repeat, args.faces, config)
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        print(f"one core kept busy by process {spinner.pid} throughout")
        measure(args.repeat, args.faces, config)
    finally:
        spinner.kill()


def measure(repeat: int, faces_dir: Path, config: EmbedderConfig) -> None:
    dlib_pipeline = DlibPipeline()
    rollcall = {
        "rollcall": serving_pipeline(config).faces,
        "torch": torch_pipeline(config).faces,
    }
    print(
        f"backbone {config.backbone}, mirror averaging {'on' if config.mirrored else 'off'}; "
        f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; rollcall: the service (all on "
        "ONNX Runtime); torch: every network on torch"
    )
    print(
        f"{'photo':6} {'pipeline':9} "
        + " ".join(f"{s:>8}" for s in STAGES)
        + f" {'total':>8}  (median ms)"
    )
    for label, (relative, expected) in PHOTOS.items():
        data = (faces_dir / relative).read_bytes()
        expected = expected or dlib_pipeline.run(data, StageTimer())  # also a warm-up
        for faces in rollcall.values():
            faces(data)  # warm-up
        runs: dict[str, list[StageTimer]] = {name: [] for name in [*rollcall, "dlib"]}
        for _ in range(repeat):
            for name, faces in rollcall.items():
                timer = StageTimer()
                assert len(faces(data, timer)) == expected
                runs[name].append(timer)
            timer = StageTimer()
            assert dlib_pipeline.run(data, timer) == expected
            runs["dlib"].append(timer)
        totals = {}
        for name, timers in runs.items():
            medians = [statistics.median(t.seconds[s] for t in timers) * 1000 for s in STAGES]
            totals[name] = statistics.median(sum(t.seconds.values()) for t in timers) * 1000
            cells = " ".join(f"{m:8.1f}" for m in medians)
            print(f"{label:6} {name:9} {cells} {totals[name]:8.1f}")
        ratios = ", ".join(
            f"{name}/dlib = {totals[name] / totals['dlib']:.2f}x" for name in rollcall
        )
        print(f"{label:6} {ratios} (target <= 0.25x); {expected} face(s)")
        print(physical_limit(data, totals["rollcall"], config))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
