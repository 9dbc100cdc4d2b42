"""One meaning of truth: the same truth file judges the same email the same way whoever asks —
``judge_emails`` itself, ``accuracy_by_source`` (notebook 02), the comparison's observations
(``Comparison.from_attempts``, notebook 03), ``compare(truth=path)`` and ``compare(truth=frame)``,
the demo, and the simulated world's own truth frame."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from _compare_helpers import sandbox_providers

import gtmkit
from gtmkit.comparison import (
    Comparison,
    ProviderCost,
    TruthError,
    accuracy_by_source,
    judge_emails,
    load_truth,
    normalize_truth,
    truth_from_column,
)
from gtmkit.errors import GtmkitError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "leads_small.csv"
SAMPLE_TRUTH = ROOT / "data" / "samples" / "leads_small.truth.csv"

# (what was found for the row, the row's line in the truth file or None for no line, verdict)
CASES: list[tuple[str | None, str | None, bool | None]] = [
    ("ann@acme.com", "ann@acme.com", True),  # the current address
    ("  Ann@ACME.com ", "ann@acme.com", True),  # case and spaces do not matter
    ("ann@acme.com", " ANN@acme.com", True),  # ... on either side
    ("a.smith@acme.com", "ann@acme.com", False),  # another address: wrong
    ("ann@oldjob.com", "ann@acme.com", False),  # a stale address: wrong
    ("junk@nowhere.io", "", False),  # blank truth: the person has no current email
    ("ann@acme.com", None, None),  # no line for the row: unknown, not judged
    (None, "ann@acme.com", None),  # nothing found: not judged
    ("", "ann@acme.com", None),  # an empty string is nothing found
    (None, "", None),
]
EXPECTED = [verdict for _, _, verdict in CASES]


@pytest.fixture(scope="module")
def truth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = ["row_id,true_email,employee_band"]
    lines += [f"{row},{truth},1-10" for row, (_, truth, _) in enumerate(CASES) if truth is not None]
    path = tmp_path_factory.mktemp("truth") / "cases.truth.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _found() -> pl.DataFrame:
    return pl.DataFrame(
        {"row_id": list(range(len(CASES))), "email": [found for found, _, _ in CASES]},
        schema={"row_id": pl.Int64, "email": pl.String},
    )


def _attempts(found: pl.DataFrame) -> pl.DataFrame:
    """One provider's attempts: a hit with the found email, a miss where nothing was found."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    has = (pl.col("email").fill_null("") != "").alias("has")
    return found.with_columns(has).select(
        "row_id",
        provider=pl.lit("p"),
        outcome=pl.when("has").then(pl.lit("hit")).otherwise(pl.lit("miss")),
        error_kind=pl.lit(None, dtype=pl.String),
        latency_s=pl.lit(0.5),
        credits=pl.lit(1.0),
        billed=pl.lit(True),
        cost_usd=pl.lit(0.05),
        attempt=pl.lit(1),
        cached=pl.lit(False),
        started_at=pl.lit(t0),
        email=pl.when("has").then(pl.col("email")),
        email_status=pl.lit("valid"),
    )


def _by_judge(truth: pl.DataFrame) -> list[bool | None]:
    return judge_emails(_found(), truth)["correct"].to_list()


def _by_accuracy_by_source(truth: pl.DataFrame) -> list[bool | None]:
    # one source per row, so each source's (judged, correct) is that row's verdict
    records = _found().with_columns(
        email_source=pl.format("s{}", pl.col("row_id")),
        email=pl.when(pl.col("email") != "").then(pl.col("email")),
    )
    table = accuracy_by_source(records, truth)
    verdicts = {
        int(source[1:]): (bool(correct) if judged else None)
        for source, judged, correct in table.select("source", "judged", "correct").rows()
    }
    return [verdicts.get(row) for row in range(len(CASES))]


def _by_comparison(truth: pl.DataFrame) -> list[bool | None]:
    costs = {"p": ProviderCost("p", "per_call", 1.0, 0.05)}
    cmp = Comparison.from_attempts(_attempts(_found()), costs, truth=truth)
    return cmp.observations.sort("row_id")["correct"].to_list()


CALLERS = {
    "judge_emails": _by_judge,
    "accuracy_by_source (notebook 02)": _by_accuracy_by_source,
    "comparison observations (notebook 03, compare)": _by_comparison,
}


@pytest.mark.parametrize("caller", CALLERS)
def test_every_caller_judges_the_truth_file_the_same_way(caller: str, truth_file: Path) -> None:
    assert CALLERS[caller](load_truth(truth_file)) == EXPECTED


