"""Reading sops-encrypted secret files without decrypting them.

sops (with ``encrypted_regex: ^(data|stringData)$``) encrypts only the values under
``data``/``stringData``; everything a reviewer and hubgen need stays readable:
``kind``, ``metadata.name``/``namespace``, the key names under ``data``/``stringData``,
and the ``sops`` metadata block (recipients, KMS key ARNs, MAC). So every check here
works on the YAML structure alone - no sops binary, no keys.

An encrypted value looks like
``ENC[AES256_GCM,data:<base64>,iv:<base64>,tag:<base64>,type:str]``; anything else
under ``data``/``stringData`` is plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator import codes
from generator.problems import Location, Problem

#: Suffix of the files `hubgen secrets create` writes and `hubgen secrets check` expects.
SECRET_SUFFIX = ".secret.yaml"
#: Files in a secrets folder that Flux's kustomize-controller would apply (it generates a
#: kustomization of every manifest when the folder has none).
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
#: The only fields sops encrypts; everything else stays readable for review and checks.
ENCRYPTED_REGEX = "^(data|stringData)$"
SECRET_FIELDS = ("data", "stringData")
MAX_SECRET_FILE_BYTES = 1024 * 1024

ENC_RE = re.compile(r"^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,"
                    r"type:(?:str|int|float|bool|bytes|comment)\]$")
#: Key types a sops metadata block can list (sops 3.x field names).
KEY_TYPES = ("age", "kms", "pgp", "gcp_kms", "azure_kv", "hc_vault", "hckms")

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def is_encrypted_value(value: str) -> bool:
    return bool(ENC_RE.match(value))


@dataclass(frozen=True)
class SopsMeta:
    """The readable ``sops`` block of one document."""

    age_recipients: tuple[str, ...]
    kms_arns: tuple[str, ...]
    key_types: tuple[str, ...]  # every key type with at least one entry (key groups included)
    has_mac: bool
    encrypted_regex: str | None
    version: str | None

    @property
    def has_keys(self) -> bool:
        return bool(self.key_types)


@dataclass(frozen=True)
class SecretValue:
    """One entry under ``data``/``stringData`` (the value itself is never kept)."""

    field: str  # "data" or "stringData"
    key: str
    encrypted: bool
    line: int
    column: int


@dataclass
class SecretDoc:
    """One YAML document of a secret file."""

    index: int  # 0-based document number
    line: int
    column: int
    kind: str | None
    name: str | None
    namespace: str | None
    values: list[SecretValue] = field(default_factory=list)
    sops: SopsMeta | None = None
    #: Readable scalar leaves outside data/stringData and sops: (path, value, line, column).
    readable: list[tuple[tuple, str, int, int]] = field(default_factory=list)
    #: Whether kind/metadata themselves were encrypted (no encrypted_regex when encrypting).
    metadata_encrypted: bool = False

    @property
    def encrypted(self) -> bool:
        return self.sops is not None

    def describe(self) -> str:
        what = self.kind or "document"
        if self.name:
            what += f" {self.namespace + '/' if self.namespace else ''}{self.name}"
        return what

    def keys(self) -> set[str]:
        return {v.key for v in self.values}


@dataclass
class SecretFile:
    path: str  # repository-relative, POSIX
    docs: list[SecretDoc] = field(default_factory=list)
    #: HG306 problems: unreadable, not YAML, not a mapping, aliases...
    problems: list[Problem] = field(default_factory=list)


def _pos(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def _get(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return v
    return None


def _sops_meta(node: MappingNode) -> SopsMeta:
    def entries(kind: str, holder: Node | None) -> list[Node]:
        v = _get(holder, kind)
        return list(v.value) if isinstance(v, SequenceNode) else []

    age: list[str] = []
    kms: list[str] = []
    types: set[str] = set()
    holders: list[Node] = [node]
    groups = _get(node, "key_groups")
    if isinstance(groups, SequenceNode):
        holders.extend(groups.value)
    for holder in holders:
        for kind in KEY_TYPES:
            items = entries(kind, holder)
            if items:
                types.add(kind)
            for item in items:
                if kind == "age" and _scalar(_get(item, "recipient")):
                    age.append(_scalar(_get(item, "recipient")) or "")
                if kind == "kms" and _scalar(_get(item, "arn")):
                    kms.append(_scalar(_get(item, "arn")) or "")
    mac = _scalar(_get(node, "mac"))
    return SopsMeta(
        age_recipients=tuple(age),
        kms_arns=tuple(kms),
        key_types=tuple(k for k in KEY_TYPES if k in types),
        has_mac=bool(mac) and is_encrypted_value(mac or ""),
        encrypted_regex=_scalar(_get(node, "encrypted_regex")),
        version=_scalar(_get(node, "version")),
    )


def _leaves(node: Node, path: tuple):
    """(path, scalar node) of every scalar leaf below ``node``."""
    stack = [(path, node)]
    while stack:
        p, n = stack.pop()
        if isinstance(n, ScalarNode):
            yield p, n
        elif isinstance(n, MappingNode):
            for k, v in reversed(n.value):
                stack.append((p + (_scalar(k) if isinstance(k, ScalarNode) else "?",), v))
        elif isinstance(n, SequenceNode):
            for i, v in reversed(list(enumerate(n.value))):
                stack.append((p + (i,), v))


def _has_alias(root: Node) -> bool:
    """Whether a node is reachable twice (an alias): refused, it could expand exponentially."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            return True
        seen.add(id(n))
        if isinstance(n, MappingNode):
            for k, v in n.value:
                stack.extend((k, v))
        elif isinstance(n, SequenceNode):
            stack.extend(n.value)
    return False


