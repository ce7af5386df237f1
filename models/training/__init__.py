"""`rollcall train`: fine-tune a backbone with a metric-learning loss on a folder-per-identity set.

Faces are detected and aligned once into chips held in memory; training then runs on chips only.
Each step takes a P-K batch (P identities x K photos), augments it (flip, small colour jitter,
small affine), embeds it with the same `SiameseNetwork.embed` the service uses, mines triplets
inside the batch (batch-hard or semi-hard) and applies a contrastive or triplet loss from
pytorch-metric-learning (the optional `train` extra, imported only in `losses`). After every
epoch the identities held out of training are scored with the evaluation's verification
metrics; the best epoch's backbone is saved as a state dict that the base `BackboneSpec.load`
reads, with a JSON sidecar of its metrics, and a PNG of the training curves.

By concern: `config` (what can be asked for; free of torch), `losses` (losses and miners),
`data` (identity split, P-K batches), `augment`, `freezing`, `checkpoints` (export, save,
reload), `loop` (`fine_tune`), `plots` and `cli` (the command's handler).
"""
