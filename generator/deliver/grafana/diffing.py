"""A readable diff between two dashboards, per panel: what a push would change (pure).

Panels are matched by id (nested row panels included), targets by refId and variables by
name, so a moved or edited panel reads as "panel 3 'Inter-token latency': targets[B].expr",
not as a shifted list.
"""

from __future__ import annotations

import json
from typing import Any

from generator.deliver.grafana.state import IGNORED_KEYS, canonical

MAX_VALUE = 80
# Lists of objects matched by these keys, in this order of preference.
_IDENTITY_KEYS = ("refId", "name", "id", "uid")

Change = tuple[str, Any, Any]  # path, old, new (_MISSING when absent)


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


_MISSING: Any = _Missing()


def dashboard_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Lines describing what turns `old` into `new`: dashboard settings, then each panel."""
    old_panels, new_panels = _panels(old), _panels(new)
    lines = [
        f"~ dashboard {path}: {_show(a)} -> {_show(b)}"
        for path, a, b in _changes(_settings(old), _settings(new), "")
    ]
    for panel_id in sorted(set(old_panels) | set(new_panels), key=_panel_order):
        before, after = old_panels.get(panel_id), new_panels.get(panel_id)
        if before is None and after is not None:
            lines.append(f"+ {_panel_name(panel_id, after)} added")
        elif after is None and before is not None:
            lines.append(f"- {_panel_name(panel_id, before)} removed")
        elif before is not None and after is not None:
            changes = _changes(_without_children(before), _without_children(after), "")
            if changes:
                lines.append(f"~ {_panel_name(panel_id, after)}")
                lines += [f"    {path}: {_show(a)} -> {_show(b)}" for path, a, b in changes]
    return lines


def _settings(dashboard: dict[str, Any]) -> dict[str, Any]:
    return {
        k: canonical(v) for k, v in dashboard.items() if k not in IGNORED_KEYS and k != "panels"
    }


def _panels(dashboard: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    """Every panel by id, row children included; panels without an id by position."""
    found: dict[Any, dict[str, Any]] = {}

    def walk(panels: Any, prefix: str) -> None:
        for position, panel in enumerate(panels if isinstance(panels, list) else []):
            if not isinstance(panel, dict):
                continue
            key = panel.get("id", f"{prefix}#{position + 1}")
            found[key] = canonical(panel)
            walk(panel.get("panels"), f"{prefix}#{position + 1}")

    walk(dashboard.get("panels"), "")
    return found


def _without_children(panel: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in panel.items() if k != "panels"}


def _panel_order(key: Any) -> tuple[int, Any]:
    return (0, key) if isinstance(key, int) else (1, str(key))


def _panel_name(key: Any, panel: dict[str, Any]) -> str:
    kind = "row" if panel.get("type") == "row" else "panel"
    number = key if isinstance(key, int) else "without id"
    return f"{kind} {number} {json.dumps(str(panel.get('title', '')), ensure_ascii=False)}"


def _changes(old: Any, new: Any, path: str) -> list[Change]:
    """Leaf-level differences between two JSON values."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[Change] = []
        for key in sorted(set(old) | set(new), key=str):
            found += _changes(old.get(key, _MISSING), new.get(key, _MISSING), _join(path, key))
        return found
    if isinstance(old, list) and isinstance(new, list):
        identity = _identity(old, new)
        if identity:
            return _keyed_list_changes(old, new, path, identity)
        if len(old) == len(new):
            found = []
            for index, (a, b) in enumerate(zip(old, new, strict=True)):
                found += _changes(a, b, f"{path}[{index}]")
            return found
    return [(path or "(value)", old, new)]


def _identity(old: list[Any], new: list[Any]) -> str:
    """The key that identifies every object of both lists, if any."""
    items = old + new
    if not items or not all(isinstance(i, dict) for i in items):
        return ""
    for key in _IDENTITY_KEYS:
        if all(_unique_values(side, key) for side in (old, new)):
            return key
    return ""


def _unique_values(items: list[Any], key: str) -> bool:
    values = [str(i[key]) for i in items if i.get(key) is not None]
    return len(values) == len(items) and len(set(values)) == len(values)


def _keyed_list_changes(old: list[Any], new: list[Any], path: str, key: str) -> list[Change]:
    before = {str(i[key]): i for i in old}
    after = {str(i[key]): i for i in new}
    found: list[Change] = []
    for name in list(dict.fromkeys([*before, *after])):
        found += _changes(before.get(name, _MISSING), after.get(name, _MISSING), f"{path}[{name}]")
    return found


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."
