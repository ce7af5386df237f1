"""The evaluation report as text for the terminal."""

from __future__ import annotations

from models.evaluation.chips import PhotoIssues
from models.evaluation.run import EvaluationReport


def _pct(value: float) -> str:
    return f"{100 * value:6.2f}%"


def format_photos(photos: PhotoIssues) -> list[str]:
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


def format_report(report: EvaluationReport) -> str:
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
    for kind, s in (("genuine", v["genuine_distances"]), ("impostor", v["impostor_distances"])):
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