@pytest.mark.parametrize("caller", CALLERS)
def test_a_frame_read_any_way_is_judged_like_the_file(caller: str, truth_file: Path) -> None:
    """A frame read by hand (strings, empty cells as null or as "") means the same as the file."""
    raw = pl.read_csv(truth_file, infer_schema_length=0)
    inferred = pl.read_csv(truth_file)
    empty_strings = raw.with_columns(pl.col("true_email").fill_null(""))
    for frame in (raw, inferred, empty_strings):
        assert CALLERS[caller](frame) == EXPECTED


def test_the_accuracy_table_counts_what_it_judged(truth_file: Path) -> None:
    records = _found().with_columns(
        email_source=pl.lit("hunter"), email=pl.when(pl.col("email") != "").then(pl.col("email"))
    )
    row = accuracy_by_source(records, load_truth(truth_file)).row(0, named=True)
    judged = [v for v in EXPECTED if v is not None]
    assert row["emails"] == sum(1 for found, _, _ in CASES if found)  # non-empty emails
    assert row["judged"] == len(judged) and row["correct"] == sum(judged)
    assert row["accuracy"] == pytest.approx(sum(judged) / len(judged))


def test_bounce_truth_is_one_meaning_too() -> None:
    found = pl.DataFrame({"row_id": [0, 1, 2, 3], "email": ["a@x.io", "B@x.io", "c@x.io", None]})
    bounces = pl.DataFrame(
        {"email": ["a@x.io", "b@x.io", "b@x.io"], "bounced": ["false", "no", "1"]}
    )
    # a delivered address is right, one bounce condemns it, a never-sent one is unknown
    assert judge_emails(found, bounces)["correct"].to_list() == [True, False, None, None]
    costs = {"p": ProviderCost("p", "per_call", 1.0, 0.05)}
    cmp = Comparison.from_attempts(_attempts(found), costs, truth=bounces)
    assert cmp.observations.sort("row_id")["correct"].to_list() == [True, False, None, None]


# ----------------------------------------------------------------- load_truth


def test_load_truth_keeps_segment_columns_and_normalizes(truth_file: Path) -> None:
    truth = load_truth(truth_file)
    assert truth.columns == ["row_id", "true_email", "employee_band"]
    assert truth.schema["row_id"] == pl.Int64
    assert truth["true_email"].to_list()[:3] == ["ann@acme.com"] * 3
    assert truth["true_email"].null_count() == 2  # the blank lines: no current email


def test_load_truth_reads_parquet_and_tsv(tmp_path: Path, truth_file: Path) -> None:
    frame = pl.read_csv(truth_file, infer_schema_length=0)
    frame.write_parquet(tmp_path / "t.parquet")
    frame.write_csv(tmp_path / "t.tsv", separator="\t")
    expected = load_truth(truth_file)
    assert load_truth(tmp_path / "t.parquet").equals(expected)
    assert load_truth(tmp_path / "t.tsv").equals(expected)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("person,email_address\nann,ann@acme.com\n", r"\(row_id, true_email\).*\(email, bounced\)"),
        ("row_id,true_email\nfirst,ann@acme.com\n", "whole number"),
        ("row_id,true_email\n,ann@acme.com\n", "whole number"),
        ("row_id,true_email\n0,ann@acme.com\n0,bob@acme.com\n", "two different true emails"),
        ("email,bounced\nann@acme.com,maybe\n", "true/false"),
        ("", "cannot be read|truth must have columns"),
    ],
)
def test_a_bad_truth_file_says_what_columns_are_expected(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.truth.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TruthError, match=message) as info:
        load_truth(path)
    assert isinstance(info.value, GtmkitError) and isinstance(info.value, ValueError)
    assert "bad.truth.csv" in str(info.value)


def test_load_truth_explains_a_missing_or_foreign_file(tmp_path: Path) -> None:
    with pytest.raises(TruthError, match="not found"):
        load_truth(tmp_path / "none.csv")
    (tmp_path / "truth.xlsx").write_bytes(b"PK")
    with pytest.raises(TruthError, match=r"\.csv, \.tsv or \.parquet"):
        load_truth(tmp_path / "truth.xlsx")


def test_a_repeated_identical_line_is_not_a_clash() -> None:
    truth = pl.DataFrame({"row_id": [0, 0], "true_email": ["a@x.io", "A@x.io "]})
    assert normalize_truth(truth).rows() == [(0, "a@x.io")]


