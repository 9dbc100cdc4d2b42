"""Sample lead lists: committed files are exactly what the generator writes, small, messy in
the documented ways, and their truth files agree with the world."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest

from gtmkit.sandbox import default_world, write_samples
from gtmkit.sandbox.samples import SAMPLE_SPECS, TRUTH_COLUMNS, SampleSpec, main
from gtmkit.sandbox.world import World

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
SPECS = {spec.name: spec for spec in SAMPLE_SPECS}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    write_samples(out)
    return out


def read_rows(spec: SampleSpec, folder: Path) -> list[dict[str, str]]:
    """The list's rows keyed by canonical field (via the spec's header map)."""
    path = folder / f"{spec.name}.{spec.fmt}"
    by_header = {header: field for field, header in spec.headers.items()}
    if spec.fmt == "xlsx":
        frame = pl.read_excel(path, infer_schema_length=0)
        raw = [{k: v or "" for k, v in row.items()} for row in frame.to_dicts()]
    else:
        text = path.read_bytes().decode(spec.encoding)
        raw = list(csv.DictReader(io.StringIO(text), delimiter=spec.delimiter))
    return [{by_header[k]: v for k, v in row.items()} for row in raw]


def read_truth(spec: SampleSpec, folder: Path) -> list[dict[str, str]]:
    with (folder / f"{spec.name}.truth.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_regenerating_gives_byte_identical_files(fresh: Path, tmp_path: Path) -> None:
    write_samples(tmp_path)
    names = sorted(p.name for p in fresh.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 * len(SAMPLE_SPECS)
    for name in names:
        assert (fresh / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_committed_samples_match_the_generator(fresh: Path) -> None:
    """CSV files byte for byte; the workbook cell for cell (its zip container may differ
    between xlsxwriter releases without any change in content)."""
    for path in sorted(fresh.iterdir()):
        committed = SAMPLES / path.name
        assert committed.is_file(), f"{path.name} is not committed: run `make samples`"
        if path.suffix == ".xlsx":
            ours = pl.read_excel(path, infer_schema_length=0)
            theirs = pl.read_excel(committed, infer_schema_length=0)
            assert ours.equals(theirs), f"{path.name} differs: run `make samples`"
        else:
            assert path.read_bytes() == committed.read_bytes(), (
                f"{path.name} differs: run `make samples` and commit data/samples"
            )


def test_samples_are_small_and_sized_as_documented(fresh: Path) -> None:
    total = sum(p.stat().st_size for p in fresh.iterdir())
    assert total < 1_000_000
    for spec in SAMPLE_SPECS:
        assert len(read_rows(spec, fresh)) == spec.rows
        assert len(read_truth(spec, fresh)) == spec.rows


def test_truth_files_agree_with_the_world(fresh: Path) -> None:
    world = default_world()
    for spec in SAMPLE_SPECS:
        rows, truths = read_rows(spec, fresh), read_truth(spec, fresh)
        assert list(truths[0]) == list(TRUTH_COLUMNS)
        resolved = 0
        for index, (row, truth) in enumerate(zip(rows, truths, strict=True)):
            assert truth["row_id"] == str(index)
            if not truth["person_id"]:
                assert truth["note"] == "junk row"
                continue
            person = world.person(truth["person_id"])
            assert truth["true_email"] == person["email"]
            assert truth["company_domain"] == person["company_domain"]
            assert truth["catch_all"] == str(person["catch_all"]).lower()
            query = {k: v for k, v in row.items() if k not in {"phone", "zip", "country"} and v}
            if world.match(query) == truth["person_id"]:
                resolved += 1
            if truth["duplicate_of"]:
                original = truths[int(truth["duplicate_of"])]
                assert original["person_id"] == truth["person_id"]
        # Every non-junk row names its person clearly enough to be resolved.
        real = sum(1 for t in truths if t["person_id"])
        assert resolved == real, spec.name


def test_samples_carry_the_documented_mess(fresh: Path) -> None:
    demo_rows = read_rows(SPECS["leads_demo"], fresh)
    demo_truth = read_truth(SPECS["leads_demo"], fresh)
    emails = [r["email"].strip().lower() for r in demo_rows if r["email"].strip()]
    assert any(e.endswith(("@gmail.com", "@yahoo.com", "@hotmail.com")) for e in emails)
    assert sum(1 for r in demo_rows if not r["company_domain"]) > 100  # missing domains
    assert any(r["first_name"] != r["first_name"].strip() for r in demo_rows)  # whitespace
    assert any(r["first_name"].isupper() and len(r["first_name"]) > 2 for r in demo_rows)
    assert any(not r["last_name"].isascii() for r in demo_rows)  # unicode
    assert sum(1 for t in demo_truth if t["duplicate_of"]) > 20
    assert sum(1 for t in demo_truth if t["list_company_stale"] == "true") > 20
    assert sum(1 for t in demo_truth if t["note"] == "junk row") > 5
    linkedin = [r["linkedin_url"] for r in demo_rows if r["linkedin_url"]]
    assert any(u.startswith("https://www.linkedin.com/in/") for u in linkedin)
    assert any(u.startswith("linkedin.com/in/") for u in linkedin)
    small_rows = read_rows(SPECS["leads_small"], fresh)
    websites = [r["website"] for r in small_rows if r["website"]]
    assert any(w.startswith("http") for w in websites) and any("/" not in w for w in websites)
    world = default_world()
    canonical = set(world.companies["name"])
    aliases = {a for names in world.companies["aliases"] for a in names}
    labels = {r["company_name"].strip() for r in demo_rows if r["company_name"].strip()}
    assert len(labels & canonical) > 100
    assert len(labels & aliases) > 100  # "ACME", "Acme, Inc." and friends


def test_excel_sample_keeps_leading_zeros_as_text(fresh: Path) -> None:
    spec = SPECS["leads_events"]
    frame = pl.read_excel(fresh / f"{spec.name}.xlsx", infer_schema_length=0)
    assert list(frame.columns) == list(spec.headers.values())
    phones = [p for p in frame["Phone"].to_list() if p]
    zips = [z for z in frame["ZIP"].to_list() if z]
    assert any(p.startswith("0") for p in phones)
    assert any(z.startswith("0") for z in zips)
    assert all(isinstance(z, str) for z in zips)


def test_french_export_is_semicolon_separated_cp1252(fresh: Path) -> None:
    raw = (fresh / "leads_crm_export_fr.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    header = text.splitlines()[0]
    assert header.startswith("Prénom;Nom;E-mail;Société")
    assert "é" in text[len(header) :]


def test_write_samples_on_a_custom_world_and_spec(tmp_path: Path) -> None:
    world = World.generate(seed=2, companies=60)
    spec = SampleSpec("mini", rows=25, fmt="csv", headers={"full_name": "Name", "email": "Mail"})
    paths = write_samples(tmp_path, world, specs=[spec])
    assert [p.name for p in paths] == ["mini.csv", "mini.truth.csv"]
    truths = read_truth(spec, tmp_path)
    for truth in truths:
        if truth["person_id"]:
            assert world.person(truth["person_id"])["email"] == truth["true_email"]


def test_cli_writes_the_samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gtmkit.sandbox.__main__ import main as sandbox_main

    assert sandbox_main(["samples", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "leads_demo.csv" in out
    assert (tmp_path / "leads_demo.truth.csv").exists()
    assert main(["--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "leads_demo.csv").read_bytes() == (
        tmp_path / "leads_demo.csv"
    ).read_bytes()


@pytest.mark.parametrize("spec", SAMPLE_SPECS, ids=lambda s: s.name)
def test_committed_samples_load_and_their_truth_matches_the_world(spec: SampleSpec) -> None:
    """End to end with the intake: every committed sample loads, every row is accounted for,
    and the world's ground truth of the loaded records is exactly the truth file."""
    import gtmkit

    loaded = gtmkit.load_list(SAMPLES / f"{spec.name}.{spec.fmt}")
    assert loaded.records.height + loaded.rejected.height == spec.rows
    truth = pl.read_csv(SAMPLES / f"{spec.name}.truth.csv", infer_schema_length=0)
    junk = set(truth.filter(pl.col("person_id").is_null())["row_id"].cast(pl.Int64))
    assert set(loaded.rejected["row_id"]) <= junk  # only placeholder rows are turned away
    resolved = default_world().truth(loaded.records)
    joined = resolved.join(
        truth.select(pl.col("row_id").cast(pl.Int64), pl.col("person_id").alias("expected")),
        on="row_id",
    )
    assert joined.height == loaded.records.height
    real = joined.filter(pl.col("expected").is_not_null())
    assert (real["person_id"] == real["expected"]).all()
