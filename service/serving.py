"""Several workers, each accepting on a listening socket of its own (ADR 0066).

uvicorn's own way to run several workers binds one socket in the supervisor and
shares it: every worker's event loop waits on the same socket, and whichever
wakes first accepts. Keep-alive connections opened together (a proxy's pool, a
load client, a burst of members after a mailing) then pile onto one worker: 30
of 32 connections on one of two workers was typical here, so one core served
nearly everything while the other idled.

Here each worker binds its own socket to the same address with `SO_REUSEPORT`,
and the kernel spreads new connections across the workers' sockets by a hash of
the connection's addresses. uvicorn's supervisor still starts, watches, restarts
and stops the workers; the supervisor itself holds a socket bound to the address
but never listening, so the address is taken (and a clash reported) before any
worker starts, and a port of 0 is chosen once for all of them. A socket that
does not listen is not among those the kernel hands connections to. Before any of
that, `refuse_if_listened_on` makes sure nothing listens there yet: with
`SO_REUSEPORT` a second server could otherwise share the port unnoticed.
"""

from __future__ import annotations

import socket

from uvicorn import Config
from uvicorn.supervisors import multiprocess


class AddressUnavailableError(OSError):
    """`timebank serve` cannot listen on the address it was given (in use, not ours, ...)."""


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def refuse_if_listened_on(host: str, port: int) -> None:
    """`AddressUnavailableError` if any socket listens on (host, port), shared or not, or
    the address cannot be bound at all.

    `SO_REUSEPORT` would let a second `timebank serve` on the same port start and
    silently take half the connections; a plain bind (no `SO_REUSEPORT`) fails while
    any socket listens there, as uvicorn's own bind did.
    """
    if port == 0:  # the kernel will pick a port nobody holds
        return
    with socket.socket(family=_family(host), type=socket.SOCK_STREAM) as probe:
        # Connections of an earlier server left in TIME_WAIT do not hold the address.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            message = f"cannot listen on {host}:{port}: {error.strerror}"
            raise AddressUnavailableError(error.errno, message) from error


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) that other such sockets may share."""
    sock = socket.socket(family=_family(host), type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class _OwnSocketProcess(multiprocess.Process):
    """A uvicorn worker that listens on a socket of its own, not the supervisor's."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        # Runs in the worker. The supervisor's socket it was handed only holds the
        # address; uvicorn makes this one listen.
        for held in sockets or ():
            held.close()
        super().target([reuse_port_socket(self.config.host, self.config.port)])


def run_workers(config: Config) -> None:
    """Run `config.workers` uvicorn workers, each with its own listening socket.

    The caller has checked with `refuse_if_listened_on` that nothing listens there yet.
    """
    held = reuse_port_socket(config.host, config.port)
    config.port = held.getsockname()[1]
    # uvicorn's supervisor makes every worker (at start, on restart, on SIGHUP and
    # SIGTTIN) by this module-level name; this process runs nothing else.
    multiprocess.Process = _OwnSocketProcess  # type: ignore[misc]
    try:
        multiprocess.Multiprocess(config, sockets=[held]).run()
    finally:
        held.close()
