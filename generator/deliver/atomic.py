"""Writing a file so that readers see the old bytes or the new ones, never half of them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back.
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_atomically(path: Path, data: bytes) -> None:
    """Writes `data` to `path` through a temporary file and a rename, with the permissions a
    plain open() would give (mkstemp's 0600 would hide the output from other users)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
