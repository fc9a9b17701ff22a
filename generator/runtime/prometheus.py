"""The real Prometheus as a child process, and the configuration file it reads."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from generator.runtime.process import ServerProcess

CONFIG_NAME = "prometheus.yml"


def prometheus_config(
    scrape_configs: Sequence[Mapping[str, Any]],
    *,
    rule_files: Sequence[Path | str] = (),
    alertmanager_url: str = "",
    scrape_interval: str = "15s",
    evaluation_interval: str = "15s",
) -> dict[str, Any]:
    """Returns a Prometheus configuration: global intervals, the scrape jobs, the rule files
    and, when `alertmanager_url` is given (http://host:port), the Alertmanager to notify."""
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": scrape_interval,
            "evaluation_interval": evaluation_interval,
        },
        "scrape_configs": [dict(job) for job in scrape_configs],
    }
    if rule_files:
        config["rule_files"] = [str(path) for path in rule_files]
    if alertmanager_url:
        parts = urlsplit(alertmanager_url)
        target: dict[str, Any] = {
            "scheme": parts.scheme or "http",
            "static_configs": [{"targets": [parts.netloc]}],
        }
        if parts.path.strip("/"):
            target["path_prefix"] = parts.path
        config["alerting"] = {"alertmanagers": [target]}
    return config


def write_prometheus_config(
    path: Path | str,
    scrape_configs: Sequence[Mapping[str, Any]],
    *,
    rule_files: Sequence[Path | str] = (),
    alertmanager_url: str = "",
    scrape_interval: str = "15s",
    evaluation_interval: str = "15s",
) -> Path:
    """Writes `prometheus_config(...)` to `path` (JSON, which is YAML); returns the path."""
    config = prometheus_config(
        scrape_configs,
        rule_files=rule_files,
        alertmanager_url=alertmanager_url,
        scrape_interval=scrape_interval,
        evaluation_interval=evaluation_interval,
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return target


class PrometheusServer(ServerProcess):
    """`prometheus` reading `config_file` (default: DIRECTORY/prometheus.yml) with its TSDB in
    DIRECTORY/data, where backfilled blocks may already wait; `extra_args` are further flags
    (e.g. --rules.alert.resend-delay=1s). See ServerProcess."""

    PROGRAM = "prometheus"

    def __init__(
        self,
        directory: Path | str,
        port: int | None = None,
        *,
        config_file: Path | str | None = None,
        extra_args: Sequence[str] = (),
        binary: str | None = None,
        startup_seconds: float = 30.0,
    ) -> None:
        super().__init__(directory, port, binary=binary, startup_seconds=startup_seconds)
        self.config_file = Path(config_file) if config_file else self.directory / CONFIG_NAME
        self.data_dir = self.directory / "data"
        self.extra_args = tuple(extra_args)

    def command(self, binary: str, port: int) -> list[str]:
        """Returns the prometheus command line (loopback only, warnings and errors logged)."""
        return [
            binary,
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.data_dir}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
            *self.extra_args,
        ]
