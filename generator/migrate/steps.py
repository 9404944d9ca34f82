"""The migrations between spec versions: one :class:`Step` per version, applied in order.

A step from version n to n+1 is two pure functions that say the same thing twice:

* ``transform`` -- what the step means, on plain data (the loaded spec): the reference;
* ``rewrite`` -- the same change as an edit of the spec's text, keeping every comment and everything it
  does not need to touch (quoting, blank lines, key order, indentation).

:func:`generator.migrate.upgrade.migrate_text` runs ``rewrite``, stamps ``specVersion``, loads the result with
the project's strict loader and refuses to go on unless it equals ``transform`` of the data before: a
rewrite can never write a spec that means something else than its step says. Steps change the shape only;
decisions a new version asks for (a Kubernetes version EKS still supports, say) are the person's, and
`hubgen validate` reports them afterwards as usual.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable

from generator.migrate.document import BREAK_RE, Comment, Document, Node, comments


@dataclass(frozen=True)
class Step:
    """Spec version ``source`` -> ``source + 1``."""

    source: int
    title: str
    transform: Callable[[dict], dict]
    rewrite: Callable[[Document], str]
    notes: Callable[[dict], list[str]]

    @property
    def target(self) -> int:
        return self.source + 1


# --- version 1 -> 2: `cluster.nodes` becomes the core node group -----------------------------------------------

#: The fields of version 1's `cluster.nodes` (all required there).
V1_NODE_FIELDS = ("instanceType", "imageId", "minSize", "desiredCapacity", "maxSize", "volumeSize")
#: The core group's fields, in the order the upgrade writes them, each with the version 1 field it comes from.
#: desiredCapacity has no successor: no desired size is rendered anywhere, cluster-autoscaler owns it (a stack
#: update must not reset the size it chose), so it becomes a comment saying so.
CORE_GROUP_FIELDS: tuple[tuple[str | None, str], ...] = (
    ("instanceTypes", "instanceType"),
    ("minSize", "minSize"),
    ("maxSize", "maxSize"),
    (None, "desiredCapacity"),
    ("diskSize", "volumeSize"),
    ("imageId", "imageId"),
)
CORE_GROUP_NAME = "core"
DESIRED_COMMENT = ("# desiredCapacity: {value} dropped in spec version 2: cluster-autoscaler sizes the group "
                   "between minSize and maxSize.")
IMAGE_COMMENT = "# kept: pins the AMI as before (it must match kubernetesVersion; remove it to use AWS's)"
#: The authentication mode every version 1 cluster ran (its template fixed it). Version 2's default is API, and a
#: running cluster cannot go back from API: the step writes the mode down so the upgraded spec renders the same
#: cluster; moving to API is the person's decision.
V1_AUTHENTICATION_MODE = "API_AND_CONFIG_MAP"
MODE_COMMENT = "# what spec version 1 clusters ran; moving to API is one way (docs/platform.md)"


def _nodes_to_node_groups(spec: dict) -> dict:
    """The plain-data meaning of the step: ``cluster.nodes`` replaced, at its place, by ``cluster.nodeGroups``
    holding one core group with the same instance type, sizes, disk and AMI; and the authentication mode
    version 1 clusters ran written down (``cluster.authenticationMode``)."""
    out = copy.deepcopy(spec)
    cluster = out.get("cluster")
    if not isinstance(cluster, dict):
        return out
    if isinstance(cluster.get("nodes"), dict):
        nodes = cluster["nodes"]
        group: dict[str, Any] = {"name": CORE_GROUP_NAME, "purpose": "core"}
        for new, old in CORE_GROUP_FIELDS:
            if new is not None and old in nodes:
                group[new] = [nodes[old]] if new == "instanceTypes" else nodes[old]
        cluster = {("nodeGroups" if k == "nodes" else k): ([group] if k == "nodes" else v)
                   for k, v in cluster.items()}
    cluster.setdefault("authenticationMode", V1_AUTHENTICATION_MODE)
    out["cluster"] = cluster
    return out


def _notes_1_to_2(spec: dict) -> list[str]:
    cluster = spec.get("cluster")
    if not isinstance(cluster, dict):
        return []
    out = []
    if "authenticationMode" not in cluster:
        out.append(f"authenticationMode {V1_AUTHENTICATION_MODE} written down: what spec version 1 clusters ran "
                   f"(version 2's default, API, is a one-way change for a running cluster; see docs/platform.md)")
    nodes = cluster.get("nodes")
    if not isinstance(nodes, dict):
        return out
    if "desiredCapacity" in nodes:
        out.append(f"desiredCapacity {nodes['desiredCapacity']} dropped: cluster-autoscaler sets the size between "
                   f"minSize and maxSize")
    if "imageId" in nodes:
        out.append(f"imageId {nodes['imageId']} kept: the core nodes still run this AMI, which must match "
                   f"kubernetesVersion (remove it to use the one AWS publishes for the version)")
    return out


@dataclass
class _Field:
    """One entry of version 1's nodes block and the comments that travel with it."""

    name: str
    key: Node
    value: Node
    above: list[Comment] = field(default_factory=list)  # own-line comments before it
    trailing: list[Comment] = field(default_factory=list)  # comments after it on its lines


