"""Tests of the strict YAML loader: one test (or more) per rule, exact positions."""

from __future__ import annotations

import os
import pathlib
import sys
import time

import pytest
import yaml

from generator.loader import MAX_DEPTH, MAX_SPEC_BYTES, Loaded, load_yaml_file, load_yaml_text
from generator.loader import yaml_loader
from generator.problems import Severity

REPO = pathlib.Path(__file__).resolve().parents[2]


def load(tmp_path: pathlib.Path, content: bytes | str, name: str = "environment.yaml") -> Loaded:
    if isinstance(content, str):
        content = content.encode("utf-8")
    f = tmp_path / name
    f.write_bytes(content)
    result = load_yaml_file(f, f"environments/x/{name}")
    # load_yaml_text must agree with load_yaml_file for every input.
    same = load_yaml_text(content, f"environments/x/{name}")
    assert same.problems == result.problems and same.data == result.data
    return result


def only(result: Loaded, code: str) -> tuple[int, int, str]:
    """The single problem of ``result``; asserts its code and the loader contract."""
    assert result.data is None
    assert [p.code for p in result.problems] == [code], [str(p.location) + " " + p.message for p in result.problems]
    p = result.problems[0]
    assert p.severity is Severity.ERROR
    assert p.location.file == "environments/x/environment.yaml"
    return p.location.line, p.location.column, p.message


def where(result: Loaded) -> list[tuple[str, int, int]]:
    return [(p.code, p.location.line, p.location.column) for p in result.problems]


# --- valid documents and positions ------------------------------------------------

NESTED = """\
name: staging          # comment
aws:
  accountId: "123456789012"
  region: us-east-1
hubs:
  - name: main
    auth:
      admins:
        - alice
        - bob
    ports: [30080, 30081]
  - {name: second, host: "b.example.org"}
"""


def test_valid_document_data_and_positions(tmp_path):
    r = load(tmp_path, NESTED)
    assert r.problems == []
    assert r.data == {
        "name": "staging",
        "aws": {"accountId": "123456789012", "region": "us-east-1"},
        "hubs": [
            {"name": "main", "auth": {"admins": ["alice", "bob"]}, "ports": [30080, 30081]},
            {"name": "second", "host": "b.example.org"},
        ],
    }
    assert r.text == NESTED
    p, k = r.positions, r.key_positions
    assert p[()] == (1, 1)
    assert p[("name",)] == (1, 7) and k[("name",)] == (1, 1)
    assert p[("aws", "accountId")] == (3, 14) and k[("aws", "accountId")] == (3, 3)
    assert p[("hubs",)] == (6, 3)  # a block sequence starts at its first "-"
    assert p[("hubs", 0)] == (6, 5)
    assert p[("hubs", 0, "auth", "admins", 1)] == (10, 11)
    assert k[("hubs", 0, "auth", "admins")] == (8, 7)
    assert p[("hubs", 0, "ports", 1)] == (11, 20)
    assert p[("hubs", 1)] == (12, 5)
    assert p[("hubs", 1, "host")] == (12, 26) and k[("hubs", 1, "host")] == (12, 20)
    # List items have no key position.
    assert ("hubs", 0) not in k


def test_locate_walks_up_and_locate_key(tmp_path):
    r = load(tmp_path, NESTED)
    assert r.locate(("hubs", 0, "auth", "admins", 1)) == (10, 11)
    assert r.locate(("hubs", 0, "auth", "missing", 3)) == r.positions[("hubs", 0, "auth")]
    assert r.locate(("nope",)) == (1, 1)
    assert r.locate_key(("aws", "region")) == (4, 3)
    assert r.locate_key(("hubs", 0)) == (6, 5)  # no key: value position
    assert r.locate_key(("hubs", 7, "x")) == (6, 3)
    empty = Loaded(None, {}, {}, [], None)
    assert empty.locate(("a", 1)) == (1, 1) and empty.locate_key(("a",)) == (1, 1)


def test_real_environment_specs_load():
    for spec in sorted((REPO / "environments").glob("*/environment.yaml")):
        r = load_yaml_file(spec, str(spec.relative_to(REPO)))
        assert r.problems == [], r.problems
        assert isinstance(r.data, dict)