def test_truth_from_a_column_keeps_blanks_unknown() -> None:
    records = pl.DataFrame({"row_id": [0, 1, 2], "verified": ["a@x.io", "", None]})
    found = pl.DataFrame({"row_id": [0, 1, 2], "email": ["a@x.io", "b@x.io", "c@x.io"]})
    assert judge_emails(found, truth_from_column(records, "verified"))["correct"].to_list() == [
        True,
        None,
        None,
    ]
    with pytest.raises(TruthError, match="no column"):
        truth_from_column(records, "missing")


# ----------------------------------------------------------------- through compare


RUN = {"mode": "sandbox", "echo": False, "progress": False, "rate_limits": "off"}


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Comparison]:
    """One sandbox comparison judged three ways; the ledger makes the later runs free."""
    from gtmkit.sandbox import default_world

    leads = gtmkit.load_list(SAMPLE)
    ledger = str(tmp_path_factory.mktemp("truth-ledger") / "ledger.sqlite")
    truths = {
        "path": SAMPLE_TRUTH,
        "str path": str(SAMPLE_TRUTH.relative_to(ROOT)),
        "frame read by hand": pl.read_csv(SAMPLE_TRUTH, infer_schema_length=0),
        "world": default_world().truth(leads.records),
    }
    out = {}
    with sandbox_providers(["hunter", "apollo"]) as providers:
        for name, truth in truths.items():
            out[name] = gtmkit.compare(
                leads, providers, sample=80, seed=1, truth=truth, ledger=ledger, **RUN
            )
    return out


def test_compare_judges_a_path_a_frame_and_the_world_alike(compared: dict[str, Comparison]) -> None:
    columns = ["row_id", "provider", "email", "correct", "usable"]
    reference = compared["path"].observations.select(columns)
    assert reference["correct"].is_not_null().sum() > 0  # something was judged
    for name, cmp in compared.items():
        assert cmp.observations.select(columns).equals(reference), name
        assert cmp.metrics.select("provider", "accuracy").equals(
            compared["path"].metrics.select("provider", "accuracy")
        ), name
    assert compared["path"].truth_source == "file:data/samples/leads_small.truth.csv"
    assert compared["frame read by hand"].truth_source == "frame"


def test_compare_observations_agree_with_judge_emails(compared: dict[str, Comparison]) -> None:
    obs = compared["path"].observations
    hits = obs.filter(pl.col("hit"))
    judged = judge_emails(hits.select("row_id", "email"), load_truth(SAMPLE_TRUTH))
    assert judged["correct"].to_list() == hits["correct"].to_list()
    assert obs.filter(~pl.col("hit"))["correct"].is_null().all()


def test_segments_come_from_the_truth_file(compared: dict[str, Comparison]) -> None:
    leads = gtmkit.load_list(SAMPLE)
    with sandbox_providers(["hunter"]) as providers:
        cmp = gtmkit.compare(
            leads, providers, sample=30, truth=SAMPLE_TRUTH, segment_by="employee_band",
            ledger=None, **RUN,
        )  # fmt: skip
    assert cmp.segment_metrics["segment"].unique().to_list() == ["employee_band"]


@pytest.mark.parametrize(
    ("truth", "message"),
    [
        ("world", r"world\.truth\(records\)"),
        ("email", r"truth_from_column\(records, 'email'\)"),
        ("data/samples/no_such.truth.csv", "not found"),
        (42, "got int"),
    ],
)
def test_compare_explains_a_truth_it_cannot_use(truth: object, message: str) -> None:
    leads = gtmkit.load_list(SAMPLE)
    with pytest.raises(TruthError, match=message):
        gtmkit.compare(leads, ["hunter"], sample=5, truth=truth, ledger=None, **RUN)


def test_a_world_object_is_refused_with_what_to_pass() -> None:
    from gtmkit.sandbox import default_world

    leads = gtmkit.load_list(SAMPLE)
    with pytest.raises(TruthError, match=r"world\.truth\(records\)"):
        gtmkit.compare(leads, ["hunter"], sample=5, truth=default_world(), ledger=None, **RUN)


def test_the_demo_reads_the_sample_truth_like_everyone_else() -> None:
    # the demo hands its sample's truth file to notebook 05, which reads it with load_truth
    # (tests/test_notebook_05_engagement.py checks the figures against the package's own run)
    from gtmkit.demo import DEMO
    from gtmkit.paths import resolve_path

    truth = load_truth(resolve_path(str(DEMO["truth_path"])))
    leads = gtmkit.load_list(resolve_path(str(DEMO["list_path"])))
    assert str(DEMO["truth_path"]).endswith(".truth.csv")
    # one truth line per data row of the list, rejected rows included
    assert truth.height == leads.records.height + leads.rejected.height
