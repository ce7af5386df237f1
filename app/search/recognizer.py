"""What recognising a face needs, and nothing more: the model, the gallery it searches, the
threshold rule and the few settings that shape a decision.

The services that read photos, fuse bursts and decide who a face is (`app.services.photos`,
`burst`, `identify`) take a `Recognizer` instead of the whole `ServiceContext`, so that what
they can touch is visible in their signature: no database, no keys, no metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.search.gallery import Gallery
from models.embedder import FacePipeline
from models.identification import DecisionRule, RetryBands


@dataclass(frozen=True)
class Recognizer:
    embedder: FacePipeline
    gallery: Gallery
    rule: DecisionRule
    # ROLLCALL_ONE_FRAME_RETRY_BAND and ROLLCALL_RETRY_BAND (a burst's): how near the threshold
    # a face is asked again
    retry_bands: RetryBands
    admit_non_members: bool  # ROLLCALL_ADMIT_NON_MEMBERS
    max_image_pixels: int  # ROLLCALL_MAX_IMAGE_PIXELS: refused before decoding
    max_burst_frames: int  # ROLLCALL_MAX_BURST_FRAMES

    def identification_threshold(self) -> float:
        """The threshold of a search of the whole gallery, for its number of students now."""
        return self.rule.identification_threshold(self.gallery.student_count)
