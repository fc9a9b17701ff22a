"""Child servers on loopback: start a program on a free 127.0.0.1 port in a directory, wait
(bounded) until it answers as ready, and stop it by its PID: terminate, wait, then kill.

Children run in their own session, so a Ctrl-C in the terminal reaches only obsgen, which then
stops them in order.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Self

from generator.errors import ObsgenError
from generator.runtime.binaries import find_binary
from generator.service import Service

LOOPBACK = "127.0.0.1"
STOP_SECONDS = 10.0  # how long a terminated child may take before it is killed
_START_ATTEMPTS = 3  # another process may take a free port before the child binds it
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxies


class PortInUseError(ObsgenError):
    """The port a server was asked to listen on is taken."""


class StartupError(ObsgenError):
    """A server exited or did not become ready in time; the message quotes its log."""


def free_port(host: str = LOOPBACK) -> int:
    """Returns a TCP port on `host` that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Returns whether a server could listen on host:port now (as Go's servers bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def stop_process(process: subprocess.Popen[Any], seconds: float = STOP_SECONDS) -> None:
    """Terminates `process` by its PID, waits up to `seconds`, then kills it; returns once it
    has exited (and been reaped)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(seconds)


def wait_until(condition: Callable[[], bool], seconds: float, interval: float = 0.1) -> bool:
    """Polls `condition` until it holds or `seconds` pass; returns whether it held."""
    deadline = time.monotonic() + seconds
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def answers_ready(url: str, timeout: float = 1.0) -> bool:
    """Returns whether GET `url` answers 200 (any error counts as not ready)."""
    try:
        with _DIRECT.open(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class ServerProcess(Service):
    """A real server program as a child process on 127.0.0.1, with its files in `directory`.

    `port` None picks a free port; a given port that is taken raises PortInUseError.
    start() returns once GET READY_PATH answers 200, within `startup_seconds`; stop() ends
    the child by PID. Also a context manager. Subclasses name the program and its flags."""

    PROGRAM: ClassVar[str] = ""
    READY_PATH: ClassVar[str] = "/-/ready"

    def __init__(
        self,
        directory: Path | str,
        port: int | None = None,
        *,
        binary: str | None = None,
        startup_seconds: float = 30.0,
    ) -> None:
        self.directory = Path(directory)
        self.startup_seconds = startup_seconds
        self._requested_port = port
        self._binary = binary
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    # ---- what subclasses define ----------------------------------------------------------

    def command(self, binary: str, port: int) -> list[str]:
        """Returns the command line that makes the program listen on 127.0.0.1:`port`."""
        raise NotImplementedError

    # ---- address and state -------------------------------------------------------------

    @property
    def log_file(self) -> Path:
        """Returns the file that receives the program's output."""
        return self.directory / f"{self.PROGRAM}.log"

    @property
    def port(self) -> int:
        """Returns the port the server listens on (after start())."""
        if self._port is None:
            raise RuntimeError(f"{self.PROGRAM} has not been started")
        return self._port

    @property
    def url(self) -> str:
        """Returns the base URL, http://127.0.0.1:PORT (after start())."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        """Returns the PID of the child process (after start())."""
        if self._process is None:
            raise RuntimeError(f"{self.PROGRAM} has not been started")
        return self._process.pid

    def running(self) -> bool:
        """Returns whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def log_tail(self, characters: int = 2000) -> str:
        """Returns the end of the program's log ("" when there is none)."""
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return text[-characters:].strip()

    # ---- life cycle --------------------------------------------------------------------

    def start(self) -> Self:
        """Starts the program and waits until it is ready; returns self.

        Raises MissingBinaryError, PortInUseError or StartupError (with the log's end)."""
        if self.running():  # a stopped server starts again (on a fresh port unless one is set)
            return self
        binary = self._binary or find_binary(self.PROGRAM)
        self.directory.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._requested_port else _START_ATTEMPTS
        for _attempt in range(attempts):
            port = self._requested_port or free_port()
            if not port_is_free(port):
                raise self._port_taken(port)
            if self._launch(binary, port):
                return self
        raise StartupError(
            f"{self.PROGRAM} could not bind a free port in {attempts} attempts: {self.log_tail()}"
        )

    def stop(self) -> None:
        """Stops the child by PID (terminate, wait, kill); safe to call twice."""
        if self._process is not None:
            stop_process(self._process)

    # ---- internals ---------------------------------------------------------------------

    def _launch(self, binary: str, port: int) -> bool:
        """Runs the program on `port`; True once ready, False when another process took the
        port first (only when the port was picked here). Raises StartupError otherwise."""
        with self.log_file.open("wb") as log:
            process = subprocess.Popen(
                self.command(binary, port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                start_new_session=True,
            )
        self._process, self._port = process, port
        ready_url = self.url + self.READY_PATH
        became_ready = wait_until(
            lambda: process.poll() is not None or answers_ready(ready_url), self.startup_seconds
        )
        if became_ready and process.poll() is None:
            return True
        stop_process(process)
        tail = self.log_tail()
        if "address already in use" in tail:
            if self._requested_port:
                raise self._port_taken(port)
            return False
        if not became_ready:
            raise StartupError(
                f"{self.PROGRAM} did not become ready within {self.startup_seconds:g}s at "
                f"{self.url}; the end of {self.log_file}:\n{tail}"
            )
        raise StartupError(
            f"{self.PROGRAM} exited with code {process.returncode} while starting; "
            f"the end of {self.log_file}:\n{tail}"
        )

    def _port_taken(self, port: int) -> PortInUseError:
        return PortInUseError(
            f"{LOOPBACK}:{port} is already in use, so {self.PROGRAM} cannot listen there; "
            f"stop what listens on it or choose another port"
        )
