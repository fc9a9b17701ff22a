"""YAML documents that remember where each key was written, for messages with line and column."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.errors import ObsgenError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
KeyPath = tuple[str, ...]


@dataclass
class MarkedDocument:
    """A loaded YAML value plus the (line, column) of every mapping key, 1-based."""

    path: Path
    data: Any
    marks: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)

    def where(self, key_path: KeyPath) -> str:
        """Returns 'file:line:col' for the key, or the nearest parent that has a mark."""
        probe = key_path
        while probe and probe not in self.marks:
            probe = probe[:-1]
        if probe in self.marks:
            line, column = self.marks[probe]
            return f"{self.path}:{line}:{column}"
        return str(self.path)


def load_marked_yaml(path: Path, error: type[ObsgenError]) -> MarkedDocument:
    """Reads one YAML document; syntax errors and duplicate keys raise `error` with a position."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise error(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML: {exc}") from None
    document = MarkedDocument(path=path, data=None)
    try:
        data = None if node is None else _convert(node, (), document, error)
    except RecursionError:
        raise error(
            f"{path}: YAML nested too deeply, or an alias (*name) refers to itself"
        ) from None
    # An empty file, or one holding only `---` and comments, means "all defaults".
    document.data = {} if data is None else data
    return document


def _convert(
    node: yaml.Node, key_path: KeyPath, doc: MarkedDocument, error: type[ObsgenError]
) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                mark = key_node.start_mark
                raise error(
                    f"{doc.path}:{mark.line + 1}:{mark.column + 1}: a key must be a "
                    f"plain name, not a list or mapping"
                )
            key = _scalar(key_node)
            child = (*key_path, str(key))
            if key in result:
                line = key_node.start_mark.line + 1
                raise error(
                    f"{doc.path}:{line}:{key_node.start_mark.column + 1}: "
                    f"duplicate key '{'.'.join(child)}'"
                )
            doc.marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _convert(value_node, child, doc, error)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*key_path, str(i)), doc, error) for i, item in enumerate(node.value)
        ]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    # Resolve tags (int, float, bool, null) exactly as yaml.safe_load would.
    if not isinstance(node, yaml.ScalarNode):
        return yaml.load(yaml.serialize(node), Loader=_Loader)
    constructor = _Loader(node.value)
    try:
        return constructor.construct_object(node, deep=True)
    finally:
        constructor.dispose()
