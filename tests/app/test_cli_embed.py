"""`rollcall embed`: a table by default, JSON lines with --json, errors per photo."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import RunCli
from tests.support.settings import REPO


def test_embed_json_lines_with_a_per_photo_error(
    rollcall: RunCli, faces_dir: Path, tmp_path: Path
) -> None:
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("hello")
    group = faces_dir / "group" / "kit_with_rose.jpg"
    result = rollcall("embed", "--json", str(group), str(not_a_photo), cwd=REPO)
    assert result.returncode == 1, result.stderr  # a photo failed: scripts must see it
    assert "1 of 2 photos could not be read" in result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["path"] == str(group) and first["error"] is None
    assert len(first["faces"]) == 2
    for face in first["faces"]:
        assert len(face["box"]) == 4 and len(face["landmarks"]) == 5
        assert 0.95 <= face["probability"] <= 1 and 0 <= face["quality"] <= 1
        assert len(face["embedding"]) == 128
    assert second == {"path": str(not_a_photo), "faces": [], "error": second["error"]}
    assert "not an image" in second["error"]


def test_embed_table(rollcall: RunCli, faces_dir: Path, tmp_path: Path) -> None:
    result = rollcall("embed", str(faces_dir / "group" / "multiface.jpg"), cwd=REPO)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["photo", "face"]
    assert len(lines) == 1 + 6
    assert [line.split()[-4] for line in lines[2:]] == ["2", "3", "4", "5", "6"]

    deep = tmp_path / ("a-folder-with-a-long-name-" * 3) / "scan_of_the_class_register.jpg"
    deep.parent.mkdir()
    deep.write_text("not a photo")
    failed = rollcall("embed", str(deep), cwd=REPO)
    assert failed.returncode == 1
    [_, row] = failed.stdout.splitlines()
    shown = row.split(" error: ")[0].rstrip()
    assert len(shown) == 40 and shown.startswith("…") and str(deep).endswith(shown[1:])
