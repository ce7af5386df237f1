"""`ServingEmbedder`: FaceEmbedder's pipeline on ONNX Runtime from exported files, no torch.

The service embeds with this one: MTCNN's three networks and the backbone run from .onnx files
exported from the same weights (models/onnx_files.py, in a child process that imports torch),
the glue in numpy. A worker then holds ONNX Runtime and numpy, not torch and torchvision
(the memory target). It finds the same faces and the same embeddings as FaceEmbedder
(tests/models/test_serving.py: boxes and landmarks within 0.5 px, embeddings within 1e-5).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from models.backbones import calibrated, get_backbone
from models.detection import FaceDetector
from models.embedder import EMBED_BATCH, EmbedderConfig, FacePipeline
from models.onnx_files import OnnxNetwork, serving_files


def inference_threads() -> int:
    """ONNX Runtime's threads per network: OMP_NUM_THREADS, else one.

    Requests already run side by side on uvicorn's threads and `--workers`; a thread pool per
    request on top oversubscribes the cores (torch's pool ran 6-11x slower when any
    other process used a core).
    """
    return max(1, int(os.environ.get("OMP_NUM_THREADS") or 1))


class ServingEmbedder(FacePipeline):
    """Photo in, faces out, on ONNX Runtime. `onnx_directory`: where exports are cached
    (None: models.onnx_files.default_directory()). `detect`: False for a fusion's later
    parts (models.fusion), which embed the faces the first part's detector found."""

    def __init__(
        self, config: EmbedderConfig, onnx_directory: Path | None = None, *, detect: bool = True
    ) -> None:
        if config.device not in (None, "cpu"):
            raise ValueError(f"ONNX Runtime serves on the CPU, not {config.device!r}")
        super().__init__(calibrated(get_backbone(config.backbone), config.mirrored))
        self.config = config
        self.mirrored = config.mirrored
        self.files = serving_files(
            self.spec.name,
            self.spec.version,
            config.weights_path,
            config.mirrored,
            onnx_directory,
        )
        self.version = self.files.version
        self.former_versions = self.files.former_versions
        threads = inference_threads()
        self._backbone = OnnxNetwork(self.files.network("backbone"), threads)
        if detect:
            self.detector = FaceDetector(config.detector, onnx_files=self.files, threads=threads)

    def embed_chips(self, chips: np.ndarray | list[np.ndarray]) -> np.ndarray:
        """(N, S, S, 3) uint8 chips -> (N, D) float32 embeddings, in batches."""
        chips = np.asarray(chips, dtype=np.uint8)
        if len(chips) == 0:
            return np.zeros((0, self.spec.embedding_dim), dtype=np.float32)
        batches = [
            self._embed(chips[start : start + EMBED_BATCH].transpose(0, 3, 1, 2))
            for start in range(0, len(chips), EMBED_BATCH)
        ]
        return np.concatenate(batches).astype(np.float32)

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        """SiameseNetwork.embed: mirror averaging and L2 normalising as the backbone wants."""
        batch = batch.astype(np.float32)
        embeddings = self._backbone(batch)[0]
        if self.mirrored:
            embeddings = (embeddings + self._backbone(batch[..., ::-1])[0]) / 2
        if self.spec.l2_normalize:
            norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
            embeddings = embeddings / np.maximum(norms, 1e-12)  # F.normalize's eps
        return embeddings
