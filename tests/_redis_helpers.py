"""A private redis-server for the queue tier's tests, and worker processes to SIGKILL.

Each server is Debian's ``redis-server`` on a free loopback port, in a temporary directory,
with AOF persistence on; it is stopped when the test (module) is done. Never a system Redis.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REDIS_SERVER = shutil.which("redis-server")

needs_redis = pytest.mark.skipif(
    REDIS_SERVER is None, reason="redis-server is not installed (apt-get install redis-server)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    process: subprocess.Popen[bytes]
    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[RedisServer]:
    """A redis-server on a free loopback port for the ``with`` block."""
    server = start_redis(directory)
    try:
        yield server
    finally:
        stop_redis(server)


def stop_redis(server: RedisServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def start_redis(directory: Path, port: int | None = None) -> RedisServer:
    """Start redis-server (on ``port``, or a free one) with its files in ``directory``; returns
    once it answers (its AOF replayed)."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
         "--appendonly", "yes", "--appendfsync", "always", "--save", "",
         "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError("redis-server did not start") from None
            time.sleep(0.02)
    client.close()
    return RedisServer(process, port, directory)


def start_worker(url: str, *, name: str, queue: str = "gtmkit") -> subprocess.Popen[bytes]:
    """``python -m gtmkit worker`` as a child process (its own process group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "gtmkit", "worker", "--redis", url, "--queue", queue,
         "--name", name],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
