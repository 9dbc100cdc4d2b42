"""ZoomInfo's client id read from a ``.env`` file like every key, and a provider catalog read
at each use (a spec provider registered after import is listed)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gtmkit.providers import PROVIDERS, MissingCredentials, connect, register_spec
from gtmkit.providers.registry import _REGISTRY


def test_zoominfo_client_id_and_secret_come_from_the_env_file(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ZOOMINFO_CLIENT_ID", raising=False)
    monkeypatch.delenv("ZOOMINFO_CLIENT_SECRET", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text(
        'ZOOMINFO_CLIENT_ID="client-from-file"\nZOOMINFO_CLIENT_SECRET=secret-from-file\n',
        encoding="utf-8",
    )
    conn = connect(["zoominfo"], mode="live", env_file=env_file)
    zoominfo = conn["zoominfo"]
    assert zoominfo.client_id == "client-from-file"  # type: ignore[attr-defined]
    assert zoominfo._key() == "secret-from-file"
    assert "secret-from-file" not in repr(zoominfo)
    assert "ZOOMINFO_CLIENT_ID" not in os.environ  # read, never written into the environment
    assert conn.mode_of("zoominfo") == "live"


def test_zoominfo_environment_wins_and_auto_needs_both_halves(tmp_path, monkeypatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ZOOMINFO_CLIENT_ID=from-file\n", encoding="utf-8")
    monkeypatch.setenv("ZOOMINFO_CLIENT_ID", "from-environment")
    monkeypatch.setenv("ZOOMINFO_CLIENT_SECRET", "s3cret")
    conn = connect(["zoominfo"], mode="live", env_file=env_file)
    assert conn["zoominfo"].client_id == "from-environment"  # type: ignore[attr-defined]
    monkeypatch.delenv("ZOOMINFO_CLIENT_ID")
    (tmp_path / "empty.env").write_text("", encoding="utf-8")
    auto = connect(["zoominfo"], mode="auto", env_file=tmp_path / "empty.env")
    assert auto.mode_of("zoominfo") == "sandbox"  # a secret without a client id is not live
    with pytest.raises(MissingCredentials, match="ZOOMINFO_CLIENT_ID"):
        connect(["zoominfo"], mode="live", env_file=tmp_path / "empty.env")


def test_a_spec_registered_after_import_is_in_the_catalog() -> None:
    from gtmkit.panel.steps import provider_catalog

    name = "catalog_probe_finder"
    assert name not in PROVIDERS
    spec = {
        "name": name,
        "request": {"method": "GET", "url": "https://api.probe.example/find",
                    "query": {"domain": "{domain}", "name": "{full_name}"}},
        "auth": {"in": "header", "name": "X-Key", "env": "PROBE_API_KEY"},
        "response": {"email": "email"},
        "billing": {"rule": "per_hit", "credits": 1, "price_per_credit": 0.01},
    }  # fmt: skip
    try:
        register_spec(spec)
        assert name in PROVIDERS and name in tuple(PROVIDERS)
        assert name in {info.name for info in provider_catalog()}
    finally:
        _REGISTRY.pop(name, None)
    assert name not in PROVIDERS


def test_importing_gtmkit_providers_discovers_no_adapter_modules() -> None:
    code = (
        "import sys, gtmkit.providers as p; "
        "print(int('gtmkit.providers.leadmagic' in sys.modules), len(p.PROVIDERS) > 10)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "True"]