def _document(index: int, root: Node) -> SecretDoc:
    line, col = _pos(root)
    kind = _scalar(_get(root, "kind"))
    meta = _get(root, "metadata")
    doc = SecretDoc(index, line, col, kind, _scalar(_get(meta, "name")), _scalar(_get(meta, "namespace")))
    doc.metadata_encrypted = any(v is not None and is_encrypted_value(v)
                                 for v in (kind, doc.name, doc.namespace))
    sops = _get(root, "sops")
    if isinstance(sops, MappingNode):
        doc.sops = _sops_meta(sops)
    for k, v in root.value:
        key = _scalar(k)
        if key == "sops":
            continue
        if key in SECRET_FIELDS and isinstance(v, MappingNode):
            for ek, ev in v.value:
                name = _scalar(ek) or "?"
                if isinstance(ev, ScalarNode):
                    el, ec = _pos(ev)
                    doc.values.append(SecretValue(key, name, is_encrypted_value(ev.value), el, ec))
                else:  # a collection where a string belongs: every leaf must be encrypted
                    leaves = list(_leaves(ev, ()))
                    el, ec = _pos(leaves[0][1]) if leaves else _pos(ev)
                    enc = bool(leaves) and all(is_encrypted_value(n.value) for _, n in leaves)
                    doc.values.append(SecretValue(key, name, enc, el, ec))
            continue
        for p, n in _leaves(v, (key,)):
            doc.readable.append((p, n.value, *_pos(n)))
    return doc


def read_secret_file(path: Path, relpath: str) -> SecretFile:
    """Read one secret file's structure; problems (HG306) instead of exceptions."""
    out = SecretFile(relpath)

    def fail(message: str, line: int = 1, col: int = 1) -> SecretFile:
        out.problems.append(codes.HG306.problem(message, Location(relpath, line, col)))
        return out

    try:
        if path.is_symlink():
            return fail(f"{relpath} is a symbolic link; keep secret files as regular files in the repository")
        size = path.stat().st_size
        if size > MAX_SECRET_FILE_BYTES:
            return fail(f"{relpath} is {size} bytes; a secret file is a few kilobytes (limit 1 MiB)")
        data = path.read_bytes()
    except OSError as e:
        return fail(f"cannot read {relpath}: {e.strerror or e}", 0, 0)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return fail(f"{relpath} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})")
    try:
        roots = list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return fail(f"not valid YAML: {e.problem or e.context or 'syntax error'}", line, col)
    except yaml.YAMLError as e:
        return fail(f"not valid YAML: {e}")
    except RecursionError:
        return fail("not valid YAML: nesting too deep")
    for index, root in enumerate(roots):
        if root is None or (isinstance(root, ScalarNode) and root.value == "" and root.tag.endswith(":null")):
            continue  # an empty document (e.g. a trailing ---)
        if _has_alias(root):
            return fail("YAML anchors and aliases are not allowed in secret files", *_pos(root))
        if not isinstance(root, MappingNode):
            line, col = _pos(root)
            out.problems.append(codes.HG306.problem(
                f"document {index + 1} is not a mapping; a secret file holds Kubernetes Secrets",
                Location(relpath, line, col)))
            continue
        out.docs.append(_document(index, root))
    return out


def secret_file_paths(root: Path, secrets_dir: str) -> list[str]:
    """Repository-relative paths of every manifest file below ``secrets_dir`` (sorted)."""
    base = root / secrets_dir
    if not base.is_dir():
        return []
    out = []
    for p in sorted(base.rglob("*")):
        if p.name.endswith(MANIFEST_SUFFIXES) and (p.is_file() or p.is_symlink()):
            out.append(f"{secrets_dir}/{p.relative_to(base).as_posix()}")
    return out