_Edit = tuple  # (start, end, replacement): the text between start and end becomes replacement


def _rewrite_1_to_2(doc: Document) -> str:
    """Two edits, the rest of the text untouched: the text of ``cluster.nodes`` becomes a ``nodeGroups`` block
    in its place, and an ``authenticationMode`` line follows ``kubernetesVersion``."""
    edits: list[_Edit] = []
    nodes = _node_groups_edit(doc)
    if nodes is not None:
        edits.append(nodes)
    mode = _authentication_mode_edit(doc, nodes)
    if mode is not None:
        edits.append(mode)
    text = doc.text
    for start, end, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _node_groups_edit(doc: Document) -> _Edit | None:
    """Replace the text of ``cluster.nodes`` by a ``nodeGroups`` block, in place.

    Comments inside the block travel with the field they stand above or beside; comments after its last
    field (indented like its fields) end the new block; comments above ``nodes:`` stay where they are."""
    found = _nodes_block(doc)
    if found is None:
        return None
    cluster_key, key, nodes = found
    start = doc.line_start(key.start)
    k = key.start - start
    end = _block_end(doc, nodes, k)
    fields = {k_node.value: _Field(k_node.value, k_node, v_node) for k_node, v_node in nodes.entries}
    scalars = [key, *nodes.scalars()]
    header = _attach_comments(doc, comments(doc, start, end, scalars), key, list(fields.values()))
    step = _indent_step(doc, nodes, k, cluster_key)
    block = doc.newline().join(_core_group_lines(doc, fields, header, k, step))
    return start, end, _lines_for(doc, start, end, block)


def _lines_for(doc: Document, start: int, end: int, lines: str) -> str:
    """``lines`` as the replacement of the text from ``start`` (the start of a line, or the end of the text) to
    ``end``: ending with a line break, unless they end a text that has none at its end."""
    text, nl = doc.text, doc.newline()
    if end == len(text) and text and not BREAK_RE.search(text[-1]):
        return (nl if start > doc.line_start(start) else "") + lines
    return lines + nl


def _authentication_mode_edit(doc: Document, nodes: _Edit | None) -> _Edit | None:
    """Insert ``authenticationMode: API_AND_CONFIG_MAP`` into a cluster that has no mode: after
    ``kubernetesVersion`` (where the schema lists it), else after the cluster's last entry."""
    cluster = doc.data.get("cluster") if isinstance(doc.data, dict) else None
    if not isinstance(cluster, dict) or "authenticationMode" in cluster:
        return None
    _, node = doc.root.entry("cluster")  # type: ignore[misc]
    if node.flow or not node.entries:
        raise doc.refuse(("cluster",), "cluster is written in flow style ({...}): hubgen upgrade rewrites it only "
                                       "as a block mapping")
    key, value = node.entry("kubernetesVersion") or node.entries[-1]
    if doc.text[doc.line_start(key.start):key.start].strip(" "):
        raise doc.refuse(("cluster", key.value), f"cluster.{key.value} is not written at the start of its line, "
                                                 "which is what hubgen upgrade rewrites")
    at = _block_end(doc, value, doc.column(key.start))  # after its value and the comments inside it
    if nodes is not None and nodes[0] <= at < nodes[1]:
        at = nodes[1]  # the entry is the nodes block itself: after the new block
    line = f"{' ' * doc.column(key.start)}authenticationMode: {V1_AUTHENTICATION_MODE}  {MODE_COMMENT}"
    return at, at, _lines_for(doc, at, at, line)


