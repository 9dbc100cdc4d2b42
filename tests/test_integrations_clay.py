"""Clay round trip through the simulated table: push (auth, batching, pacing, the lifetime
limit and a new webhook asked for before it), callbacks (auth, duplicates, unknown rows,
durability) and collect joined back to the list."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import httpx
import polars as pl
import pytest

import gtmkit
from gtmkit.integrations import SECRET_ENV_VARS as PACKAGE_SECRETS
from gtmkit.integrations.clay import (
    AUTH_HEADER,
    SECRET_ENV_VARS,
    ClayError,
    collect,
    push,
)
from gtmkit.integrations.clay_callback import CALLBACK_TOKEN_HEADER, accept_clay_callback
from gtmkit.integrations.clay_store import ClayStore, WebhookUsage
from gtmkit.sandbox.clay import WEBHOOK_PREFIX, ClayTwin

TOKEN = 'tok-3f9"q'
CB = "cb-secret-77"


def _rows(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "row_id": list(range(n)),
            "full_name": [
                f"Person{chr(97 + i % 26)} Number{chr(97 + i // 26 % 26)}" for i in range(n)
            ],
            "company_domain": [f"co{i % 7}.io" for i in range(n)],
            "title": ["VP Sales"] * n,
            "company_name": [f"Co {i % 7}" for i in range(n)],
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> ClayStore:
    return ClayStore(tmp_path / "clay.sqlite")


@pytest.fixture(autouse=True)
def _no_clay_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in SECRET_ENV_VARS:
        monkeypatch.delenv(var, raising=False)


def test_secret_variables_are_hooked_for_the_canary() -> None:
    assert set(SECRET_ENV_VARS) <= set(PACKAGE_SECRETS)  # the package lists Slack's too
    assert "CLAY_WEBHOOK_TOKEN" in PACKAGE_SECRETS
    from gtmkit.providers._redact import secret_env_vars

    assert set(SECRET_ENV_VARS) <= set(secret_env_vars())


def test_push_sends_each_row_with_row_id_and_auth_header(store: ClayStore) -> None:
    twin = ClayTwin()
    url = twin.create_webhook(token=TOKEN)
    seen: list[httpx.Request] = []

    class Spy(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return twin.handle_request(request)

    report = push(_rows(5), store, webhook_url=url, token=TOKEN, transport=Spy(), sleep=None)
    assert (report.sent, report.failed.height, report.pending) == (5, 0, [])
    assert [r["row_id"] for r in twin.rows] == [0, 1, 2, 3, 4]
    assert twin.rows[0]["company_domain"] == "co0.io"
    assert all(r.headers[AUTH_HEADER] == TOKEN for r in seen)
    assert all(r.url.path.startswith(WEBHOOK_PREFIX) for r in seen)
    assert len(seen) == 5  # batch_size=1: one JSON object per request
    assert json.loads(seen[0].content) == twin.rows[0]
    assert report.webhooks[0].submissions == 5


def test_token_from_environment_and_refused_token_stops_and_keeps_rows(
    store: ClayStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    twin = ClayTwin()
    url = twin.create_webhook(token=TOKEN)
    monkeypatch.setenv("CLAY_WEBHOOK_URL", url)
    monkeypatch.setenv("CLAY_WEBHOOK_TOKEN", "wrong-token")
    report = push(_rows(4), store, transport=twin, sleep=None)
    assert report.sent == 0
    assert report.failed["row_id"].to_list() == [0]
    assert "CLAY_WEBHOOK_TOKEN" in report.failed["reason"][0]
    assert "wrong-token" not in report.failed["reason"][0]
    assert report.pending == [1, 2, 3]
    assert twin.rows == []
    monkeypatch.setenv("CLAY_WEBHOOK_TOKEN", TOKEN + "\n")  # a token read from a file
    again = push(_rows(4), store, transport=twin, sleep=None)
    assert again.sent == 4 and len(twin.rows) == 4


def test_second_push_sends_nothing_twice(store: ClayStore) -> None:
    twin = ClayTwin()
    url = twin.create_webhook()
    push(_rows(3), store, webhook_url=url, transport=twin, sleep=None)
    again = push(_rows(5), store, webhook_url=url, transport=twin, sleep=None)
    assert (again.sent, again.skipped) == (2, 3)
    assert sorted(r["row_id"] for r in twin.rows) == [0, 1, 2, 3, 4]
    forced = push(_rows(1), store, webhook_url=url, transport=twin, sleep=None, resend=True)
    assert forced.sent == 1 and len(twin.rows) == 6


def test_store_of_one_list_refuses_another_list(store: ClayStore) -> None:
    twin = ClayTwin()
    url = twin.create_webhook()
    push(_rows(2), store, webhook_url=url, transport=twin, sleep=None)
    other = _rows(2).with_columns(pl.lit("other.io").alias("company_domain"))
    with pytest.raises(ClayError, match="a store belongs to one list"):
        push(other, store, webhook_url=url, transport=twin, sleep=None)


def test_batches_are_arrays_and_count_each_record(store: ClayStore) -> None:
    twin = ClayTwin()
    url = twin.create_webhook()
    report = push(_rows(25), store, webhook_url=url, transport=twin, sleep=None, batch_size=10)
    assert report.sent == 25 and twin.requests == 3
    assert report.webhooks[0].submissions == 25


def test_limit_asks_for_a_new_webhook_before_it_is_reached(store: ClayStore) -> None:
    twin = ClayTwin()
    first = twin.create_webhook(limit=10)
    asked: list[WebhookUsage] = []

    def new_webhook(usage: WebhookUsage) -> str:
        asked.append(usage)
        return twin.create_webhook(limit=10)

    report = push(
        _rows(14), store, webhook_url=first, limit=10, headroom=2, new_webhook=new_webhook,
        transport=twin, sleep=None,
    )  # fmt: skip
    assert report.sent == 14 and report.pending == []
    assert report.asked_for_webhook == 1
    assert asked[0].submissions == 8 and asked[0].left == 2  # asked before the limit
    hooks = list(twin.webhooks.values())
    assert [h.submissions for h in hooks] == [8, 6]
    assert all(h.submissions <= h.limit for h in hooks)  # no row dropped silently
    assert sorted(r["row_id"] for r in twin.rows) == list(range(14))
    assert [u.retired for u in report.webhooks] == [True, False]
    assert all(first not in repr(u) and "****" in u.label for u in report.webhooks)
    with pytest.raises(ClayError, match="retired"):
        push(_rows(15), store, webhook_url=first, limit=10, transport=twin, sleep=None)


def test_limit_without_a_new_webhook_keeps_the_rest_pending(store: ClayStore) -> None:
    twin = ClayTwin()
    url = twin.create_webhook(limit=5)
    report = push(_rows(8), store, webhook_url=url, limit=5, headroom=0, transport=twin,
                  sleep=None)  # fmt: skip
    assert report.sent == 5 and report.pending == [5, 6, 7]
    assert report.asked_for_webhook == 1
    # the count survives the process: a new push on the same store still knows
    again = push(_rows(8), ClayStore(store.path), webhook_url=url, limit=5, headroom=0,
                 transport=twin, sleep=None)  # fmt: skip
    assert again.sent == 0 and again.pending == [5, 6, 7]


def test_twin_over_the_limit_answers_silently_or_with_an_error(store: ClayStore) -> None:
    twin = ClayTwin()
    silent = twin.create_webhook(limit=2)
    loud = twin.create_webhook(limit=2, over_limit="error")
    # a client that does not count (limit told too high) loses rows on the silent one
    push(_rows(3), store, webhook_url=silent, limit=100, headroom=0, transport=twin, sleep=None)
    assert len(twin.webhooks[silent[len("https://api.clay.com" + WEBHOOK_PREFIX) :]].rows) == 2
    other = ClayStore(store.path.with_name("other.sqlite"))
    report = push(
        _rows(3), other, webhook_url=loud, limit=100, headroom=0, transport=twin, sleep=None
    )
    assert report.sent == 2 and report.failed["row_id"].to_list() == [2]
    assert "limit" in report.failed["reason"][0]


def test_rate_limit_is_retried_after_retry_after(store: ClayStore) -> None:
    twin = ClayTwin()
    url = twin.create_webhook()
    twin.fail_next(429, times=2)
    waits: list[float] = []
    report = push(_rows(2), store, webhook_url=url, transport=twin, sleep=waits.append,
                  records_per_second=1000, burst=1000)  # fmt: skip
    assert report.sent == 2 and waits == [1.0, 1.0]
    twin.fail_next(503, times=3)
    report = push(_rows(3), store, webhook_url=url, transport=twin, sleep=waits.append)
    assert report.failed["row_id"].to_list() == [2] and "503" in report.failed["reason"][0]


def test_pacing_holds_records_per_second(store: ClayStore) -> None:
    twin = ClayTwin()
    url = twin.create_webhook()
    now = [0.0]
    sent_at: list[float] = []

    class Clocked(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            sent_at.append(now[0])
            return twin.handle_request(request)

    def sleep(seconds: float) -> None:
        now[0] += seconds

    push(_rows(50), store, webhook_url=url, transport=Clocked(), sleep=sleep,
         clock=lambda: now[0], records_per_second=10, burst=20)  # fmt: skip
    assert sent_at[19] == 0.0  # the burst goes at once
    assert now[0] == pytest.approx(3.0)  # the other 30 at 10 a second
    for i in range(len(sent_at)):  # never more than burst + rate * t by time t
        assert i + 1 <= 20 + 10 * sent_at[i] + 1e-9


def test_timeout_is_unknown_counted_and_not_resent(store: ClayStore) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    url = ClayTwin().create_webhook()
    report = push(_rows(1), store, webhook_url=url, transport=httpx.MockTransport(handler),
                  sleep=None)  # fmt: skip
    assert report.failed["row_id"].to_list() == [0]
    assert "may be in the table" in report.failed["reason"][0]
    assert store.webhook_usage(url).submissions == 1  # counted all the same
    again = push(_rows(1), store, webhook_url=url, transport=httpx.MockTransport(handler),
                 sleep=None)  # fmt: skip
    assert again.skipped == 1 and again.failed.height == 0


def test_no_webhook_and_no_row_id_say_what_to_do(store: ClayStore) -> None:
    with pytest.raises(ClayError, match="CLAY_WEBHOOK_URL"):
        push(_rows(1), store, sleep=None)
    with pytest.raises(ClayError, match="row_id"):
        push(_rows(1).drop("row_id"), store, webhook_url="https://api.clay.com/x", sleep=None)


# -- callbacks ------------------------------------------------------------------------------


def _pushed(store: ClayStore, n: int = 6, *, seed: int = 0) -> ClayTwin:
    twin = ClayTwin(seed=seed)
    url = twin.create_webhook(token=TOKEN)
    push(_rows(n), store, webhook_url=url, token=TOKEN, transport=twin, sleep=None)
    return twin


def test_callbacks_are_matched_and_collect_joins_to_the_list(store: ClayStore) -> None:
    twin = _pushed(store)
    answers = twin.send_callbacks(store, token=CB)
    assert [a.status for a in answers] == [200] * 6
    enriched = collect(store, _rows(6))
    assert enriched["row_id"].to_list() == list(range(6))
    assert {"clay_email", "clay_title", "clay_company_name"} <= set(enriched.columns)
    joined = _rows(6).join(enriched, on="row_id", how="left")
    assert joined.height == 6
    found = joined.filter(pl.col("clay_email").is_not_null())
    assert 0 < found.height < 6  # the twin's hit rate: some found, not all
    for row in found.iter_rows(named=True):
        assert row["clay_email"].endswith("@" + row["company_domain"])
    assert enriched.schema["clay_received_at"] == pl.Datetime("us", "UTC")


def test_callback_auth_refused(store: ClayStore, monkeypatch: pytest.MonkeyPatch) -> None:
    _pushed(store)
    body = b'{"row_id": "1", "Work Email": "x@co1.io"}'
    assert accept_clay_callback(body, {}, store, token=CB).status == 401
    wrong = {CALLBACK_TOKEN_HEADER: "nope"}
    assert accept_clay_callback(body, wrong, store, token=CB).status == 401
    # no token configured anywhere: fail closed
    assert accept_clay_callback(body, {CALLBACK_TOKEN_HEADER: ""}, store).status == 503
    monkeypatch.setenv("CLAY_CALLBACK_TOKEN", CB)
    upper = {CALLBACK_TOKEN_HEADER.upper(): CB}  # headers in any case
    assert accept_clay_callback(body, upper, store).status == 200
    assert collect(store)["row_id"].to_list() == [1]
    assert CB not in repr(accept_clay_callback(body, wrong, store))


def test_duplicate_callback_is_stored_once_and_a_new_one_wins(store: ClayStore) -> None:
    _pushed(store)
    headers = {CALLBACK_TOKEN_HEADER: CB}
    first = b'{"row_id": 2, "Work Email": "a@co2.io"}'
    assert accept_clay_callback(first, headers, store, token=CB).duplicate is False
    again = accept_clay_callback(first, headers, store, token=CB)
    assert again.status == 200 and again.duplicate is True
    rows = sqlite3.connect(store.path).execute("SELECT COUNT(*) FROM callbacks").fetchone()
    assert rows == (1,)
    newer = b'{"row_id": 2, "Work Email": "b@co2.io"}'
    assert accept_clay_callback(newer, headers, store, token=CB).duplicate is False
    assert collect(store)["clay_email"].to_list() == ["b@co2.io"]


def test_unknown_row_id_and_bad_bodies_are_kept_not_matched(store: ClayStore) -> None:
    _pushed(store, n=3)
    headers = {CALLBACK_TOKEN_HEADER: CB}
    unknown = accept_clay_callback(b'{"row_id": 99, "Work Email": "z@z.io"}', headers, store,
                                   token=CB)  # fmt: skip
    assert unknown.status == 404 and "99" in unknown.message
    assert accept_clay_callback(b'{"Work Email": 1}', headers, store, token=CB).status == 400
    assert accept_clay_callback(b"not json", headers, store, token=CB).status == 400
    assert accept_clay_callback(b"[1, 2]", headers, store, token=CB).status == 400
    big = b'{"row_id": 1, "x": "' + b"a" * 1_000_001 + b'"}'
    assert accept_clay_callback(big, headers, store, token=CB).status == 413
    assert collect(store).height == 0
    assert ("99", "row_id never pushed from this store") in store.unmatched()


def test_callbacks_survive_reopening_and_concurrent_receivers(store: ClayStore) -> None:
    twin = _pushed(store, n=40)
    bodies = twin.callback_bodies()
    errors: list[BaseException] = []

    def receive(part: list[bytes]) -> None:
        try:
            mine = ClayStore(store.path)  # another process's connection
            twin.send_callbacks(mine, token=CB, bodies=part)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=receive, args=(bodies[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    reopened = collect(ClayStore(store.path))
    assert reopened["row_id"].to_list() == list(range(40))


def test_callbacks_over_a_loopback_receiver(store: ClayStore) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            answer = accept_clay_callback(body, dict(self.headers.items()), store, token=CB)
            payload = json.dumps(answer.json()).encode()
            self.send_response(answer.status)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    twin = _pushed(store, n=3)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with httpx.Client() as client:
            url = f"http://127.0.0.1:{server.server_address[1]}/clay"
            assert twin.post_callbacks(url, token=CB, client=client) == [200, 200, 200]
            assert twin.post_callbacks(url, token="bad", client=client) == [401, 401, 401]
    finally:
        server.shutdown()
    assert collect(store).height == 3


def test_store_never_holds_the_webhook_url_or_tokens(store: ClayStore) -> None:
    twin = _pushed(store)
    twin.send_callbacks(store, token=CB)
    url = "https://api.clay.com" + WEBHOOK_PREFIX + next(iter(twin.webhooks))
    raw = store.path.read_bytes() + Path(str(store.path) + "-wal").read_bytes()
    assert url.encode() not in raw and TOKEN.encode() not in raw and CB.encode() not in raw
    assert "ClayTwin(webhooks=1" in repr(twin) and TOKEN not in repr(twin)


def test_clay_table_export_loads_like_any_list() -> None:
    fixture = Path(__file__).parent / "fixtures" / "clay_people_export.csv"
    loaded = gtmkit.load_list(fixture)
    mapping = loaded.mapping
    assert mapping["First Name"] == "first_name" and mapping["Last Name"] == "last_name"
    assert mapping["Job Title"] == "title" and mapping["Company Domain"] == "company_domain"
    assert mapping["LinkedIn Profile"] == "linkedin_url" and mapping["Work Email"] == "email"
    assert mapping["Company Name"] == "company_name"
    assert loaded.records.height + loaded.rejected.height == 6
    first = loaded.records.row(0, named=True)
    assert first["linkedin_url"].startswith("https://www.linkedin.com/in/")
    assert first["company_domain"] == "northwind.io"
    assert "Enrich Person" not in mapping  # Clay's JSON enrichment cells stay extra columns


def test_clay_companies_table_export_keeps_the_company_profile_apart(tmp_path: Path) -> None:
    path = tmp_path / "clay_companies.csv"
    path.write_text(
        "Full Name,Company Name,Domain,Company LinkedIn URL,Job Title\n"
        "Maya Okafor,Northwind Labs,northwind.io,https://www.linkedin.com/company/northwind,CRO\n",
        encoding="utf-8",
    )
    loaded = gtmkit.load_list(path)
    assert loaded.mapping["Domain"] == "company_domain"
    assert "Company LinkedIn URL" not in loaded.mapping  # a company page is not a person's
    assert loaded.records.height == 1
