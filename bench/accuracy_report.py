"""The tables of `bench/accuracy.py`: its report (pairs, open-set rows, the settings sweep, the
enrollment gate) printed as the JSON holds it. The two-photo and roster rows are printed by
bench/two_photos.py and bench/rosters.py.
"""

from __future__ import annotations


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _table(columns: list[tuple[str, int]], rows: list[list[str]]) -> None:
    """Print right-aligned columns (a negative width: left-aligned)."""
    for row in [[name for name, _ in columns], *rows]:
        widths = [w for _, w in columns]
        print(
            "".join(
                f"{c:<{-w}}" if w < 0 else f"{c:>{w}}" for c, w in zip(row, widths, strict=True)
            )
        )


def print_report(report: dict) -> None:
    print("\nVerification, LFW dev-train pairs (no face: counted as 'different')")
    columns = [("pipeline", -31), ("acc@shipped", 12), ("thr", 7), ("best acc", 10),
               ("best thr", 9), ("AUC", 8), ("no face", 9)]  # fmt: skip
    _table(columns, [
        [name, f"{m['accuracy']:.2%}", f"{m['threshold']:.3f}", f"{m['best_accuracy']:.2%}",
         f"{m['best_threshold']:.3f}", f"{m['auc']:.4f}", str(m["pairs_without_face"])]
        for name, m in report["pairs"].items()
    ])  # fmt: skip
    print("\nOpen-set identification (shares of enrolled people's check-ins; of strangers)")
    columns = [("gallery", 8), ("  pipeline, rule", -48), ("thr", 7), ("right", 8), ("wrong", 8),
               ("undecided", 10), ("strangers in", 13), ("0-err right", 12)]  # fmt: skip
    _table(columns, [
        [size, f"  {name}", f"{m['threshold']:.3f}", f"{m['right']:.1%}", f"{m['wrong']:.2%}",
         f"{m['undecided']:.1%}", f"{m['strangers_accepted']:.2%}", f"{m['zero_error_right']:.1%}"]
        for size, rows in report["open_set"].items() for name, m in rows.items()
    ])  # fmt: skip
    print("\nRollcall at other settings (ROLLCALL_MAX_FPIR, ambiguity margin)")
    columns = [("gallery", 8), ("max_fpir", 9), ("margin", 8), ("thr", 7), ("right", 8),
               ("wrong", 8), ("strangers in", 13)]  # fmt: skip
    _table(columns, [
        [str(m["gallery"]), f"{m['max_fpir']:g}", f"{m['margin']:.2f}", f"{m['threshold']:.3f}",
         f"{m['right']:.1%}", f"{m['wrong']:.2%}", f"{m['strangers_accepted']:.2%}"]
        for m in report["sweep"]
    ])  # fmt: skip
    if report.get("gate"):
        g = report["gate"]
        print(f"\nEnrollment gate: the enrolled photo degraded; share of its owner's check-ins its "
              f"template matches (threshold of a {g['class_size']}-person search)")  # fmt: skip
        _table([("variant", -11), ("photos", 7), ("no face", 8), ("face px", 8), ("sharp", 7),
                ("matched", 9)], [
            [v, str(m["photos"]), str(m["no_face"]), f"{m['median_face_size']:.0f}",
             f"{m['median_sharpness']:.1f}", _pct(m["matched"])]
            for v, m in g["by_variant"].items()
        ])  # fmt: skip
        for key in ("face_size", "sharpness"):
            print(f"  by {key}:")
            _table([("from", 8), ("to", 8), ("photos", 8), ("matched", 9)], [
                [f"{b['from']:g}", f"{b['to']:g}", str(b["photos"]), _pct(b["matched"])]
                for b in g[key]
            ])  # fmt: skip
        for gate in g["gates"]:
            refused, kept = _pct(gate["refused_matched"]), _pct(gate["kept_matched"])
            print(f"  gate {gate['min_face_size']:g} px, sharpness {gate['min_sharpness']:g}: "
                  f"refuses {gate['refused']} photos, which would have matched {refused}; "
                  f"the photos it keeps match {kept}")  # fmt: skip
