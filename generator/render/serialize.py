"""Byte-stable text for rendered documents: the same document always gives the same bytes."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import yaml

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def to_json(document: Any) -> str:
    """Pretty JSON with sorted keys and a final newline: the bytes of
    json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False), about twice as fast
    (the standard library's indented output has no C accelerator)."""
    try:
        return _pretty(document, "") + "\n"
    except _Unusual:
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _Unusual(Exception):
    """A value the fast path does not handle the way json.dumps does (a subclass, a non-string
    key): json.dumps writes the document instead."""


_quote = json.encoder.encode_basestring  # the C version where there is one, as json.dumps uses


def _pretty(value: Any, indent: str) -> str:
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = indent + "  "
        items = []
        for key in sorted(value):
            if type(key) is not str:
                raise _Unusual
            items.append(_quote(key) + ": " + _pretty(value[key], inner))
        return "{\n" + inner + (",\n" + inner).join(items) + "\n" + indent + "}"
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        inner = indent + "  "
        return (
            "[\n"
            + inner
            + (",\n" + inner).join([_pretty(item, inner) for item in value])
            + "\n"
            + indent
            + "]"
        )
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return _float(value)
    raise _Unusual


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def to_yaml(document: Any) -> str:
    """Block YAML in the document's own key order, never folding long expressions."""
    return yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
    )


def sha256_text(text: str) -> str:
    """Hex sha256 of the UTF-8 bytes of `text`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
