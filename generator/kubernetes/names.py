"""Kubernetes syntax rules (apimachinery's) for names, labels, annotations and ports, and the
names obsgen derives from uids and module names."""

from __future__ import annotations

import re

_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = rf"{_LABEL}(?:\.{_LABEL})*"
_NAME_PART = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"  # at most 63 characters

DNS1123_LABEL = re.compile(rf"^(?=.{{1,63}}$){_LABEL}$")
DNS1123_SUBDOMAIN = re.compile(rf"^(?=.{{1,253}}$){_SUBDOMAIN}$")
# Label and annotation keys: an optional DNS subdomain prefix (at most 253) and "/", then a name.
QUALIFIED_NAME = re.compile(rf"^(?:(?=[^/]{{1,253}}/){_SUBDOMAIN}/)?{_NAME_PART}$")
LABEL_VALUE = re.compile(rf"^(?:{_NAME_PART})?$")
# IANA service name: at most 15, lowercase letters, digits and single '-', at least one letter.
PORT_NAME = re.compile(r"^(?=.{1,15}$)(?=.*[a-z])(?!.*--)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$")
# A name prefix: what is left of a DNS-1123 name when something follows it.
NAME_PREFIX = re.compile(r"^(?:[a-z0-9][-a-z0-9.]{0,39})?$")

_ENDS = "starting and ending with a letter or digit"
NAMESPACE_RULE = f"a DNS-1123 label: at most 63 lowercase letters, digits and '-', {_ENDS}"
SUBDOMAIN_RULE = (
    f"a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', {_ENDS}"
)
KEY_RULE = (
    f"an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, '-', '_' "
    f"and '.', {_ENDS}"
)
VALUE_RULE = f"empty or at most 63 letters, digits, '-', '_' and '.', {_ENDS}"
PORT_RULE = "a port name: at most 15 lowercase letters, digits and '-', with at least one letter"


def slug(text: str) -> str:
    """'gpu_health' -> 'gpu-health', 'Ab_C' -> 'ab-c': lowercase letters, digits and single '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
