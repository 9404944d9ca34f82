"""Version selection, tag shapes and the text edits, as functions (the CLI tests run them end to end)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.bump.rewrite import RewriteError, rewrite
from generator.bump.sources import Bump, Pin, newest_tag, newest_version, next_kubernetes, semver, tag_key
from generator.platform import eks_versions

# --- versions ---------------------------------------------------------------------------------------------------


def test_newest_version_is_stable_unless_the_current_is_a_pre_release():
    offered = ["4.4.0", "4.5.0", "5.0.0-beta.1", "4.10.0", "not-a-version", "3.9.9"]
    assert newest_version("4.4.0", offered) == "4.10.0"
    assert newest_version("5.0.0-alpha.2", offered) == "5.0.0-beta.1"
    assert newest_version("4.10.0", offered) is None
    assert newest_version("4.4.0", offered, cap="4.5.0") == "4.5.0"
    assert newest_version("4.4.0", offered, cap="4.4.0") is None


_semver = st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.integers(0, 30), st.integers(0, 30), st.integers(0, 30))


@settings(max_examples=300, deadline=None)
@given(current=_semver, offered=st.lists(_semver, max_size=12), cap=st.none() | _semver)
def test_newest_version_is_the_maximum_above_current_within_cap(current, offered, cap):
    def key(v):
        return tuple(int(x) for x in v.split("."))

    expected = [v for v in offered if key(v) > key(current) and (cap is None or key(v) <= key(cap))]
    found = newest_version(current, offered, cap)
    assert found == (max(expected, key=key) if expected else None)


# --- tag shapes -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("current, offered, expected", [
    ("build.41", ["build.42", "build.100", "build.7", "latest", "build.101-rc1"], "build.100"),
    ("2026.11.02", ["2026.12.01", "2027.01", "2026.11.30", "sha-1a2b3c"], "2026.12.01"),
    ("v1.2.3", ["v1.10.0", "v2.0.0-rc.1", "1.11.0", "v1.2.2"], "v1.10.0"),
    ("latest", ["latest", "v1"], None),
    ("sha-1a2b3c", ["sha-9a9b9c"], None),
])
def test_newest_tag_keeps_the_shape(current, offered, expected):
    assert newest_tag(current, offered) == expected


#: A tag template: a prefix (letters allowed), then separators between the numbers (no letters: a letter between
#: two numbers makes a tag unorderable, like a hash).
_segments = st.builds(lambda first, rest: [first, *rest], st.sampled_from(["build.", "v", "", "release-"]),
                      st.lists(st.sampled_from([".", "-", "_"]), max_size=3))


@settings(max_examples=300, deadline=None)
@given(seps=_segments, numbers=st.lists(st.lists(st.integers(0, 999), min_size=4, max_size=4), min_size=1,
                                       max_size=10), junk=st.lists(st.sampled_from(["latest", "stable", "main"])))
def test_tags_of_one_shape_order_by_their_numbers(seps, numbers, junk):
    """Tags built from one template order exactly like their number tuples; moving names never win."""
    def tag(nums):
        return "".join(f"{s}{n}" for s, n in zip(seps, nums))

    current, *rest = numbers
    offered = [tag(n) for n in rest] + junk
    width = len(seps)
    above = [tuple(n[:width]) for n in rest if tuple(n[:width]) > tuple(current[:width])]
    found = newest_tag(tag(current), offered)
    if not above:
        assert found is None
    else:
        assert found is not None and tag_key(found)[1] == max(above)
        assert tag_key(found)[0] == tag_key(tag(current))[0]


# --- Kubernetes ---------------------------------------------------------------------------------------------------


def test_next_kubernetes_only_once_released():
    v = eks_versions.lookup("1.35")
    assert next_kubernetes("1.34", v.released) == "1.35"
    assert next_kubernetes("1.34", v.released - timedelta(days=1)) is None
    assert next_kubernetes("1.33", date(2030, 1, 1)) == "1.34"  # one minor at a time
    assert next_kubernetes("1.34", date(2030, 1, 1), cap="1.34") is None
    newest = eks_versions.CALENDAR[-1].version
    assert next_kubernetes(newest, date(2100, 1, 1)) is None  # not in the calendar: never assumed


# --- text edits ---------------------------------------------------------------------------------------------------


def _bump(path, current, new, present=True):
    return Bump(Pin("x", "charts", "c", path, current, "c", present), new, "test")


def test_insert_into_a_flow_mapping_and_quote_what_would_read_as_a_number():
    text = "# head\ncluster: {kubernetesVersion: '1.34', autoscaler: {enabled: true}}  # trailing\nhubs: []\n"
    out = rewrite(text, "spec.yaml", [
        _bump(("cluster", "autoscaler", "chart", "version"), "9.59.0", "9.60.0", present=False),
        _bump(("cluster", "kubernetesVersion"), "1.34", "1.35"),
        _bump(("cluster", "nvidiaDevicePlugin", "chart", "version"), "0.20.0", "0.21.0", present=False),
    ])
    assert out == ("# head\ncluster: {kubernetesVersion: '1.35', autoscaler: {enabled: true, chart: {version: 9.60.0}}"
                   ", nvidiaDevicePlugin: {chart: {version: 0.21.0}}}  # trailing\nhubs: []\n")
    plain = rewrite("k:\n  v: 1.2.3  # pinned\n", "s.yaml", [_bump(("k", "v"), "1.2.3", "1.3")])
    assert plain == 'k:\n  v: "1.3"  # pinned\n' and yaml.safe_load(plain)["k"]["v"] == "1.3"


def test_insert_uses_the_mappings_own_indentation():
    text = "cluster:\n    nodeGroups:\n        - name: core\n    admins: []\n# after\ntags: {}\n"
    out = rewrite(text, "s.yaml", [_bump(("cluster", "autoscaler", "chart", "version"), "1", "9.60.0", False)])
    assert out == ("cluster:\n    nodeGroups:\n        - name: core\n    admins: []\n    autoscaler:\n"
                   "        chart:\n            version: 9.60.0\n# after\ntags: {}\n")


def test_a_block_scalar_version_is_refused():
    with pytest.raises(RewriteError) as e:
        rewrite("k:\n  v: |\n    1.2.3\n", "s.yaml", [_bump(("k", "v"), "1.2.3", "1.3.0")], "dev")
    assert e.value.problem.code == "HG803" and e.value.problem.location.line == 2


def test_semver_refuses_ranges_and_leading_v():
    assert semver("1.2.3-rc.1+build") is not None
    assert semver("v1.2.3") is None and semver("^1.2") is None and semver("01.2.3") is None
