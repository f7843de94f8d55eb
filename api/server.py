"""Running the app under uvicorn, in one process or with worker processes.

uvicorn binds the listener of ``--workers N`` itself with the socket protocol left at 0 (uvicorn
issue #3149). Accepted connections inherit it, asyncio then skips ``TCP_NODELAY``, and on Linux
every keep-alive response waits about 40 ms for the client's delayed ACK (measured here: 48 ms
for ``/healthz`` with 2 workers, 1 ms with 1). :class:`TcpConfig` gives the listener its TCP
protocol number, so worker processes set ``TCP_NODELAY`` like the single-process server does.
"""

from __future__ import annotations

import inspect
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

from api.settings import Settings

APP = "api.app:app_from_env"


def tcp_listener(sock: socket.socket) -> socket.socket:
    """The same listening socket, marked as TCP (the kernel knows; the Python object did not)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
        return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    return sock


class TcpConfig(uvicorn.Config):
    """uvicorn's configuration, binding worker listeners as TCP sockets."""

    def bind_socket(self) -> socket.socket:
        return tcp_listener(super().bind_socket())


def run(settings: Settings, log_level: str = "info", access_log: bool = True) -> None:
    """Serve :func:`api.app.app_from_env` (settings reach the workers through the environment)."""
    config = TcpConfig(APP, factory=True, host=settings.host, port=settings.port, workers=settings.workers,
                       log_level=log_level, access_log=access_log, server_header=False)
    server = uvicorn.Server(config)
    if config.workers == 1:
        server.run()
        return
    sock = config.bind_socket()
    # uvicorn 0.29-0.3x took the target explicitly; later versions build the server themselves
    if "target" in inspect.signature(Multiprocess).parameters:
        Multiprocess(config, target=server.run, sockets=[sock]).run()  # type: ignore[call-arg]
    else:
        Multiprocess(config, sockets=[sock]).run()
