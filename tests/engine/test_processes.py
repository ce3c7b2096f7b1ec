"""`interlace run --processes N` listens with a socket per process on one address
(engine/processes.py): the kernel spreads new connections across them, instead of the process
that wakes first taking every connection waiting on one shared socket."""

from __future__ import annotations

import errno
import select
import socket

import pytest

from interlace.engine import processes as procs


def test_each_process_gets_a_socket_on_the_same_address_and_connections_reach_all() -> None:
    groups = procs.bind_all([("127.0.0.1", 0)], 2)
    try:
        [[first], [second]] = groups
        port = first.getsockname()[1]
        assert second.getsockname() == ("127.0.0.1", port)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
        accepted = {first: 0, second: 0}
        while sum(accepted.values()) < 64:  # every connection is in one of the two queues
            ready, _, _ = select.select([first, second], [], [], 10.0)
            assert ready, accepted
            for sock in ready:
                conn, _ = sock.accept()
                conn.close()
                accepted[sock] += 1
        for client in clients:
            client.close()
        # spread by a hash of each connection's addresses: that one socket takes all 64 has a
        # chance of 2 in 2**64; a shared socket gives them all to whoever accepts first
        assert min(accepted.values()) > 0, accepted
    finally:
        for group in groups:
            for sock in group:
                sock.close()


def test_a_taken_address_is_named_and_nothing_is_left_open() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        free = socket.socket()
        free.bind(("127.0.0.1", 0))
        free_port = free.getsockname()[1]
        free.close()
        with pytest.raises(OSError) as raised:
            procs.bind_all([("127.0.0.1", free_port), ("127.0.0.1", port)], 2)
        assert raised.value.errno == errno.EADDRINUSE
        assert raised.value.filename == f"127.0.0.1:{port}"
        with socket.socket() as probe:  # what was bound was closed again: a plain bind succeeds
            probe.bind(("127.0.0.1", free_port))
