"""Test-wide guards: no provider keys leak into tests, and nothing leaves the loopback interface.

Tests marked ``live`` are the only ones allowed out; they skip unless their key is set.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import socket

import pytest

PROVIDER_KEY_VARS = (
    "APOLLO_API_KEY",
    "HUNTER_API_KEY",
    "PDL_API_KEY",
    "PROSPEO_API_KEY",
    "DROPCONTACT_API_KEY",
)
#: CRM and sequencer credentials and settings (gtmkit.sync): a sync test never goes live.
SYNC_ENV_VARS = (
    "HUBSPOT_ACCESS_TOKEN",
    "SALESFORCE_ACCESS_TOKEN",
    "SALESFORCE_INSTANCE_URL",
    "SALESFORCE_CLIENT_ID",
    "SALESFORCE_CLIENT_SECRET",
    "SALESFORCE_REFRESH_TOKEN",
    "OUTREACH_ACCESS_TOKEN",
    "SALESLOFT_API_KEY",
    # the webhook receiver's secrets (gtmkit.webhooks.SECRET_ENV_VARS)
    "GTMKIT_WEBHOOK_SECRET",
    "HUBSPOT_CLIENT_SECRET",
    "CLAY_WEBHOOK_TOKEN",
    "APOLLO_WEBHOOK_TOKEN",
)
#: Integration secrets (gtmkit.integrations): no test posts to a real Slack.
INTEGRATION_ENV_VARS = ("SLACK_WEBHOOK_URL", "SLACK_SIGNING_SECRET")

#: Clay's webhook URL, its token and the callback secret (gtmkit.integrations): never live.
INTEGRATION_ENV_VARS = ("CLAY_WEBHOOK_URL", "CLAY_WEBHOOK_TOKEN", "CLAY_CALLBACK_TOKEN")
# Slack's too (the line above replaced the Slack tuple instead of adding to it)
INTEGRATION_ENV_VARS += ("SLACK_WEBHOOK_URL", "SLACK_SIGNING_SECRET")
# the Slack bot token (chat.postMessage / chat.update of the approval message)
INTEGRATION_ENV_VARS += ("SLACK_BOT_TOKEN",)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkBlocked(RuntimeError):
    """A test tried to reach something other than loopback."""


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(sock: socket.socket, address: object) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback(host):
        raise NetworkBlocked(f"tests are offline: refused connection to {address!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and not _is_loopback(name):
        raise NetworkBlocked(f"tests are offline: refused DNS lookup of {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def _ignore_default_dotenv(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's ``./.env`` must not turn keyless tests live (``connect`` reads it by
    default); a test that passes its own ``env_file`` still gets the real reader."""
    # keys are read by gtmkit.providers.credentials (connect only calls it)
    credentials = importlib.import_module("gtmkit.providers.credentials")
    real = credentials.read_env_file

    def read_env_file(path, names):  # type: ignore[no-untyped-def]
        return {} if str(path) == ".env" else real(path, names)

    monkeypatch.setattr(credentials, "read_env_file", read_env_file)


@pytest.fixture(autouse=True)
def _offline_and_keyless(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    if request.node.get_closest_marker("live"):
        yield
        return
    for var in PROVIDER_KEY_VARS:
        monkeypatch.delenv(var, raising=False)
    for var in SYNC_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    for var in INTEGRATION_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    _ignore_default_dotenv(monkeypatch)
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    yield


@pytest.fixture
def live_key(request: pytest.FixtureRequest) -> str:
    """For ``live`` tests: the key named by ``@pytest.mark.live("HUNTER_API_KEY")``.

    Skips when the key is unset: live tests are the only tests allowed to skip.
    """
    marker = request.node.get_closest_marker("live")
    var = marker.args[0] if marker and marker.args else None
    if not var or not os.environ.get(var):
        pytest.skip(f"live test: set {var or 'the provider key'} to run it")
    return os.environ[var]