def _nodes_block(doc: Document) -> tuple[Node, Node, Node] | None:
    """(the `cluster` key, the `nodes` key, its value) when the spec has a version 1 nodes block; None when it
    has none (nothing to move). Raises MigrationError for one the upgrade cannot rewrite by itself."""
    data = doc.data
    cluster = data.get("cluster") if isinstance(data, dict) else None
    if not isinstance(cluster, dict) or "nodes" not in cluster:
        return None
    cluster_key, cluster_node = doc.root.entry("cluster")  # type: ignore[misc]
    if cluster_node.flow:
        raise doc.refuse(("cluster",), "cluster is written in flow style ({...}): hubgen upgrade rewrites "
                                       "cluster.nodes only in a block mapping")
    if "nodeGroups" in cluster:
        raise doc.refuse(("cluster", "nodeGroups"), "cluster has both nodes (spec version 1) and nodeGroups "
                                                    "(version 2): keep one of them",
                         hint="Remove cluster.nodes if nodeGroups already describes the nodes, or remove "
                              "nodeGroups and let `hubgen upgrade` write it from nodes.")
    key, nodes = cluster_node.entry("nodes")  # type: ignore[misc]
    if doc.text[doc.line_start(key.start):key.start].strip(" "):
        raise doc.refuse(("cluster", "nodes"), "cluster.nodes is not written as `nodes:` at the start of its "
                                               "line, which is what hubgen upgrade rewrites")
    if nodes.kind != "mapping":
        raise doc.refuse(("cluster", "nodes"), "cluster.nodes is not a mapping of the version 1 fields ("
                                               f"{', '.join(V1_NODE_FIELDS)})")
    for k_node, v_node in nodes.entries:
        if k_node.value not in V1_NODE_FIELDS:
            raise doc.refuse(("cluster", "nodes", k_node.value),
                             f"cluster.nodes.{k_node.value} is not a field of spec version 1 "
                             f"({', '.join(V1_NODE_FIELDS)}), so the upgrade does not know where it goes",
                             hint="Fix its spelling or remove it, then run `hubgen upgrade` again.")
        if v_node.kind != "scalar":
            raise doc.refuse(("cluster", "nodes", k_node.value),
                             f"cluster.nodes.{k_node.value} is a {v_node.kind}, not a single value",
                             hint="Write the single value version 1 expects, then run `hubgen upgrade` again.")
    return cluster_key, key, nodes


def _block_end(doc: Document, nodes: Node, k: int) -> int:
    """Where the nodes block's text ends: after the line of its last value, and after the comment lines
    that follow it indented deeper than ``nodes:`` (they are inside the block); blank lines after the
    block, and comments at the level of the next key, belong to what follows."""
    text = doc.text
    end = doc.next_line(doc.content_end(nodes))
    pos = end
    while pos < len(text):
        line = text[pos:doc.line_end(pos)]
        body = line.lstrip(" ")
        if body and not (body.startswith("#") and len(line) - len(body) > k):
            break
        pos = doc.next_line(pos)
        if body:
            end = pos
    return end


def _attach_comments(doc: Document, found: list[Comment], key: Node, fields: list[_Field]) -> list[Comment]:
    """Give each comment of the block to a field: an own-line comment to the field after it, a comment at a
    line's end to the field on that line. Returns the comments of the `nodes:` line itself and those after
    the last field (both stay with the block as a whole); the first of them is the header's if it trails."""
    header_line = doc.line_of(key.start)
    header: list[Comment] = []
    tail: list[Comment] = []
    for c in found:
        line = doc.line_of(c.start)
        if c.own_line:
            after = [f for f in fields if doc.line_of(f.key.start) > line]
            (after[0].above if after else tail).append(c)
            continue
        if line == header_line:
            header.append(c)
            continue
        ending = [f for f in fields if doc.line_of(doc.content_end(f.value)) == line] or \
                 [f for f in fields if doc.line_of(f.key.start) == line]
        if ending:
            ending[-1].trailing.append(c)
        else:
            header.append(c)
    return header + tail


