"""Run a WSGI app on a free loopback port in a background thread."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

LOOPBACK_HOST = "127.0.0.1"
# serve_forever checks for shutdown this often; the default 0.5 s slows every stop.
POLL_INTERVAL_SECONDS = 0.05


class RunningServer:
    """A werkzeug server thread; ``url`` has no trailing slash."""

    def __init__(self, server: BaseWSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self._stopped = False
        self.url = f"http://{LOOPBACK_HOST}:{server.server_port}"

    @property
    def port(self) -> int:
        """TCP port the server listens on."""
        return self._server.server_port

    def stop(self) -> None:
        """Stop the server and close its socket; repeat calls do nothing."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(app: WSGIApplication, *, port: int = 0) -> RunningServer:
    """Serve ``app`` on 127.0.0.1 (port 0 picks a free one) from a daemon thread."""
    server = make_server(LOOPBACK_HOST, port, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": POLL_INTERVAL_SECONDS},
        name=f"sandbox-server-{server.server_port}",
        daemon=True,
    )
    thread.start()
    return RunningServer(server, thread)
