"""The declarative spec: Python, TOML and YAML, with clear errors."""

from __future__ import annotations

import polars as pl
import pytest

from gtmkit.waterfall import SpecError, Step, Waterfall

TOML = """
name = "smb emails"
verify = "hunter_verifier"

[[steps]]
provider = "hunter"

[[steps]]
provider = "apollo"
stop = "first_verified"
catch_all = "accept_if_confident"
min_confidence = 0.7

[[steps]]
provider = "pdl"
fills = ["email", "title"]
when = "country = 'FR'"

[route_by.employee_band]
"1-10" = ["hunter", "pdl"]

[prices]
apollo = 0.02
"""

YAML = """
name: smb emails
verify: hunter_verifier
steps:
  - hunter
  - provider: apollo
    stop: first_verified
    catch_all: accept_if_confident
    min_confidence: 0.7
  - provider: pdl
    fills: [email, title]
    when: "country = 'FR'"
route_by:
  employee_band:
    "1-10": [hunter, pdl]
prices:
  apollo: 0.02
"""


@pytest.mark.parametrize(("suffix", "text"), [(".toml", TOML), (".yaml", YAML)])
def test_spec_files_load_to_the_same_waterfall(tmp_path, suffix, text):
    path = tmp_path / f"spec{suffix}"
    path.write_text(text)
    wf = Waterfall.from_file(path)
    assert wf.name == "smb emails"
    assert wf.providers == ("hunter", "apollo", "pdl", "hunter_verifier")
    apollo = wf.steps[1]
    assert (apollo.stop, apollo.catch_all, apollo.min_confidence) == (
        "first_verified",
        "accept_if_confident",
        0.7,
    )
    assert wf.steps[2].fills == ("email", "title")
    assert isinstance(wf.steps[2].when, pl.Expr)
    frame = pl.DataFrame({"country": ["FR", "DE", None]})
    assert frame.select(wf.steps[2].when).to_series().to_list() == [True, False, None]
    assert wf.order_for({"employee_band": "1-10"}) == [0, 2]
    assert wf.order_for({"employee_band": "51-200"}) == [0, 1, 2]
    assert wf.prices == {"apollo": 0.02}


def test_fingerprint_is_stable_and_sensitive(tmp_path):
    (tmp_path / "a.toml").write_text(TOML)
    (tmp_path / "b.yaml").write_text(YAML)
    a, b = Waterfall.from_file(tmp_path / "a.toml"), Waterfall.from_file(tmp_path / "b.yaml")
    assert a.fingerprint() == b.fingerprint()
    c = Waterfall([Step("hunter"), Step("apollo")])
    assert c.fingerprint() != a.fingerprint()
    assert c.fingerprint() == Waterfall([Step("hunter"), Step("apollo")]).fingerprint()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Waterfall([]), "at least one Step"),
        (lambda: Waterfall([Step("hunter"), Step("hunter")]), "more than one step"),
        (lambda: Step("hunter", stop="first"), "stop must be one of"),
        (lambda: Step("hunter", catch_all="maybe"), "catch_all must be one of"),
        (lambda: Step("hunter", when="sometimes"), "when must be one of"),
        (lambda: Step("hunter", fills=()), "fills must name"),
        (lambda: Step(""), "non-empty provider name"),
        (lambda: Step("hunter", min_confidence=2), "within 0..1"),
        (
            lambda: Waterfall([Step("hunter")], route_by={"band": {"small": ["apollo"]}}),
            "not steps",
        ),
        (lambda: Waterfall([Step("hunter")], prices={"hunter": -1}), "non-negative"),
        (lambda: Waterfall(["hunter"]), "must be a Step"),
    ],
)
def test_invalid_specs_say_what_is_wrong(build, message):
    with pytest.raises(SpecError, match=message):
        build()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps = []", "non-empty 'steps'"),
        ('[[steps]]\nprovider = "hunter"\nretries = 3', r"unknown key\(s\) \['retries'\]"),
        ('colour = "red"\n[[steps]]\nprovider = "hunter"', r"unknown key\(s\) \['colour'\]"),
        ("[[steps]]\nfills = ['email']", "provider"),
        ('[[steps]]\nprovider = "hunter"\nwhen = "country = = 1"', "cannot parse"),
        ("this is = not toml =", "not valid TOML"),
    ],
)
def test_invalid_files_name_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message) as info:
        Waterfall.from_file(path)
    assert "bad.toml" in str(info.value)


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(SpecError, match="unsupported spec format"):
        (tmp_path / "x.json").write_text("{}")
        Waterfall.from_file(tmp_path / "x.json")
    with pytest.raises(SpecError, match="no waterfall spec"):
        Waterfall.from_file(tmp_path / "missing.toml")
    (tmp_path / "bad.yaml").write_text("steps: [unclosed")
    with pytest.raises(SpecError, match="not valid YAML"):
        Waterfall.from_file(tmp_path / "bad.yaml")
