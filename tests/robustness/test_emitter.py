"""Generated YAML is the same bytes whichever emitter writes it.

For speed, :func:`generator.render.common.dump_yaml` hands documents to libyaml's C emitter when
:func:`_same_in_both` says the two emitters agree on them, and to PyYAML's pure-Python emitter
otherwise. This differential fuzz test holds that decision to account: for arbitrary documents
(exotic characters, empty keys, long strings, trailing newlines, YAML-lookalike strings, numbers)
``dump_yaml`` must equal the pure-Python emitter's output exactly -- so generated files never
depend on whether libyaml is installed, and renders stay byte-for-byte deterministic.
"""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.render import common

ALPHABET = st.one_of(
    st.sampled_from(list("abcXYZ019 :#-'\"\n|>{}[],&*!%@`?=~\\/.")),
    st.sampled_from(["  ", "\n\n", " \n", "é", "€", "ü", "\t", "\r", "\x85", "\u2028", "\ufeff", "😀", "\x00",
                     "\xa0", "\ud7ff", "\ue000", "\ufffd", "\x7f", "\u2029"]),
    st.characters(codec="utf-8"),
)
TEXT = st.lists(ALPHABET, max_size=12).map("".join)
LONG = st.builds(lambda unit, n: (unit * n)[:5000], st.text(alphabet="ab c:'\"\n", min_size=1, max_size=8),
                 st.integers(min_value=200, max_value=1200))
SCALARS = st.one_of(
    TEXT, LONG, TEXT.map(lambda t: t + "\n"), st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.sampled_from(["yes", "no", "null", "~", "", "1.31", "0o12", "0x1F", "1_000", "1e3", "on", "4.4.0", "<<"]),
)
NESTED = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)), max_leaves=20)
DOCS = st.one_of(st.dictionaries(TEXT, NESTED, max_size=5), st.lists(NESTED, max_size=4), SCALARS)


def _pure(doc) -> str:
    return yaml.dump(doc, Dumper=common._Dumper, **common._DUMP_OPTIONS)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCS)
def test_dump_yaml_equals_the_pure_python_emitter(doc) -> None:
    assert common.dump_yaml(doc) == _pure(doc)


def test_the_fast_path_is_taken_for_generated_files() -> None:
    """The examples' documents go through libyaml (else the speed-up would silently be lost)."""
    from pathlib import Path

    from generator.paths import RepoPaths
    from generator.render import render_environment
    from generator.validate.environments import validate
    from tests.conftest import REPO_ROOT

    if common._CDumper is None:  # pragma: no cover - PyYAML built without libyaml
        return
    seen = []
    original = common._same_in_both
    try:
        common._same_in_both = lambda obj: seen.append(original(obj)) or seen[-1]  # type: ignore[assignment]
        result = validate(RepoPaths(Path(REPO_ROOT)), ["dev"], files=False)
        render_environment(result.environments["dev"].context.model)
    finally:
        common._same_in_both = original  # type: ignore[assignment]
    assert seen and all(seen)
