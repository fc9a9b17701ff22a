"""The real Alertmanager as a child process, clustering off, state in its directory."""

from __future__ import annotations

from pathlib import Path

from generator.runtime.process import ServerProcess


class AlertmanagerServer(ServerProcess):
    """`alertmanager` (Debian: prometheus-alertmanager) reading `config_file`, with its
    silences and notification log in DIRECTORY/alertmanager-data; see ServerProcess."""

    PROGRAM = "alertmanager"

    def __init__(
        self,
        directory: Path | str,
        config_file: Path | str,
        port: int | None = None,
        *,
        binary: str | None = None,
        startup_seconds: float = 30.0,
    ) -> None:
        super().__init__(directory, port, binary=binary, startup_seconds=startup_seconds)
        self.config_file = Path(config_file)
        self.storage_dir = self.directory / "alertmanager-data"

    def command(self, binary: str, port: int) -> list[str]:
        """Returns the alertmanager command line; an empty cluster address disables the
        gossip listener, so nothing but the web port is opened."""
        return [
            binary,
            f"--config.file={self.config_file}",
            f"--storage.path={self.storage_dir}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
