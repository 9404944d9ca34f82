"""Property tests of the version 1 -> 2 migration on generated version 1 specs: any values in the nodes block, its
fields in any order, comments above, beside, inside and after it, either indentation step, LF or CRLF, with or
without a final line break and an explicit `specVersion: 1`, the block anywhere in `cluster` (the file's end
included). Whatever the layout, the upgrade

* gives text the project's loader reads, whose `cluster.nodeGroups` is the one core group holding the old values,
  whose `cluster.authenticationMode` is the one version 1 clusters ran, and whose every other value is unchanged;
* keeps every comment, and every line outside the nodes block, in order;
* is idempotent: upgrading the result again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.loader import load_yaml_text
from generator.migrate.steps import V1_NODE_FIELDS
from generator.migrate.upgrade import migrate_text

PROPERTIES = settings(max_examples=150, deadline=None, database=None)

INSTANCE_TYPES = ("m5.xlarge", "m6i.2xlarge", "t3.medium", "c7g.large", "g5.xlarge", "r6a.4xlarge")
COMMENT_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 .,:-'\"#[]{}", max_size=24)


@dataclass
class Generated:
    text: str
    nodes: dict
    comments: list[str]  # every comment written, as written
    outside: list[str]  # the lines outside the nodes block, in order


def _scalar(value, style: str) -> str:
    if isinstance(value, int):
        return str(value)
    return {"plain": value, "single": f"'{value}'", "double": f'"{value}"'}[style]


@st.composite
def v1_specs(draw) -> Generated:
    step = draw(st.sampled_from([2, 4]))
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    counter = iter(range(1000))

    def comment() -> str | None:
        if not draw(st.booleans()):
            return None
        return f"# c{next(counter)} {draw(COMMENT_TEXT)}".rstrip()

    values = {
        "instanceType": draw(st.sampled_from(INSTANCE_TYPES)),
        "imageId": "ami-" + draw(st.sampled_from(["0c2b8ca1", "0c2b8ca1dad447f8a", "0123456789abcdef0"])),  # pragma: allowlist secret
        "minSize": draw(st.integers(0, 1000)), "desiredCapacity": draw(st.integers(0, 1000)),
        "maxSize": draw(st.integers(1, 1000)), "volumeSize": draw(st.integers(20, 16384)),
    }
    order = draw(st.permutations(V1_NODE_FIELDS))
    present = [f for f in order if f not in ("imageId", "desiredCapacity") or draw(st.booleans())]
    nodes = {f: values[f] for f in present}
    comments: list[str] = []
    i1, i2 = " " * step, " " * (2 * step)

    def keep(c: str | None, line: str) -> str:
        if c is not None:
            comments.append(c)
        return line

    block: list[str] = []
    above = comment()
    if above:
        block.append(keep(above, f"{i1}{above}"))
    header = comment()
    block.append(keep(header, f"{i1}nodes:" + (f"  {header}" if header else "")))
    for f in present:
        c = comment()
        if c:
            block.append(keep(c, f"{i2}{c}"))
        style = draw(st.sampled_from(["plain", "single", "double"]))
        trailing = comment()
        block.append(keep(trailing, f"{i2}{f}: {_scalar(nodes[f], style)}" + (f" {trailing}" if trailing else "")))
    for _ in range(draw(st.integers(0, 2))):
        c = comment()
        if c:
            block.append(keep(c, f"{i2}{' ' * draw(st.integers(0, 2))}{c}"))
    after = comment()
    others = [[f"{i1}stackName: jupyter-dev"], [f"{i1}vpcId: vpc-4da21e37"],
              [f"{i1}loadBalancer:", f"{i2}certificateArn: arn:aws:acm:us-east-1:553778890976:certificate/x"]]
    at = draw(st.integers(0, len(others)))
    tail = ([""] if draw(st.booleans()) else []) + ([keep(after, f"{i1}{after}")] if after else [])
    explicit = ["specVersion: 1"] if draw(st.booleans()) else []  # version 1 said so, or (usually) said nothing
    hubs = ["hubs: []"]
    first, last = (hubs, []) if draw(st.booleans()) else ([], hubs)  # cluster last: the block may end the file
    before_lines = ["# header", "name: dev", *explicit, *first, "cluster:"] + [line for o in others[:at] for line in o]
    after_lines = tail + [line for o in others[at:] for line in o] + last
    if above:  # the comment above `nodes:` is outside the block
        before_lines.append(block.pop(0))
    text = nl.join(before_lines + block + after_lines) + draw(st.sampled_from([nl, ""]))
    outside = [line for line in before_lines + after_lines if line not in explicit]
    return Generated(text, nodes, comments, outside)


def _load(text: str) -> dict:
    loaded = load_yaml_text(text.encode("utf-8"), "environment.yaml")
    assert not loaded.problems, [p.message for p in loaded.problems]
    return loaded.data


@PROPERTIES
@given(v1_specs())
def test_upgrade_keeps_meaning_comments_and_layout_and_is_idempotent(spec: Generated) -> None:
    before = _load(spec.text)
    out = migrate_text(spec.text).text
    after = _load(out)
    group = {"name": "core", "purpose": "core", "instanceTypes": [spec.nodes["instanceType"]]}
    for new, old in (("minSize", "minSize"), ("maxSize", "maxSize"), ("diskSize", "volumeSize"),
                     ("imageId", "imageId")):
        if old in spec.nodes:
            group[new] = spec.nodes[old]
    assert after["cluster"].pop("nodeGroups") == [group]
    assert after["cluster"].pop("authenticationMode") == "API_AND_CONFIG_MAP"
    assert after.pop("specVersion") == 2
    before.pop("specVersion", None)
    del before["cluster"]["nodes"]
    assert after == before
    for c in spec.comments:
        assert out.count(c) >= spec.text.count(c), c
    lines = out.replace("\r\n", "\n").split("\n")
    assert lines.count("") <= spec.text.replace("\r\n", "\n").split("\n").count(""), "a blank line was added"
    it = iter(lines)
    assert all(any(line == o for o in it) for line in spec.outside), "a line outside the nodes block changed"
    if "\r\n" in spec.text:
        assert "\n" not in out.replace("\r\n", ""), "line endings changed"
    again = migrate_text(out)
    assert again.text == out and again.steps == []