def test_yaml_12_core_scalar_resolution_and_strings_kept(tmp_path):
    r = load(tmp_path, "a: true\nb: 'yes'\nc: '0o17'\nd: 0x1F\ne: 1000\nf: .inf\ng: ~\nh: 2001-12-14\n"
                       "i: 2001-12-14t21:59:43.10-05:00\nj: =\nk: 1.5\nl: \"123\"\nm:\nnn: 0\no: 1.5e+3\n"
                       "p: -.inf\nq: FALSE\nr: \"072600\"\n")
    assert r.problems == []
    d = r.data
    assert d["a"] is True and d["b"] == "yes" and d["q"] is False
    assert d["c"] == "0o17" and d["d"] == 31 and d["e"] == 1000 and d["nn"] == 0
    assert d["f"] == float("inf") and d["p"] == float("-inf") and d["g"] is None and d["m"] is None
    assert d["h"] == "2001-12-14" and d["i"] == "2001-12-14t21:59:43.10-05:00"  # timestamps stay strings
    assert d["j"] == "=" and d["k"] == 1.5 and d["l"] == "123" and d["o"] == 1500.0 and d["r"] == "072600"


@pytest.mark.parametrize("value, yaml12, yaml11", [
    ("yes", "string 'yes'", "boolean true"),
    ("No", "string 'No'", "boolean false"),
    ("on", "string 'on'", "boolean true"),
    ("OFF", "string 'OFF'", "boolean false"),
    ("y", "string 'y'", "boolean true"),
    ("n", "string 'n'", "boolean false"),
    ("072600", "integer 72600", "integer 30080"),
    ("010", "integer 10", "integer 8"),
    ("1:20", "string '1:20'", "integer 80"),
    ("1:20.5", "string '1:20.5'", "number 80.5"),
    ("1_000", "string '1_000'", "integer 1000"),
    ("0b101", "string '0b101'", "integer 5"),
    ("1e3", "number 1000.0", "string '1e3'"),
    ("0o17", "integer 15", "string '0o17'"),
    ("-.5", "number -0.5", "string '-.5'"),
    ("08", "integer 8", "string '08'"),
])
def test_hg010_ambiguous_plain_scalars(tmp_path, value, yaml12, yaml11):
    r = load(tmp_path, f"a: 1\nb:\n  c: [x, {value}]\n")
    [p] = r.problems
    assert (p.code, p.location.line, p.location.column, p.path) == ("HG010", 3, 10, "/b/c/1")
    assert f"read as {yaml12} by YAML 1.2" in p.message and f"as {yaml11} by YAML 1.1" in p.message
    assert f'Quote it ("{value}") if it is text' in p.hint
    assert r.data is None
    # Quoted, the same characters are the string they look like.
    for quoted in (f"'{value}'", f'"{value}"'):
        ok = load(tmp_path, f"a: 1\nb:\n  c: [x, {quoted}]\n")
        assert ok.problems == [] and ok.data == {"a": 1, "b": {"c": ["x", value]}}


def test_hg010_hint_names_the_unambiguous_spellings(tmp_path):
    [p] = load(tmp_path, "public: yes\n").problems
    assert p.hint == 'Quote it ("yes") if it is text, or write true if you mean boolean true.'
    [p] = load(tmp_path, "mode: 072600\n").problems
    assert p.hint == ('Quote it ("072600") if it is text, or write 30080 if you mean integer 30080 or 72600 if you '
                      "mean integer 72600.")


def test_hg010_on_keys_and_every_occurrence(tmp_path):
    r = load(tmp_path, "on: 1\nx:\n  - no\n  - 'no'\n  - 1_0\n")
    assert [(p.code, p.location.line, p.location.column) for p in r.problems] == [
        ("HG010", 1, 1), ("HG010", 3, 5), ("HG010", 5, 5)]


def test_bom_is_stripped(tmp_path):
    r = load(tmp_path, b"\xef\xbb\xbfa: 1\nb: x\n")
    assert r.problems == [] and r.data == {"a": 1, "b": "x"}
    assert r.text == "a: 1\nb: x\n"
    assert r.positions[("b",)] == (2, 4) and r.key_positions[("a",)] == (1, 1)


def test_crlf_line_endings(tmp_path):
    r = load(tmp_path, b"a: 1\r\nb:\r\n  - x\r\n  - z\r\nc: \"q\"\r\n")
    assert r.problems == [] and r.data == {"a": 1, "b": ["x", "z"], "c": "q"}
    assert r.positions[("b", 1)] == (4, 5) and r.positions[("c",)] == (5, 4)
    bad = load(tmp_path, b"a: 1\r\nb: 2\r\na: 3\r\n")
    assert only(bad, "HG002")[:2] == (3, 1)


