"""Writes a build to an output directory: only changed files, stale artifacts removed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from generator.build import MANIFEST_NAME, BuildResult
from generator.deliver.atomic import write_atomically
from generator.errors import ObsgenError


@dataclass
class WriteReport:
    """What a write changed on disk, as paths relative to the output directory."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def write_build(result: BuildResult, out_dir: Path) -> WriteReport:
    """Writes every artifact and manifest.json; removes files only the old manifest listed."""
    report = WriteReport()
    previous = _previous_paths(out_dir)
    try:
        for artifact in result.artifacts:
            _write_if_changed(out_dir, artifact.path, artifact.text, report)
        current = {a.path for a in result.artifacts}
        for stale in sorted(previous - current):
            target = out_dir / stale
            if target.is_file():
                target.unlink()
                report.removed.append(stale)
        _write_if_changed(out_dir, MANIFEST_NAME, result.manifest_text, report)
    except OSError as exc:
        raise ObsgenError(f"{out_dir}: cannot write output: {exc.strerror or exc}") from None
    return report


def _previous_paths(out_dir: Path) -> set[str]:
    # Only files an earlier build recorded are ever removed, never anything else in out/.
    try:
        manifest = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        return {
            str(entry["path"])
            for entry in manifest.get("artifacts", [])
            if _inside(str(entry["path"]))
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


def _inside(relative: str) -> bool:
    """True for a relative path that stays inside the output directory."""
    path = Path(relative)
    return not path.is_absolute() and ".." not in path.parts


def _write_if_changed(out_dir: Path, relative: str, text: str, report: WriteReport) -> None:
    target = out_dir / relative
    data = text.encode("utf-8")
    if target.is_file() and target.read_bytes() == data:
        report.unchanged.append(relative)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so an interrupted build never leaves half a file behind.
    write_atomically(target, data)
    report.written.append(relative)
