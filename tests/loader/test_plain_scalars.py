"""Property tests of plain-scalar resolution: hubgen reads the YAML 1.2 core schema and refuses (HG010) every
unquoted scalar that YAML 1.1 reads differently; a quoted scalar is always the string it spells."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from generator.loader import load_yaml_text

from .yaml_versions import ambiguous, plain_scalar, same, yaml11, yaml12

PROPS = settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                                        HealthCheck.filter_too_much])

#: Words and numbers where the two YAML versions tend to part ways, and their neighbours.
KNOWN = ["yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N", "true",
         "False", "TRUE", "tRue", "yEs", "072600", "0755", "010", "08", "0", "00", "-0", "+1", "1:20", "12:30",
         "1:20.5", "190:20:30", "1_000", "0b101", "0x1F", "-0x1F", "0X1F", "0o17", "0O17", "1e3", "1E3", "1.0e3",
         "1.0e+3", "-.5", "+.5", ".5", "1.", "1.5", ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "nan", "inf", "~",
         "null", "Null", "NULL", "nULL", "2001-12-14", "=", "1.31", "4.4.0", "1_0.5", "0.", "+0.5e-3"]
ALPHABET = "0123456789+-._:eEoxbXBOnyYNtrufalsFLS~"


def plain_candidates():
    return st.one_of(st.sampled_from(KNOWN), st.text(alphabet=ALPHABET, min_size=1, max_size=8))


@PROPS
@given(plain_candidates())
@example("yes")
@example("072600")
def test_an_unquoted_value_reads_alike_in_both_versions_or_is_hg010(s):
    assume(plain_scalar(s))
    r = load_yaml_text(f"v: {s}\n".encode(), "x.yaml")
    if ambiguous(s):
        assert [(p.code, p.location.line, p.location.column, p.path) for p in r.problems] == [("HG010", 1, 4, "/v")]
        assert r.data is None
        assert f'("{s}")' in r.problems[0].hint
    else:
        assert r.problems == [], (s, r.problems)
        assert same(r.data["v"], yaml12(s)) and same(r.data["v"], yaml11(s)), (s, r.data)


@PROPS
@given(plain_candidates())
def test_an_unquoted_key_is_hg010_exactly_when_ambiguous(s):
    assume(plain_scalar(s) and s not in ("", "<<", "="))
    r = load_yaml_text(f"{s}: 1\n".encode(), "x.yaml")
    codes = [(p.code, p.location.line, p.location.column) for p in r.problems]
    if ambiguous(s):
        assert ("HG010", 1, 1) in codes
    elif isinstance(yaml12(s), str):
        assert r.problems == [] and r.data == {s: 1}
    else:
        assert codes == [("HG001", 1, 1)]  # a number, boolean or null key: keys must be strings


printable = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Co", "Cn", "Zl", "Zp")),
                    max_size=30)


@PROPS
@given(printable)
@example("yes")
@example("072600")
@example("1:20")
def test_a_quoted_value_is_always_the_string_it_spells(t):
    double = json.dumps(t, ensure_ascii=False)
    single = "'" + t.replace("'", "''") + "'"
    for quoted in (double, single):
        r = load_yaml_text(f"v: {quoted}\nw: [{quoted}]\n".encode(), "x.yaml")
        assert r.problems == [], (quoted, r.problems)
        assert r.data == {"v": t, "w": [t]} and isinstance(r.data["v"], str)


def test_the_oracles_see_the_documented_differences():
    for s in ("yes", "no", "on", "off", "y", "n", "072600", "1:20", "1_000", "0b101", "1e3", "0o17"):
        assert ambiguous(s), s
    for s in ("true", "false", "1", "0", "1.5", "0x1F", ".inf", "~", "null", "2001-12-14", "subnet-1", "1.31"):
        assert not ambiguous(s), s