def test_non_ascii_columns_count_characters(tmp_path):
    r = load(tmp_path, "a: äöü\nb: 日本 x\nc: {d: é, e: 1}\n")
    assert r.problems == []
    assert r.positions[("c", "e")] == (3, 14)
    bad = load(tmp_path, "ä: 1\nb: 日本\nb: 2\n")
    assert only(bad, "HG002")[:2] == (3, 1)


def test_explicit_single_document_markers_are_fine(tmp_path):
    r = load(tmp_path, "%YAML 1.1\n---\na: 1\n...\n")
    assert r.problems == [] and r.data == {"a": 1}


# --- HG009 -------------------------------------------------------------------------------


def test_hg009_missing_file(tmp_path):
    r = load_yaml_file(tmp_path / "nope.yaml", "environments/x/environment.yaml")
    assert [p.code for p in r.problems] == ["HG009"] and r.data is None and r.text is None
    assert "does not exist" in r.problems[0].message
    assert r.problems[0].location.file == "environments/x/environment.yaml"


def test_hg009_directory(tmp_path):
    (tmp_path / "environment.yaml").mkdir()
    r = load_yaml_file(tmp_path / "environment.yaml", "environments/x/environment.yaml")
    assert [p.code for p in r.problems] == ["HG009"] and "directory" in r.problems[0].message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read anything")
