"""`rollcall evaluate`: how well a backbone verifies and identifies faces on a labelled dataset.

By concern: `datasets` (folder-per-identity sets and pairs CSVs), `chips` (detect and align
once), `metrics` (verification figures), `open_set` (the attendance protocol), `plots`,
`reports` (the terminal table), `run` (the whole evaluation, shared with calibration) and `cli`
(the command's handler).
"""
