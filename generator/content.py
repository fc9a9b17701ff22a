"""Finds and runs content modules: every dashboards/*.py and alerts/*.py not starting with `_`.

A content module exposes `build(settings)`. Dashboard modules return a grafanalib Dashboard or
a list of them; alert modules return a RuleGroup or a list of them. Any failure becomes one
ContentError naming the module (and the line, when the module itself raised).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import grafanalib.core as G

from generator.errors import ContentError, ObsgenError
from generator.rules import RuleGroup
from generator.settings import Settings

Kind = Literal["dashboards", "alerts"]
_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ContentModule:
    """One discovered module; `origin` is how messages and the manifest name it."""

    kind: Kind
    name: str
    path: Path
    origin: str


def bundled_directory(kind: Kind) -> Path:
    """The bundled content: inside the wheel when installed, else the source checkout."""
    installed = _PACKAGE_DIR / "_bundled" / kind
    return installed if installed.is_dir() else _PACKAGE_DIR.parent / kind


def discover(kind: Kind, extra_directories: Sequence[Path] = ()) -> list[ContentModule]:
    """Bundled modules first, then each extra directory's, each set in file-name order."""
    found = list(_modules_in(kind, bundled_directory(kind), bundled=True))
    for directory in extra_directories:
        if not directory.is_dir():
            raise ContentError(f"{directory}: --{kind} directory not found")
        found.extend(_modules_in(kind, directory, bundled=False))
    return found


def _modules_in(kind: Kind, directory: Path, *, bundled: bool) -> Iterable[ContentModule]:
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        origin = f"{kind}/{path.name}" if bundled else str(path)
        yield ContentModule(kind=kind, name=path.stem, path=path, origin=origin)


def build_dashboards(module: ContentModule, settings: Settings) -> list[G.Dashboard]:
    """Runs a dashboard module's build(settings) and checks what it returned."""
    return _as_list(_run(module, settings), G.Dashboard, module, "a grafanalib Dashboard")


def build_rule_groups(module: ContentModule, settings: Settings) -> list[RuleGroup]:
    """Runs an alert module's build(settings) and checks what it returned."""
    return _as_list(_run(module, settings), RuleGroup, module, "a RuleGroup")


def _as_list(result: Any, expected: type, module: ContentModule, what: str) -> list[Any]:
    items = result if isinstance(result, (list, tuple)) else [result]
    for item in items:
        if not isinstance(item, expected):
            raise ContentError(
                f"{module.origin}: build() must return {what} or a list of them, "
                f"got {type(item).__name__}"
            )
    if not items:
        raise ContentError(f"{module.origin}: build() returned nothing; return {what}")
    return list(items)


def _run(module: ContentModule, settings: Settings) -> Any:
    loaded = _load(module)
    build = getattr(loaded, "build", None)
    if not callable(build):
        raise ContentError(f"{module.origin}: defines no build(settings) function")
    try:
        return build(settings)
    except ObsgenError as exc:
        raise ContentError(f"{module.origin}: {exc}") from None
    except (Exception, SystemExit) as exc:
        raise ContentError(
            f"{_raised_at(module, exc)}: build() raised {type(exc).__name__}: {exc}"
        ) from None


def _load(module: ContentModule) -> ModuleType:
    # A unique module name per file keeps a team's `training.py` apart from the bundled one.
    digest = hashlib.sha1(str(module.path.resolve()).encode()).hexdigest()[:10]
    name = f"obsgen_content_{module.kind}_{module.name}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, module.path)
    if spec is None or spec.loader is None:
        raise ContentError(f"{module.origin}: cannot be imported as a Python module")
    loaded = importlib.util.module_from_spec(spec)
    # Sibling helpers (e.g. _common.py) are importable by plain name while the module loads.
    sys.path.insert(0, str(module.path.parent))
    try:
        spec.loader.exec_module(loaded)
    except SyntaxError as exc:
        raise ContentError(f"{module.origin}:{exc.lineno}: syntax error: {exc.msg}") from None
    except (Exception, SystemExit) as exc:
        raise ContentError(
            f"{_raised_at(module, exc)}: import failed: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        sys.path.remove(str(module.path.parent))
    sys.modules[name] = loaded
    return loaded


def _raised_at(module: ContentModule, exc: BaseException) -> str:
    """origin:line of the deepest frame inside the module's own file, else just origin."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == module.path.resolve():
            line = frame.lineno
    return f"{module.origin}:{line}" if line else module.origin