def test_hg009_unreadable(tmp_path):
    f = tmp_path / "environment.yaml"
    f.write_text("a: 1\n")
    f.chmod(0)
    r = load_yaml_file(f, "environments/x/environment.yaml")
    assert [p.code for p in r.problems] == ["HG009"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_hg009_fifo_is_not_read(tmp_path):
    fifo = tmp_path / "environment.yaml"
    os.mkfifo(fifo)
    r = load_yaml_file(fifo, "environments/x/environment.yaml")  # must not block
    assert [p.code for p in r.problems] == ["HG009"] and "regular file" in r.problems[0].message


# --- HG007 --------------------------------------------------------------------------------


def test_hg007_300_kib_file_refused_before_parsing(tmp_path):
    content = b"a: 1\n" + b"# padding padding padding padding\n" * (300 * 1024 // 34)
    assert len(content) > 300 * 1000
    line, col, msg = only(load(tmp_path, content), "HG007")
    assert (line, col) == (1, 1) and "256 KiB" in msg


def test_hg007_checked_before_decoding(tmp_path):
    # Invalid UTF-8 and a syntax error, but too large: size wins, nothing is decoded.
    r = load(tmp_path, b"\xff\x00[" * (MAX_SPEC_BYTES // 3 + 1))
    only(r, "HG007")
    assert r.text is None


def test_exactly_the_limit_is_accepted(tmp_path):
    head = b"a: 1\n"
    content = head + b"#" * (MAX_SPEC_BYTES - len(head) - 1) + b"\n"
    assert len(content) == MAX_SPEC_BYTES
    assert load(tmp_path, content).data == {"a": 1}
    only(load(tmp_path, content + b"\n"), "HG007")


# --- HG008 --------------------------------------------------------------------------------


def test_hg008_invalid_utf8_mid_file(tmp_path):
    r = load(tmp_path, b"a: 1\nb: ok\nc: caf\xe9 au lait\nd: 2\n")
    assert only(r, "HG008")[:2] == (3, 7)
    assert r.text is None


def test_hg008_invalid_utf8_after_multibyte_characters(tmp_path):
    # Column counts characters, not bytes: "é" is one column.
    assert only(load(tmp_path, "a: 1\nb: éé".encode() + b"\xc3\x28\n"), "HG008")[:2] == (2, 6)


def test_hg008_png_header(tmp_path):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256))
    assert only(load(tmp_path, png, "environment.yaml"), "HG008")[:2] == (1, 1)


def test_hg008_nul_byte(tmp_path):
    line, col, msg = only(load(tmp_path, b"a: 1\nb: x\x00y\n"), "HG008")
    assert (line, col) == (2, 5) and "NUL" in msg


def test_hg008_utf16(tmp_path):
    line, col, msg = only(load(tmp_path, "a: 1\n".encode("utf-16")), "HG008")
    assert (line, col) == (1, 1) and "UTF-16" in msg


# --- HG004 ---------------------------------------------------------------------------------


def test_hg004_tab_in_indentation(tmp_path):
    line, col, msg = only(load(tmp_path, "a:\n  b: 1\n  \tc: 2\n"), "HG004")
    assert (line, col) == (3, 3) and "tab" in msg


def test_hg004_even_when_the_yaml_would_parse(tmp_path):
    # A tab before a comment, or on a whitespace-only line, parses but is still refused.
    assert only(load(tmp_path, "a: 1\n \t# note\nb: 2\n"), "HG004")[:2] == (2, 2)
    assert only(load(tmp_path, "a: [1,\n\t2]\n"), "HG004")[:2] == (2, 1)


def test_hg004_reports_first_line_only(tmp_path):
    assert only(load(tmp_path, "a:\n\tb: 1\n\tc: 2\n"), "HG004")[:2] == (2, 1)


def test_tabs_inside_values_are_fine(tmp_path):
    r = load(tmp_path, 'a: "x\ty"\nb: \'p\tq\'\nc: "multi\n\tline"\nd: |\n  lit\n  \tindented\ne: x # c\t\nf:\t1\n')
    assert r.problems == []
    assert r.data == {"a": "x\ty", "b": "p\tq", "c": "multi line", "d": "lit\n\tindented\n", "e": "x", "f": 1}


def test_tab_inside_quoted_scalar_before_a_syntax_error_is_not_blamed(tmp_path):
    line, col, _ = only(load(tmp_path, 'a: "x\n\ty"\nb: [1,\n'), "HG001")
    assert line == 4


def test_many_tabs_inside_block_scalars_are_cheap(tmp_path):
    content = "a: |\n  first\n" + "  \tcontent line with a tab\n" * 8000 + "b: 1\n"
    assert len(content) < MAX_SPEC_BYTES
    start = time.perf_counter()
    r = load(tmp_path, content)
    assert r.problems == [] and r.data["b"] == 1
    bad = load(tmp_path, content + "\tc: 2\n")
    assert only(bad, "HG004")[:2] == (8004, 1)
    assert time.perf_counter() - start < 5


# --- HG001 ---------------------------------------------------------------------------------


def test_hg001_syntax_error_position(tmp_path):
    line, col, msg = only(load(tmp_path, "a: 1\nb: [1, 2\nc: 3\n"), "HG001")
    assert line == 3 and col == 2
    assert msg


def test_hg001_bad_indentation(tmp_path):
    line, col, _ = only(load(tmp_path, "a:\n  b: 1\n c: 2\n"), "HG001")
    assert (line, col) == (3, 2)


def test_hg001_unclosed_quote(tmp_path):
    line, col, _ = only(load(tmp_path, 'a: 1\nb: "open\n'), "HG001")
    assert line == 3


def test_hg001_control_character(tmp_path):
    line, col, msg = only(load(tmp_path, "a: 1\nb: x\x07\n"), "HG001")
    assert (line, col) == (2, 5) and "U+0007" in msg


@pytest.mark.parametrize("text, pos, word", [
    ("a: 1\n1: x\n", (2, 1), "integer"),
    ("a: 1\nnull: x\n", (2, 1), "null"),
    ("a: 1\ntrue: x\n", (2, 1), "boolean"),
    ("a: 1\n1.5: x\n", (2, 1), "number"),
    ("a: 1\n? [a]\n: b\n", (2, 3), "sequence"),
    ("a: 1\n{x: 1}: b\n", (2, 1), "mapping"),
    ("a: 1\n? \n: b\n", (2, 2), "null"),
])
def test_hg001_non_string_keys(tmp_path, text, pos, word):
    line, col, msg = only(load(tmp_path, text), "HG001")
    assert (line, col) == pos and word in msg and "key" in msg


def test_quoted_number_keys_and_date_keys_are_strings(tmp_path):
    r = load(tmp_path, "'1': x\n\"null\": w\n2024-01-01: z\n")
    assert r.problems == [] and r.data == {"1": "x", "null": "w", "2024-01-01": "z"}


def test_hg001_integer_too_large(tmp_path):
    line, col, msg = only(load(tmp_path, "a: 1\nb: " + "9" * 5000 + "\n"), "HG001")
    assert (line, col) == (2, 4) and "too many digits" in msg


@pytest.mark.parametrize("opener", ["[", "{a: ", "- ", "[{x: "])
def test_hg001_pathologically_deep_nesting(tmp_path, opener):
    content = ("a: " if opener != "- " else "a:\n") + opener * 10_000
    start = time.perf_counter()
    line, col, msg = only(load(tmp_path, content), "HG001")
    assert "nesting too deep" in msg
    assert time.perf_counter() - start < 5


def test_nested_collection_keys_are_bounded(tmp_path):
    r = load(tmp_path, "a: " + "{" * 10_000)
    assert r.data is None and {p.code for p in r.problems} == {"HG001"}
    assert len(r.problems) <= yaml_loader.MAX_PROBLEMS


def test_deep_block_mapping(tmp_path):
    levels = MAX_DEPTH + 20
    content = "".join(" " * i + f"k{i}:\n" for i in range(levels))
    line, col, msg = only(load(tmp_path, content), "HG001")
    assert "nesting too deep" in msg and line == MAX_DEPTH + 1 and col == MAX_DEPTH + 1


def test_nesting_up_to_the_limit_is_fine(tmp_path):
    content = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    r = load(tmp_path, content)
    assert r.problems == [] and isinstance(r.data["a"], list)
    only(load(tmp_path, "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"), "HG001")


def test_deep_nesting_no_recursion_error_with_low_limit(tmp_path):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(150)
    try:
        r = load_yaml_text(b"a: " + b"[" * 95 + b"]" * 95, "f")
    finally:
        sys.setrecursionlimit(old)
    assert r.problems == []


# --- HG002 ---------------------------------------------------------------------------------


def test_hg002_duplicate_key(tmp_path):
    line, col, msg = only(load(tmp_path, "name: a\ntier: dev\nname: b\n"), "HG002")
    assert (line, col) == (3, 1) and "'name'" in msg and "line 1" in msg


def test_hg002_nested_and_all_collected(tmp_path):
    r = load(tmp_path, "a:\n  b: 1\n  c: 2\n  b: 3\nd: [{e: 1, e: 2}]\nf: {g: 1, g: 2}\n")
    assert r.data is None
    assert where(r) == [("HG002", 4, 3), ("HG002", 5, 12), ("HG002", 6, 11)]
    assert [p.path for p in r.problems] == ["/a/b", "/d/0/e", "/f/g"]
    assert "line 2" in r.problems[0].message


def test_hg002_quoted_and_plain_are_the_same_key(tmp_path):
    assert only(load(tmp_path, "a: 1\n'a': 2\n"), "HG002")[:2] == (2, 1)


def test_same_key_in_different_mappings_is_fine(tmp_path):
    r = load(tmp_path, "a: {name: 1}\nb: {name: 2}\nc: [{name: 1}, {name: 2}]\n")
    assert r.problems == []


# --- HG003 ---------------------------------------------------------------------------------


def test_hg003_anchor_and_alias(tmp_path):
    r = load(tmp_path, "base: &b\n  x: 1\nother: *b\n")
    assert r.data is None
    assert where(r) == [("HG003", 1, 7), ("HG003", 3, 8)]
    assert "&b" in r.problems[0].message and "*b" in r.problems[1].message


def test_hg003_merge_key(tmp_path):
    r = load(tmp_path, "a: 1\nb:\n  <<: {x: 1}\n  z: 2\n")
    line, col, msg = only(r, "HG003")
    assert (line, col) == (3, 3) and "<<" in msg


def test_quoted_merge_key_and_merge_values_are_plain_strings(tmp_path):
    r = load(tmp_path, "'<<': 1\na: <<\nb: [<<]\n")
    assert r.problems == [] and r.data == {"<<": 1, "a": "<<", "b": ["<<"]}
    assert "string '<<'" in only(load(tmp_path, "<<\n"), "HG005")[2]


@pytest.mark.parametrize("text, pos, shown", [
    ("a: 1\nb: !!python/object/apply:os.system ['echo pwned']\n", (2, 4), "!!python/object/apply:os.system"),
    ("a: !!python/name:os.system\n", (1, 4), "!!python/name:os.system"),
    ("a: !custom x\n", (1, 4), "!custom"),
    ("a: !!str 1\n", (1, 4), "!!str"),
    ("a: ! x\n", (1, 4), "'!'"),
    ("a: !!map {b: 1}\n", (1, 4), "!!map"),
    ("%TAG !e! tag:example.com,2000:\n---\na: !e!foo x\n", (3, 4), "tag:example.com,2000:foo"),
])
def test_hg003_tags(tmp_path, text, pos, shown):
    line, col, msg = only(load(tmp_path, text), "HG003")
    assert (line, col) == pos and shown in msg


def test_python_tag_never_executes(tmp_path):
    marker = tmp_path / "pwned"
    r = load(tmp_path, f"a: !!python/object/apply:os.system ['touch {marker}']\n")
    assert r.data is None and not marker.exists()


LOL_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_hg003_billion_laughs_refused_without_expansion(tmp_path):
    r = load(tmp_path, LOL_BOMB)
    assert r.data is None
    assert {p.code for p in r.problems} == {"HG003"}
    assert (r.problems[0].location.line, r.problems[0].location.column) == (1, 4)
    # Nothing was expanded: every recorded position is a node that exists in the text.
    assert len(r.positions) < 200
    # The problem list is bounded even though the bomb holds 80 aliases.
    assert len(r.problems) <= yaml_loader.MAX_PROBLEMS


def test_many_aliases_problem_list_is_capped(tmp_path):
    content = "a: &a x\nb: [" + ",".join(["*a"] * 5000) + "]\n"
    r = load(tmp_path, content)
    assert r.data is None and len(r.problems) == yaml_loader.MAX_PROBLEMS


# --- HG005 / HG006 ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, pos, word", [
    ("", (1, 1), "empty"),
    ("# only a comment\n\n# another\n", (1, 1), "empty"),
    ("---\n", (1, 1), "empty"),
    ("- a\n- b\n", (1, 1), "list"),
    ("# c\n\n  just a string\n", (3, 3), "scalar"),
    ("42\n", (1, 1), "integer"),
    ("null\n", (1, 1), "null"),
    ("[a, b]\n", (1, 1), "list"),
])
def test_hg005_top_level_not_a_mapping(tmp_path, text, pos, word):
    line, col, msg = only(load(tmp_path, text), "HG005")
    assert (line, col) == pos and word in msg


