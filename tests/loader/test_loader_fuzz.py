"""Property tests: the loader never raises, and round-trips what PyYAML dumps."""

from __future__ import annotations

import math

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from generator.loader import Loaded, load_yaml_text

from .yaml_versions import ambiguous

FUZZ = settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

SEED_DOC = """\
specVersion: 2
name: staging
tier: dev
aws:
  accountId: "123456789012"
  region: us-east-1
cluster:
  kubernetesVersion: "1.35"
  nodeGroups:
    - {name: core, purpose: core, instanceTypes: [m6i.large], minSize: 1, maxSize: 3}
    - name: user
      purpose: user
      instanceTypes: [m6i.xlarge, 'm6a.xlarge']
      capacityType: spot
      minSize: 0
      maxSize: 10
  subnets:
    - subnet-0a1b2c3d
    - 'subnet-4e5f6a7b'
hubs:
  - name: main
    chart: {version: 4.0.0}
    admins: [alice, bob]
    values: |
      singleuser:
        cmd: start
"""


def check_contract(r: Loaded) -> None:
    assert isinstance(r, Loaded)
    if r.problems:
        assert r.data is None
        for p in r.problems:
            assert p.code.startswith("HG0")
            assert p.location.line >= 1 and p.location.column >= 1
            assert p.message
            assert "internal error" not in p.message  # the loader's last-resort catch-all never fires
    else:
        assert isinstance(r.data, dict)
    for pos in list(r.positions.values()) + list(r.key_positions.values()):
        assert pos[0] >= 1 and pos[1] >= 1


# Bytes that are biased towards YAML syntax, so the fuzzer gets past the UTF-8 check.
YAML_ALPHABET = list(b"abc:- \n\t\r[]{},#&*!|>'\"?%@`.=<~0123456789") + [0, 0xEF, 0xBB, 0xBF, 0xC3, 0xA9, 0xFF]


@FUZZ
@given(st.one_of(
    st.binary(max_size=400),
    st.lists(st.sampled_from(YAML_ALPHABET), max_size=300).map(bytes),
    st.text(max_size=200).map(lambda s: s.encode("utf-8")),
))
def test_arbitrary_bytes_never_raise(data):
    check_contract(load_yaml_text(data, "fuzz.yaml"))


# --- round trip -----------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    st.text(max_size=30),
)
keys = st.text(max_size=15)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=25,
)


def same(a, b) -> bool:
    """Equality that also compares types (True != 1 here) and treats -0.0 like 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def leaf_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaf_paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaf_paths(v, path + (i,))


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


class QuotingDumper(yaml.SafeDumper):
    """PyYAML's dumper, quoting every string whose plain form YAML 1.1 and YAML 1.2 read differently."""


QuotingDumper.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s,
                                                                    style="'" if ambiguous(s) else None))


@settings(FUZZ, max_examples=200)
@given(st.dictionaries(keys, trees, max_size=6), st.sampled_from([None, True, False]), st.booleans())
def test_safe_dump_round_trips_with_positions(doc, flow, allow_unicode):
    text = yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=allow_unicode, sort_keys=False)
    # PyYAML's emitter has corner cases it cannot round-trip itself (e.g. U+0085 in a key with
    # allow_unicode); those are PyYAML's bugs, not the loader's.
    assume(same(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)), doc))
    r = load_yaml_text(text.encode("utf-8"), "rt.yaml")
    if r.problems:
        # PyYAML (a YAML 1.1 writer) leaves strings unquoted that YAML 1.2 reads otherwise ("1e3", "0o17") or
        # that are YAML 1.1 booleans it does not know ("y", "n"): exactly those are HG010, nothing else.
        assert {p.code for p in r.problems} == {"HG010"}, (text, r.problems)
        assert any(ambiguous(s) for s in strings(doc)), (text, r.problems)
        # Written by a YAML 1.1 writer that quotes them, the same document round-trips.
        text = yaml.dump(doc, Dumper=QuotingDumper, default_flow_style=flow, allow_unicode=allow_unicode,
                         sort_keys=False)
        r = load_yaml_text(text.encode("utf-8"), "rt.yaml")
    assert r.problems == [], (text, r.problems)
    assert same(r.data, doc), text
    lines = text.splitlines()
    for path in leaf_paths(doc):
        assert path in r.positions, (path, text)
        line, col = r.positions[path]
        assert 1 <= line and 1 <= col
        if path:
            if isinstance(path[-1], str):
                assert path in r.key_positions
            # The position points into the text (a line that exists).
            assert line <= max(len(lines), 1) + 1


# --- mutations ------------------------------------------------------------------------------

@FUZZ
@given(st.lists(
    st.tuples(st.sampled_from(["insert", "delete", "replace"]), st.integers(min_value=0, max_value=10_000),
              st.sampled_from(list(":-[]{},#&*!|>'\"? \t\n\r%@`x0\x00\xe9"))),
    min_size=1, max_size=6,
))
def test_mutated_document_never_raises(edits):
    text = SEED_DOC
    for op, where, ch in edits:
        i = where % (len(text) + 1)
        if op == "insert":
            text = text[:i] + ch + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + 1:]
        else:
            text = text[:i] + ch + text[i + 1:]
    check_contract(load_yaml_text(text.encode("utf-8"), "mut.yaml"))


def test_seed_document_is_valid():
    r = load_yaml_text(SEED_DOC.encode(), "seed.yaml")
    assert r.problems == [] and r.data["hubs"][0]["admins"] == ["alice", "bob"]
