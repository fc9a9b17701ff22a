"""Finding the real Prometheus programs on PATH, under the names Debian gives them."""

from __future__ import annotations

import shutil

from generator.errors import ObsgenError

INSTALL_HINT = "apt-get install prometheus prometheus-alertmanager"
# Debian installs Alertmanager as prometheus-alertmanager; upstream tarballs as alertmanager.
_NAMES = {"alertmanager": ("alertmanager", "prometheus-alertmanager")}


class MissingBinaryError(ObsgenError):
    """A program obsgen runs (prometheus, promtool, alertmanager, amtool) is not installed."""


def find_binary(name: str) -> str:
    """Returns the path of program `name` (for "alertmanager", also Debian's
    "prometheus-alertmanager"); raises MissingBinaryError saying how to install it."""
    for candidate in _NAMES.get(name, (name,)):
        path = shutil.which(candidate)
        if path is not None:
            return path
    raise MissingBinaryError(
        f"`{name}` is not installed (or not on PATH); install the Debian packages with: "
        f"{INSTALL_HINT}"
    )
