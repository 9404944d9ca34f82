"""Creating sops-encrypted secret files (``hubgen secrets create``).

The plaintext manifest only ever exists in this process's memory and in the pipe
to sops's standard input: it is never written to disk, inside the repository or
anywhere else. sops picks the keys from the repository's ``.sops.yaml`` creation
rules (``--filename-override`` names the target path, so ``path_regex`` applies);
``--encrypted-regex ^(data|stringData)$`` is always passed so that names,
namespaces and keys stay reviewable whatever the rule says. The encrypted output
is verified (every value encrypted, the plaintext nowhere in it) before it
atomically replaces the target file.
"""

from __future__ import annotations

import json
import os
import re
import secrets as _random
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from generator.paths import ENVIRONMENTS_DIR, SECRETS_DIR
from generator.secrets.files import ENCRYPTED_REGEX, read_secret_file
from generator.secrets.inventory import Requirement
from generator.secrets.tools import find_tool

SOPS_CONFIG = ".sops.yaml"
#: sops reads these to override the creation rules' keys; hubgen always uses the rules.
_KEY_OVERRIDE_VARS = ("SOPS_AGE_RECIPIENTS", "SOPS_KMS_ARN", "SOPS_PGP_FP", "SOPS_GCP_KMS_IDS",
                      "SOPS_AZURE_KEYVAULT_URLS", "SOPS_VAULT_URIS", "SOPS_HUAWEICLOUD_KMS_IDS")
SOPS_TIMEOUT = 120


class SopsError(Exception):
    """sops failed or produced something that is not a properly encrypted file."""


def random_value() -> str:
    """A fresh random secret: 32 bytes from the OS CSPRNG, URL-safe base64 (43 characters)."""
    return _random.token_urlsafe(32)


@dataclass(frozen=True)
class Encrypted:
    text: str
    age_recipients: tuple[str, ...]
    kms_arns: tuple[str, ...]


def secret_manifest(requirements: list[Requirement], values: dict[tuple[str, str], str]) -> str:
    """The plaintext YAML of the Secrets holding ``values`` ((secret name, key) -> value), one per name."""
    docs = []
    by_name: dict[tuple[str, str], dict[str, str]] = {}
    for r in requirements:
        by_name.setdefault((r.namespace, r.name), {})[r.key] = values[(r.name, r.key)]
    for (namespace, name), data in by_name.items():
        docs.append({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "hubgen"}},
            "type": "Opaque",
            "stringData": data,
        })
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, width=4096)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _KEY_OVERRIDE_VARS}
    env.setdefault("SOPS_DISABLE_VERSION_CHECK", "1")
    return env


