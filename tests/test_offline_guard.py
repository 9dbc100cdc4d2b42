from __future__ import annotations

import socket

import pytest
from conftest import NetworkBlocked


def test_non_loopback_connection_is_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NetworkBlocked):
        sock.connect(("93.184.216.34", 80))


def test_dns_lookup_of_a_public_name_is_refused():
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("api.hunter.io", 443)


def test_loopback_is_allowed():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            conn, _ = server.accept()
            conn.close()
