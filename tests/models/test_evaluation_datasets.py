"""`models.evaluation.datasets`: the pairs CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.evaluation.datasets import read_pairs_csv


def test_pairs_csv_accepts_yes_no_and_1_0_with_a_header(tmp_path: Path) -> None:
    csv_file = tmp_path / "pairs.csv"
    csv_file.write_text("file_a,file_b,same\na.jpg,b.jpg,yes\na.jpg,c.jpg,0\nb.jpg, c.jpg ,No\n")
    pairs = read_pairs_csv(csv_file)
    assert [(p.file_a, p.file_b, p.same) for p in pairs] == [
        ("a.jpg", "b.jpg", True),
        ("a.jpg", "c.jpg", False),
        ("b.jpg", "c.jpg", False),
    ]
    csv_file.write_text("a.jpg,b.jpg,1\na.jpg,c.jpg,maybe\n")
    with pytest.raises(ValueError, match="maybe"):
        read_pairs_csv(csv_file)