def encrypt(root: Path, relpath: str, plaintext: str, secret_values: list[str]) -> Encrypted:
    """Encrypt ``plaintext`` for ``relpath`` (repository-relative) with the repository's creation rules."""
    config = root / SOPS_CONFIG
    if not config.is_file():
        raise SopsError(f"no {SOPS_CONFIG} at the repository root ({root}); it holds the creation rules that say "
                        "which KMS keys / age recipients secret files are encrypted for (see docs/secrets.md)")
    sops = find_tool("sops", root)
    cmd = [str(sops), "--config", str(config), "encrypt", "--encrypted-regex", ENCRYPTED_REGEX,
           "--filename-override", relpath, "--input-type", "yaml", "--output-type", "yaml"]
    try:
        proc = subprocess.run(cmd, input=plaintext, capture_output=True, text=True, cwd=root, env=_env(),
                              timeout=SOPS_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as e:
        raise SopsError(f"sops did not finish within {SOPS_TIMEOUT} s (is a KMS endpoint unreachable?)") from e
    except OSError as e:
        raise SopsError(f"cannot run {sops}: {e.strerror or e}") from e
    if proc.returncode != 0:
        detail = _redact(proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}", secret_values)
        if "no matching creation rules" in detail:
            detail += (f"\n{SOPS_CONFIG} has no creation rule whose path_regex matches {relpath}; add one "
                       "(see docs/secrets.md)")
        raise SopsError(f"sops could not encrypt {relpath}:\n{detail}")
    text = proc.stdout
    return _verified(root, relpath, text, secret_values)


def _redact(text: str, values: list[str]) -> str:
    for v in values:
        if v:
            text = text.replace(v, "<redacted>")
    return text


def _verified(root: Path, relpath: str, text: str, secret_values: list[str]) -> Encrypted:
    if any(v and v in text for v in secret_values):
        raise SopsError(f"sops output for {relpath} contains a secret value in plain text; nothing was written")
    with tempfile.TemporaryDirectory(prefix="hubgen-verify-") as d:
        probe = Path(d) / "probe.secret.yaml"
        probe.write_text(text, encoding="utf-8")  # ciphertext only
        f = read_secret_file(probe, relpath)
    if f.problems or not f.docs:
        raise SopsError(f"sops output for {relpath} is not a readable YAML file; nothing was written")
    age: list[str] = []
    kms: list[str] = []
    for doc in f.docs:
        if doc.sops is None or not doc.sops.has_mac or not doc.sops.has_keys:
            raise SopsError(f"sops output for {relpath} lacks complete sops metadata; nothing was written")
        if not all(v.encrypted for v in doc.values) or doc.metadata_encrypted:
            raise SopsError(f"sops output for {relpath} is not encrypted as {ENCRYPTED_REGEX} requires; "
                            "nothing was written")
        age.extend(a for a in doc.sops.age_recipients if a not in age)
        kms.extend(k for k in doc.sops.kms_arns if k not in kms)
    return Encrypted(text, tuple(age), tuple(kms))


def write_secret_file(root: Path, relpath: str, text: str) -> None:
    """Replace the secret file ``relpath`` (under an environment's secrets/ folder) atomically and
    durably, never through a symbolic link (Refused) and nowhere else."""
    from generator.safefs import Confined

    def allowed(rel: str) -> bool:
        parts = rel.split("/")
        return len(parts) == 4 and parts[0] == ENVIRONMENTS_DIR and parts[2] == SECRETS_DIR

    Confined(root, allowed, what="hubgen secrets", fsync=True).write(relpath, text.encode("utf-8"))


# --- .sops.yaml creation rules: reading them, and adding one for a new environment -----------------------------------
#
# `hubgen new` adds a creation rule for the new environment's secret files, with the recipients of the rule that
# encrypts the source environment's (--from) or of the repository's only recipient set. The file is a person's:
# its comments and layout are kept, the rule is inserted as text (a copy of the model rule's lines with only its
# path_regex changed), never by dumping a re-parsed YAML document.

#: Keys of a creation rule that say who can decrypt (everything else -- path_regex, encrypted_regex -- is not).
RECIPIENT_KEYS = ("kms", "aws_profile", "age", "pgp", "gcp_kms", "azure_keyvault", "hc_vault_transit_uri", "hckms",
                  "key_groups", "shamir_threshold")


class SopsConfigError(Exception):
    """.sops.yaml is missing, unreadable, malformed or has no usable rule; the message says which and why."""


@dataclass(frozen=True)
class CreationRule:
    """One entry of ``creation_rules``, with where its lines are in the file."""

    index: int  # 0-based position in creation_rules
    data: dict
    first_line: int  # 0-based line of its "- " entry
    last_line: int  # 0-based line where its last value ends (inclusive)
    dash_column: int
    #: (start, end) character offsets of the path_regex value's text, None when the rule has no path_regex.
    regex_span: tuple[int, int] | None

    @property
    def path_regex(self) -> str | None:
        value = self.data.get("path_regex")
        return None if value is None else str(value)

    def matches(self, relpath: str) -> bool:
        """Whether sops applies this rule to ``relpath`` (no path_regex: every file)."""
        if self.path_regex is None:
            return True
        try:
            return re.search(self.path_regex, relpath) is not None
        except re.error:
            return False

    @property
    def recipients(self) -> tuple:
        """Who can decrypt what this rule encrypts, normalised for comparison (list order and spacing aside)."""
        out = []
        for key in RECIPIENT_KEYS:
            if key in self.data and self.data[key] not in (None, "", []):
                out.append((key, _normalised(self.data[key])))
        return tuple(out)

    def describe(self) -> str:
        regex = f"path_regex {self.path_regex}" if self.path_regex is not None else "no path_regex (every file)"
        return f"creation rule #{self.index + 1} ({regex})"


def _normalised(value):
    if isinstance(value, str):
        return tuple(sorted(v.strip() for v in value.split(",") if v.strip()))
    if isinstance(value, list):
        return tuple(sorted((repr(_normalised(v)) for v in value)))
    if isinstance(value, dict):
        return tuple(sorted((str(k), repr(_normalised(v))) for k, v in value.items()))
    return (str(value),)


def read_sops_config(root: Path) -> str:
    """The text of ``root/.sops.yaml``, read without following a symbolic link; SopsConfigError says why not."""
    from generator.safefs import Refused, read_file

    try:
        data = read_file(root, SOPS_CONFIG)
    except Refused as e:
        raise SopsConfigError(f"{SOPS_CONFIG} cannot be used: {e}") from None
    except OSError as e:
        raise SopsConfigError(f"{SOPS_CONFIG} cannot be read: {e.strerror or e}") from None
    if data is None:
        raise SopsConfigError(f"there is no {SOPS_CONFIG} at the repository root; it holds the creation rules that "
                              "say which keys secret files are encrypted for (see docs/secrets.md)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SopsConfigError(f"{SOPS_CONFIG} is not UTF-8 text") from None


def creation_rules(text: str) -> list[CreationRule]:
    """The creation rules of a .sops.yaml text, with their positions; SopsConfigError when it has none usable."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise SopsConfigError(f"{SOPS_CONFIG} is not valid YAML{where}: {problem}") from None
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise SopsConfigError(f"{SOPS_CONFIG} is not a YAML mapping with a creation_rules list")
    node = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "creation_rules"), None)
    rules = data.get("creation_rules")
    if node is None or not isinstance(rules, list) or not isinstance(node, yaml.SequenceNode):
        raise SopsConfigError(f"{SOPS_CONFIG} has no creation_rules list")
    if not rules:
        raise SopsConfigError(f"{SOPS_CONFIG} has an empty creation_rules list")
    out = []
    lines = text.splitlines(keepends=True)
    for i, (item, rule) in enumerate(zip(node.value, rules)):
        if not isinstance(item, yaml.MappingNode) or not isinstance(rule, dict) or not item.value:
            raise SopsConfigError(f"{SOPS_CONFIG}: creation rule #{i + 1} (line {item.start_mark.line + 1}) is not "
                                  "a mapping")
        last = _last_scalar(item).end_mark  # a block collection's own end mark lies past comments after it
        last_line = last.line if last.column > 0 else last.line - 1
        first_line = item.start_mark.line
        before = lines[first_line][: item.start_mark.column] if first_line < len(lines) else ""
        block = node.flow_style is False and item.flow_style is False and re.fullmatch(r"[ ]*-[ ]+", before)
        regex_span = None
        for k, v in item.value:
            if isinstance(k, yaml.ScalarNode) and k.value == "path_regex":
                regex_span = (v.start_mark.index, v.end_mark.index)
        out.append(CreationRule(i, rule, first_line, last_line, before.index("-") if block else -1, regex_span))
    return out


def _last_scalar(node: yaml.Node) -> yaml.Node:
    """The node whose end is where ``node``'s text ends: its last scalar, or a flow collection as a whole."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        node = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
    return node


def first_match(rules: list[CreationRule], relpath: str) -> CreationRule | None:
    """The rule sops applies to ``relpath``: the first that matches."""
    return next((r for r in rules if r.matches(relpath)), None)


@dataclass(frozen=True)
class RuleEdit:
    """The result of planning a creation rule for a new environment."""

    text: str | None  # the new .sops.yaml text; None: nothing to write
    note: str  # what was done, or what a person must do


def add_environment_rule(text: str, new_env: str, new_files: list[str], *, model: CreationRule,
                         model_env: str | None, existing_files: list[str], origin: str,
                         append: bool = False) -> RuleEdit:
    """A .sops.yaml text where ``new_files`` (the new environment's secret files) are encrypted for ``model``'s
    recipients: a copy of ``model``'s lines with a path_regex for the new environment, inserted right after
    ``model`` (``append``: after the last rule) or, when a rule that would match the new files comes first (a
    catch-all), just before that rule -- sops applies the first rule that matches.

    ``existing_files``: the repository's other secret files; they must keep the rule they have. Raises
    SopsConfigError when the file's layout does not allow a textual edit (the message shows the rule to add).
    """
    rules = creation_rules(text)
    current = first_match(rules, new_files[0])
    if current is not None and all(first_match(rules, f) is current for f in new_files) \
            and current.recipients == model.recipients:
        return RuleEdit(None, f"{SOPS_CONFIG}: {current.describe()} already encrypts environments/{new_env}/secrets/ "
                              "for the same keys; nothing to add")
    regex, raw = _new_regex(text, model, model_env, new_env, new_files)
    snippet = f"  - path_regex: {raw}\n" + "".join(
        f"    {k}: {json.dumps(model.data[k]) if not isinstance(model.data[k], str) else model.data[k]}\n"
        for k in model.data if k != "path_regex")
    if model.dash_column < 0:
        raise SopsConfigError(f"{SOPS_CONFIG} writes its creation rules in flow style, which hubgen does not edit; "
                              f"add this rule before any rule that matches {new_files[0]}:\n{snippet}")
    nl = "\r\n" if "\r\n" in text else "\n"  # the file's own line ends
    lines = text.splitlines(keepends=True)
    block = lines[model.first_line: model.last_line + 1]
    if block and not block[-1].endswith(("\n", "\r")):
        block[-1] += nl
    block_text = "".join(block)
    start_offset = sum(len(line) for line in lines[: model.first_line])
    if model.regex_span is not None:
        a, b = model.regex_span[0] - start_offset, model.regex_span[1] - start_offset
        block_text = block_text[:a] + raw + block_text[b:]
    else:
        pad = " " * model.dash_column
        first_nl = block_text.index("\n") + 1 if "\n" in block_text else len(block_text)
        first = block_text[:first_nl]
        dash = model.dash_column
        item_col = len(first) - len(first[dash + 1:].lstrip(" "))
        dash_line = pad + "-" + " " * (item_col - dash - 1) + f"path_regex: {raw}{nl}"  # keys stay aligned
        block_text = dash_line + " " * item_col + first[item_col:] + block_text[first_nl:]
    comment = " " * model.dash_column + f"# {new_env}: {origin}{nl}"
    new_block = comment + block_text
    insert_line = (rules[-1] if append else model).last_line + 1
    position = "end" if append else "after"
    if current is not None and (append or current.index <= model.index):
        # An earlier rule (a catch-all) would win: go in front of it, and of the comment lines just above it.
        insert_line = current.first_line
        while insert_line > 0 and lines[insert_line - 1].strip().startswith("#"):
            insert_line -= 1
        position = "before"
    if insert_line >= len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += nl
    new_text = "".join(lines[:insert_line]) + new_block + "".join(lines[insert_line:])
    # Prove the edit: sops now picks the copy for every new file, and every other file keeps its rule.
    after = creation_rules(new_text)
    added = next(r for r in after if r.path_regex == regex)
    for f in new_files:
        if first_match(after, f) is not added or added.recipients != model.recipients:
            raise SopsConfigError(f"{SOPS_CONFIG}: a rule for {f} could not be placed so that sops picks it; add "
                                  f"this rule before any rule that matches it:\n{snippet}")
    for f in existing_files:
        old, new = first_match(rules, f), first_match(after, f)
        if (old is None) != (new is None) or (old is not None and old.recipients != new.recipients):
            raise SopsConfigError(f"{SOPS_CONFIG}: the rule for {new_env} would also match {f}; add a rule for "
                                  f"environments/{new_env}/secrets/ by hand:\n{snippet}")
    where = (f"placed before {current.describe()}, which would otherwise match first"
             if position == "before" and current is not None else
             "placed after the last rule" if position == "end" else "placed right after it")
    return RuleEdit(new_text, f"{SOPS_CONFIG}: added a creation rule for environments/{new_env}/secrets/ "
                              f"(path_regex {regex}) with the keys of {model.describe()}; {where}")


def _new_regex(text: str, model: CreationRule, model_env: str | None, new_env: str,
               new_files: list[str]) -> tuple[str, str]:
    """(regex, its text in the file) for the new environment: the model's path_regex with its environment folder
    renamed when that fits, else ``^environments/<env>/secrets/.*\\.secret\\.yaml$`` (single-quoted)."""
    if model.regex_span is not None and model_env:
        raw_old = text[model.regex_span[0]: model.regex_span[1]]
        old_folder, new_folder = f"{ENVIRONMENTS_DIR}/{model_env}/", f"{ENVIRONMENTS_DIR}/{new_env}/"
        regex = str(model.path_regex).replace(old_folder, new_folder)
        raw = raw_old.replace(old_folder, new_folder)
        try:
            compiled = re.compile(regex)
            if old_folder in str(model.path_regex) and raw != raw_old and yaml.safe_load(f"k: {raw}") == {"k": regex} \
                    and all(compiled.search(f) for f in new_files):
                return regex, raw
        except (re.error, yaml.YAMLError):
            pass
    regex = f"^{ENVIRONMENTS_DIR}/{new_env}/{SECRETS_DIR}/.*\\.secret\\.yaml$"  # names need no escaping
    return regex, "'" + regex.replace("'", "''") + "'"
