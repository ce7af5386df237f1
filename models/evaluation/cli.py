"""`rollcall evaluate`'s handler: run the evaluation, print the table, say where files went."""

from __future__ import annotations

import argparse

from models.cli import make_embedder, refuse
from models.evaluation.reports import format_report
from models.evaluation.run import evaluate


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
        return refuse("evaluate", exc)
    print(format_report(report))
    print(f"\nreport and plots written to {args.out}/ (report.json, roc.png, distances.png)")
    return 0
