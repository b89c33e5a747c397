"""The HTTP server both emulators run on: threads, keep-alive, silent logs, and a stop that cuts clients off.

    server, thread = start_server(MyHandler, "127.0.0.1", 0, name="my-emulator")
    ...
    stop_server(server, thread, join_timeout=5)

A handler subclasses `QuietHandler`; a connection it wants to drop without an answer goes through
`reset_connection`, which the clients see as "connection reset by peer".
"""

from __future__ import annotations

import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


class EmulatorServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its open connections, so that a stop answers no one afterwards."""

    daemon_threads = True
    block_on_close = False  # keep-alive connections must not hold stop() up
    allow_reuse_address = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut idle keep-alive connections, so a stopped emulator answers no one."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, as the real services behind their load balancers; nothing logged to stderr."""

    protocol_version = "HTTP/1.1"
    # Without Nagle: a small answer on a keep-alive connection otherwise meets the client's delayed ACK,
    # a 40 ms stall per request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class signature
        """Silent: tests read the emulator's request log, and nothing the emulator sees goes to the terminal."""


def reset_connection(handler: BaseHTTPRequestHandler) -> None:
    """Drop the handler's connection with a TCP RST instead of an answer."""
    handler.close_connection = True
    try:
        # SO_LINGER 0: close() sends a TCP RST, the client sees "connection reset by peer"
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
    except OSError:
        pass


def start_server(handler: type[BaseHTTPRequestHandler], host: str, port: int, *,
                 name: str) -> tuple[EmulatorServer, threading.Thread]:
    """A server on (host, port) (port 0: any free one), serving from a daemon thread named `name:<port>`."""
    server = EmulatorServer((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"{name}:{server.server_address[1]}", daemon=True)
    thread.start()
    return server, thread


def stop_server(server: EmulatorServer | None, thread: threading.Thread | None, *, join_timeout: float) -> None:
    """Stop serving, cut the keep-alive clients off, and wait for the serving thread."""
    if server is not None:
        server.shutdown()
        server.close_connections()
        server.server_close()
    if thread is not None:
        thread.join(timeout=join_timeout)


class ServedEmulator:
    """What both emulators share: one server thread, started on demand, stopped, and a context manager.

    A subclass names its handler (whose `emulator` attribute is set to the instance, on a subclass
    made per instance) and its thread; its `start()` calls `_serve_on(host, port)`.
    """

    handler_class: ClassVar[type[BaseHTTPRequestHandler]]
    thread_name: ClassVar[str]
    stop_timeout: ClassVar[float]
    _server: EmulatorServer | None = None
    _thread: threading.Thread | None = None

    def _serve_on(self, host: str, port: int) -> tuple[str, int]:
        """Serve from a new thread; the (host, port) served on."""
        handler = type(f"{type(self).__name__}Handler", (self.handler_class,), {"emulator": self})
        self._server, self._thread = start_server(handler, host, port, name=self.thread_name)
        return self._server.server_address[:2]

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        stop_server(server, thread, join_timeout=self.stop_timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
