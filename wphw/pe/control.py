"""The control endpoint every running PE serves: JSON over HTTP on ``HOST:PORT`` or a unix
socket path (which also works from another network namespace), in a daemon thread.

Used by the software PE (:mod:`wphw.pe.runtime`), the legacy middlebox's health endpoint
(:mod:`wphw.pe.legacy_nft`) and the co-simulated waypoint (:mod:`wphw.netfpga.cosim`); the
client is :func:`wphw.pe.runtime.query`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socketserver
import stat
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from wphw.errors import PEError

log = logging.getLogger(__name__)

Handler = Callable[[str], tuple[int, Any]]  # request target ("/path?query") -> (status, body)


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def is_tcp(address: str) -> bool:
    """``HOST:PORT`` (TCP) rather than a unix socket path."""
    _host, sep, port = address.rpartition(":")
    return bool(sep) and port.isdigit() and "/" not in address


class ControlServer:
    """Serve ``handle_get(target)`` as JSON on ``address``; ``who`` names the server in errors,
    logs and the thread name. ``address`` after start is the bound one (port 0 resolved).

    A unix socket left behind by a dead process of the same name is replaced; ``close`` stops
    the server and removes its socket file."""

    def __init__(self, address: str, handle_get: Handler, *, who: str) -> None:
        self.who = who
        get = handle_get

        class Request(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                code, body = get(self.path)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def address_string(self) -> str:
                return str(self.client_address[0]) if self.client_address else "unix"

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("%s: control: " + format, who, *args)

        server: socketserver.BaseServer
        try:
            if is_tcp(address):
                host, _, port = address.rpartition(":")
                server = ThreadingHTTPServer((host, int(port)), Request)
                self.address = f"{host}:{server.server_address[1]}"
            else:
                path = Path(address)
                if path.exists() and stat.S_ISSOCK(path.stat().st_mode):
                    path.unlink()  # a stale socket of a dead process with this name
                server = _UnixHTTPServer(address, Request)
                self.address = address
        except OSError as exc:
            raise PEError(f"{who}: control address {address}: {exc}") from None
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name=f"{who}-control", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if not is_tcp(self.address):
            with contextlib.suppress(OSError):
                Path(self.address).unlink()