def _indent_step(doc: Document, nodes: Node, k: int, cluster_key: Node) -> int:
    """The file's indentation step: how far the nodes fields stand in from `nodes:` (for a flow mapping, how
    far `nodes:` stands in from `cluster:`); 2 when neither says."""
    if not nodes.flow and nodes.entries:
        return doc.column(nodes.entries[0][0].start) - k
    inner = k - doc.column(cluster_key.start)
    return inner if inner > 0 else 2


def _core_group_lines(doc: Document, fields: dict[str, _Field], block_comments: list[Comment], k: int,
                      step: int) -> list[str]:
    """The new block's lines: `nodeGroups:`, the core group's fields in CORE_GROUP_FIELDS order, each with its
    comments, then the block's own trailing comments."""
    pad = " " * (k + step + 2)
    old_col = _old_field_column(doc, fields)
    header = [c for c in block_comments if not c.own_line]
    first = f"{' ' * k}nodeGroups:" + (_gap(doc, header[0]) + header[0].text if header else "")
    lines = [first, f"{' ' * (k + step)}- name: {CORE_GROUP_NAME}", f"{pad}purpose: core"]
    lines += [pad + c.text for c in header[1:]]
    for new, old in CORE_GROUP_FIELDS:
        f = fields.get(old)
        if f is None:
            continue
        lines += [_reindent(doc, c, pad, old_col) for c in f.above]
        if new is None:  # desiredCapacity: a comment saying why it is gone, after the field's own comments
            lines += [pad + c.text for c in f.trailing]
            lines.append(pad + DESIRED_COMMENT.format(value=_value_text(doc, f.value)))
            continue
        value = _value_text(doc, f.value, flow=new == "instanceTypes")
        line = f"{pad}{new}:" + (f" [{value}]" if new == "instanceTypes" else (f" {value}" if value else ""))
        trailing = list(f.trailing)
        if new == "imageId":
            if trailing:
                lines.append(pad + IMAGE_COMMENT)
            else:
                line += "  " + IMAGE_COMMENT
        if trailing:
            lines += [pad + c.text for c in trailing[1:]]
            line += _gap(doc, trailing[0]) + trailing[0].text
        lines.append(line)
    lines += [_reindent(doc, c, pad, old_col) for c in block_comments if c.own_line]
    return lines


def _old_field_column(doc: Document, fields: dict[str, _Field]) -> int | None:
    columns = [doc.column(f.key.start) for f in fields.values()]
    return min(columns) if columns else None


def _reindent(doc: Document, c: Comment, pad: str, old_col: int | None) -> str:
    """An own-line comment at the new fields' indentation, keeping how much deeper than the old fields it was."""
    deeper = max(0, doc.column(c.start) - old_col) if old_col is not None else 0
    return pad + " " * deeper + c.text


def _gap(doc: Document, c: Comment) -> str:
    """The spaces between a trailing comment and what it follows (at least one)."""
    before = doc.text[doc.line_start(c.start):c.start]
    return before[len(before.rstrip(" ")):] or " "


def _value_text(doc: Document, node: Node, *, flow: bool = False) -> str:
    """A scalar's text as written when it fits on one line (in a flow sequence: when it has no flow
    indicator), else its value double-quoted; "null" for an empty value in a flow sequence."""
    raw = doc.text[node.start:doc.content_end(node)]
    if not raw:
        return "null" if flow else ""
    one_line = not BREAK_RE.search(raw) and node.style not in ("|", ">")
    if one_line and (not flow or node.style in ("'", '"') or not any(ch in raw for ch in ",[]{}")):
        return raw
    return quoted(node.value or "")


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quoted(value: str) -> str:
    """``value`` as a YAML double-quoted scalar of printable ASCII (escapes for everything else)."""
    out = ['"']
    for ch in value:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif 0x20 <= o < 0x7F:
            out.append(ch)
        elif o <= 0xFF:
            out.append(f"\\x{o:02x}")
        elif o <= 0xFFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


#: Every migration, in order: STEPS[n - 1] upgrades version n to n + 1.
STEPS: tuple[Step, ...] = (
    Step(1, f"cluster.nodes became the node group `{CORE_GROUP_NAME}` (purpose core) in cluster.nodeGroups, "
            f"authenticationMode {V1_AUTHENTICATION_MODE} written down, specVersion added",
         _nodes_to_node_groups, _rewrite_1_to_2, _notes_1_to_2),
)
