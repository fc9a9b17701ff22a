"""What a build leaves on disk: readable files, and nothing removed outside the output dir."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from click.testing import CliRunner

from generator.cli import cli

CONFIG = Path(__file__).resolve().parent.parent / "obsgen.yaml"


def build(out: Path) -> None:
    result = CliRunner().invoke(cli, ["build", "--config", str(CONFIG), "--out", str(out)])
    assert result.exit_code == 0, result.output


def test_output_files_follow_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        build(tmp_path / "out")
    finally:
        os.umask(previous)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_a_manifest_naming_paths_outside_the_output_never_removes_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(out)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["artifacts"] += [{"path": str(victim)}, {"path": "../victim.txt"}]
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    build(out)
    assert victim.read_text(encoding="utf-8") == "keep me"


def test_validate_refuses_a_directory_with_nothing_to_check(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--config", str(CONFIG), str(tmp_path)])
    assert result.exit_code == 1
    assert "no .json, .yaml or .yml file in this directory" in result.output
