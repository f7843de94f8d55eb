"""Running the app under uvicorn, in one process or with worker processes.

uvicorn binds the listener of ``--workers N`` itself with the socket protocol left at 0 (uvicorn
issue #3149). Accepted connections inherit it, asyncio then skips ``TCP_NODELAY``, and on Linux
every keep-alive response waits about 40 ms for the client's delayed ACK (measured here: 48 ms
for ``/healthz`` with 2 workers, 1 ms with 1). :class:`TcpConfig` gives the listener its TCP
protocol number, so worker processes set ``TCP_NODELAY`` like the single-process server does.

Worker start-up. uvicorn starts each worker with multiprocessing's *spawn*: a fresh interpreter
that first re-imports the parent's ``__main__`` and only then starts the thread answering the
supervisor's health-check pings. Run as ``rm-advisor serve``, that main module is the console
script, which imports the whole CLI (typer, rich, pandas, matplotlib, SQLAlchemy, alembic, the
engine): 1.5-4 s on an idle machine, 3-10 s with both cores busy, while uvicorn (0.30+) kills
a worker that does not answer a ping within 5 s (its default), and the replacement starts the
same way.
:func:`run` therefore names this module as the workers' main (:func:`workers_main`): a worker
imports only what serving needs (uvicorn, the settings, the app) and answers pings within about a
second of starting, busy or not. The health-check timeout itself is a setting
(``worker_healthcheck_timeout``, default 60 s; uvicorn 0.37+ takes it, hence the requirement).
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import sys
from collections.abc import Iterator

import uvicorn
from uvicorn.supervisors import Multiprocess

from rm_advisor.api.settings import Settings

APP = "rm_advisor.api.app:app_from_env"
#: what a spawned worker imports as its ``__main__`` (instead of the parent's, the whole CLI)
WORKER_MAIN = "rm_advisor.api.server"



def tcp_listener(sock: socket.socket) -> socket.socket:
    """The same listening socket, marked as TCP (the kernel knows; the Python object did not)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
        return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    return sock


class TcpConfig(uvicorn.Config):
    """uvicorn's configuration, binding worker listeners as TCP sockets."""

    def bind_socket(self) -> socket.socket:
        return tcp_listener(super().bind_socket())


@contextlib.contextmanager
def workers_main(module: str = WORKER_MAIN) -> Iterator[None]:
    """While inside, processes started with *spawn* import ``module`` as their ``__main__``
    rather than re-running the parent's main script (multiprocessing follows ``__main__.__spec__``).

    Nothing a worker runs lives in the parent's ``__main__``: uvicorn pickles its own process
    object, the config (:class:`TcpConfig`, from this module) and the app as an import string."""
    main = sys.modules["__main__"]
    saved = main.__spec__  # None for a script such as the rm-advisor console script
    main.__spec__ = importlib.util.find_spec(module)
    try:
        yield
    finally:
        main.__spec__ = saved


def run(settings: Settings, log_level: str = "info", access_log: bool = True) -> None:
    """Serve :func:`api.app.app_from_env` (settings reach the workers through the environment)."""
    config = TcpConfig(APP, factory=True, host=settings.host, port=settings.port, workers=settings.workers,
                       log_level=log_level, access_log=access_log, server_header=False,
                       timeout_worker_healthcheck=settings.worker_healthcheck_timeout)
    server = uvicorn.Server(config)
    if config.workers == 1:
        server.run()
        return
    sock = config.bind_socket()
    with workers_main():  # workers are spawned (and respawned) while the supervisor runs
        Multiprocess(config, sockets=[sock]).run()