def test_hg006_multiple_documents(tmp_path):
    line, col, msg = only(load(tmp_path, "a: 1\n---\nb: 2\n"), "HG006")
    assert (line, col) == (2, 1) and "second" in msg


def test_hg006_second_document_is_not_parsed(tmp_path):
    # The second document's syntax error and tags are never looked at.
    line, col, _ = only(load(tmp_path, "---\na: 1\n---\n!!python/object:x [unclosed\n"), "HG006")
    assert (line, col) == (3, 1)


def test_hg006_empty_second_document(tmp_path):
    assert only(load(tmp_path, "a: 1\n...\n---\n"), "HG006")[:2] == (3, 1)


# --- combinations and robustness -----------------------------------------------------------------


def test_several_kinds_collected_in_one_pass(tmp_path):
    r = load(tmp_path, "a: &x 1\na: 2\n1: z\nb: !t q\n")
    assert where(r) == [("HG003", 1, 4), ("HG002", 2, 1), ("HG001", 3, 1), ("HG003", 4, 4)]


def test_problems_before_a_syntax_error_are_kept(tmp_path):
    r = load(tmp_path, "a: 1\na: 2\nb: [\n")
    assert [p.code for p in r.problems] == ["HG002", "HG001"]


@pytest.mark.parametrize("sample", [
    NESTED, LOL_BOMB, "a: 1\na: 2\n", "a:\n\tb: 1\n", "a: [1,\n", "- x\n", "", "a: 1\n---\nb: 1\n",
    "1: x\n", "a: 'x\n\ty'\nb: |\n  z\n  \tz\n", "a: " + "[" * 200, "a: !!str x\n", "<<: {a: 1}\n",
])
def test_pure_python_parser_agrees_with_libyaml(monkeypatch, sample):
    fast = load_yaml_text(sample.encode(), "f")
    monkeypatch.setattr(yaml_loader, "_LOADER", yaml.SafeLoader)
    slow = load_yaml_text(sample.encode(), "f")
    assert fast.data == slow.data and fast.positions == slow.positions
    assert [(p.code, p.location) for p in fast.problems] == [(p.code, p.location) for p in slow.problems]


def test_every_problem_has_a_hint_and_positions():
    r = load_yaml_text(b"a: &x 1\nb: *x\n", "f")
    for p in r.problems:
        assert p.hint and p.location.line >= 1 and p.location.column >= 1 and p.source == "hubgen"


def test_typical_spec_loads_fast():
    spec = (REPO / "environments" / "prod" / "environment.yaml")
    data = spec.read_bytes() if spec.exists() else NESTED.encode() * 10
    start = time.perf_counter()
    for _ in range(20):
        load_yaml_text(data, "f")
    assert (time.perf_counter() - start) / 20 < 0.1  # generous: ~2 ms in practice
