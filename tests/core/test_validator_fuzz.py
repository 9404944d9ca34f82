"""Hypothesis fuzzing of the whole validation pipeline: load -> schema -> model -> checks -> render.

Valid specs (the committed examples) are mutated at the data level -- any node replaced by a random JSON
value or by a value that is valid elsewhere in a spec (to reach the semantic checks, not only the schema),
keys deleted, unknown keys inserted, lists shuffled or duplicated -- dumped to YAML and run in-process
through :func:`generator.validate.environments.validate` and :func:`generator.generate.plan` on a temporary
repository. Properties:

* nothing raises;
* every problem has a catalogued code, a message, a hint and a location in the spec with line >= 1;
* with no errors, rendering succeeds, is byte-identical when repeated, and after writing the files a
  second plan finds nothing to change;
* with errors, nothing is rendered.

Bounded: 150 examples, no deadline; a few seconds.
"""

from __future__ import annotations

import copy
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from generator import codes
from generator.generate import plan
from generator.paths import RepoPaths
from generator.problems import has_errors
from generator.validate.environments import validate
from generator.writer import apply_all

from .specs import dump, example_data, spec_path

EXAMPLES = {name: example_data(name) for name in ("dev", "prod")}
ENV = "fuzz"
#: Codes about files beside the spec (secrets/), which `validate` checks and `render` does not.
FILE_CODES = {"HG304", "HG305", "HG306", "HG307"}

#: Values that are valid *somewhere* in a spec: swapping them around reaches the semantic checks.
INTERESTING = [
    0, 1, 2, 3, 4, 10, 20, 29999, 30000, 30052, 30061, 32767, 32768, 1.0, 2.5, -1, True, False, None, "", " ",
    "dev", "prod", "fuzz", "staging", "production", "kube-system", "default", "latest", "4.4.0", "4.x", "^4.4.0",
    "us-east-1", "us-west-2", "us-east-1a", "us-east-1b", "us-west-2a", "0.0.0.0/0", "10.0.0.0/8",
    "553778890976", "210987654321", "vpc-4da21e37", "subnet-39a09073", "subnet-4388e824",
    "arn:aws:iam::553778890976:role/jupyter-hub-build", "arn:aws:iam::210987654321:role/x",
    "arn:aws:iam::553778890976:user/alice", "arn:aws:acm:us-west-2:553778890976:certificate/"
    "1f0e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "admin", "asf-pi", "host.example.org", "AWS_ACCESS_KEY_ID",
    "hunter2", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "dummy", "github", "generic-oauth", "password",  # pragma: allowlist secret
    "jupyter-dev", "10Gi", "build.23", "\u00e9t\u00e9", "a\nb", "~", "null", "yes", "0x1F", "1e3",
]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30), st.sampled_from(INTERESTING),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=12,
)


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, path + (i,))
    return out


def _get(node: Any, path: tuple) -> Any:
    for p in path:
        node = node[p]
    return node


def _same_type(a: Any, b: Any) -> bool:
    return type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                   and not isinstance(a, bool) and not isinstance(b, bool))


@st.composite
def mutated_specs(draw) -> dict:
    spec = copy.deepcopy(EXAMPLES[draw(st.sampled_from(sorted(EXAMPLES)))])
    spec["name"] = ENV
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(spec)[1:]  # not the root: arbitrary documents are test_arbitrary_bytes_as_spec's job
        path = draw(st.sampled_from(paths))
        parent, key = _get(spec, path[:-1]), path[-1]
        target = parent[key]
        op = draw(st.sampled_from(["replace", "swap", "swap", "swap", "delete", "insert", "shuffle", "duplicate"]))
        if op == "replace":
            parent[key] = draw(json_values)
        elif op == "swap":
            # A value that is valid *somewhere*, of the same type: reaches the semantic checks.
            candidates = [v for v in INTERESTING if _same_type(v, target)] or INTERESTING
            parent[key] = draw(st.sampled_from(candidates))
        elif op == "delete":
            del parent[key]
        elif op == "insert" and isinstance(target, dict):
            target[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
        elif op == "shuffle" and isinstance(target, list):
            random.Random(draw(st.integers(0, 2**16))).shuffle(target)
        elif op == "duplicate" and isinstance(target, list) and target:
            target.append(copy.deepcopy(target[draw(st.integers(0, len(target) - 1))]))
    return spec


def _fresh_repo() -> Path:
    root = Path(tempfile.mkdtemp(prefix="hubgen-fuzz-"))
    (root / "environments" / ENV).mkdir(parents=True)
    return root


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          database=None)
@given(spec=mutated_specs())
def test_mutated_specs_never_crash_and_valid_ones_render_deterministically(spec) -> None:
    root = _fresh_repo()
    try:
        (root / spec_path(ENV)).write_text(dump(spec), encoding="utf-8")
        repo = RepoPaths(root)
        validation = validate(repo, [ENV])
        result = plan(repo, [ENV])
        for p in validation.problems + result.problems:
            assert p.code in codes.CODES, p
            assert p.message and p.hint, p
            assert p.location.file == spec_path(ENV), p
            assert p.location.line >= 1 and p.location.column >= 1, p
            assert p.environment == ENV, p
        # render validates the spec like `validate` does (secret files aside: they are validate's job).
        spec_problems = {(p.code, p.location) for p in validation.problems if p.code not in FILE_CODES}
        assert spec_problems <= {(p.code, p.location) for p in result.problems}
        problems = result.problems
        for p in problems:
            event(f"problem {p.code}")
        event("renders" if not has_errors(problems) else "rejected")
        if has_errors(problems):
            assert not result.ok and result.files == {} and result.changes == []
            return
        assert result.ok, [str(p.location) + " " + p.code for p in result.problems]
        first = {f.path: f.content for f in result.files[ENV]}
        assert first
        again = plan(repo, [ENV])
        assert {f.path: f.content for f in again.files[ENV]} == first
        apply_all(repo, result.changes)
        after_write = plan(repo, [ENV])
        assert all(c.empty for c in after_write.changes), "a second render would change files"
        for path, content in first.items():
            assert (root / path).read_bytes() == content
    finally:
        shutil.rmtree(root, ignore_errors=True)


@settings(max_examples=40, deadline=None, database=None)
@given(data=st.binary(max_size=400) | st.text(max_size=200).map(lambda s: s.encode("utf-8")))
def test_arbitrary_bytes_as_spec_never_crash(data: bytes) -> None:
    root = _fresh_repo()
    try:
        (root / spec_path(ENV)).write_bytes(data)
        validation = validate(RepoPaths(root), [ENV])
        assert has_errors(validation.problems)  # a random byte string is never a complete spec
        for p in validation.problems:
            assert p.code in codes.CODES and p.location.line >= 1, p
    finally:
        shutil.rmtree(root, ignore_errors=True)
