"""`hubgen new`: a new environment spec from the environment template, checked before it is written.

The flow (nothing touches the repository until the last two steps):

1. :func:`start` - a draft spec: empty (fields take their defaults) or derived from an existing
   environment (``--from``) with what must differ made unique;
2. :func:`apply_sets` - ``--set key=value`` overrides, converted by the schema of each field;
3. :func:`complete` - every field gets a value: asked (interactive), defaulted, or reported missing;
4. :func:`render_text` - the cookiecutter template writes the commented YAML in a scratch folder;
5. :func:`check` - the real validation, as if the text were ``environments/<env>/environment.yaml``
   next to the repository's other environments (cross-environment checks included);
6. :func:`update_sops_config` - a creation rule for the new environment's secret files is added to
   ``.sops.yaml`` (the keys of the source's rule with ``--from``), edited as text, so that :func:`write`
   can encrypt them at once; put back by :func:`restore_sops_config` when the write fails;
7. :func:`write` - under the repository lock, the spec and its rendered files are staged in a
   hidden folder beside the new environment and moved into place with one rename
   (:func:`stage_new_environment`): the environment appears whole or not at all.
"""

from __future__ import annotations

import copy
import os
import re
import stat
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from generator import __version__
from generator.loader import MAX_SPEC_BYTES, load_yaml_text
from generator.paths import ENVIRONMENTS_DIR, SPEC_FILENAME, RepoPaths, env_name_problem
from generator.problems import Problem, has_errors
from generator.render.common import dump_yaml
from generator.scaffold import fields as F
from generator.scaffold.cookie import ENVIRONMENT_TEMPLATE, TemplateError, run_template
from generator.validate.environments import UsageError, Validation, validate_candidate

#: Longest stack name the schema accepts.
MAX_STACK_NAME = 55


class Refused(Exception):
    """The input cannot become an environment; ``problems`` say why (exit 1, nothing written)."""

    def __init__(self, problems: list[Problem], message: str = ""):
        super().__init__(message or "refused")
        self.problems = problems
        self.message = message


@dataclass
class Draft:
    """A spec on its way to becoming ``environments/<name>/environment.yaml``."""

    name: str
    spec: dict[str, Any]
    source: str | None = None
    #: Paths given with --set: final, never defaulted, asked or removed.
    explicit: set[tuple] = field(default_factory=set)
    #: Things a person should do or check, printed after the environment is created.
    notes: list[str] = field(default_factory=list)
    #: The source environment's secret files (--from): the .sops.yaml rule that encrypts them is the model of
    #: the new environment's rule.
    source_secret_files: list[str] = field(default_factory=list)

    #: The source environment's spec as it was read (--from): which conditions held there.
    original: dict[str, Any] | None = None

    def is_explicit(self, path: tuple) -> bool:
        """Whether ``path`` was given with --set, lies inside a value given with --set, or holds one."""
        return any(p[: len(path)] == path or path[: len(p)] == p for p in self.explicit)

    def takes_default(self, f: F.Field) -> bool:
        """Whether a missing field gets its default: always in a new spec; in a copy (--from) only when the
        field's condition did not hold in the source (the copy now needs what the source did not have). A
        field the source could have had but left out stays out: the source's choice."""
        if self.original is None:
            return True
        return f.when is not None and not f.when(self.original)

    @property
    def origin(self) -> str:
        how = f"`hubgen new {self.name} --from {self.source}`" if self.source else f"`hubgen new {self.name}`"
        return f"Created by {how} (hubgen {__version__})."


# --- 1. start ---------------------------------------------------------------------------


def check_new_name(repo: RepoPaths, name: str) -> None:
    why = env_name_problem(name)
    if why:
        raise UsageError(f"'{name}' is not a valid environment name: {why}")
    if (repo.environments / name).exists() or (repo.environments / name).is_symlink():
        raise UsageError(f"environment '{name}' already exists (environments/{name}/); choose another name")


def start(repo: RepoPaths, name: str, source: str | None = None, *, provider: str | None = None) -> Draft:
    """A draft for environment ``name``: fresh, or derived from environment ``source``.

    ``provider``: the secrets provider a fresh draft proposes (default: what the repository's
    .sops.yaml encrypts for).
    """
    check_new_name(repo, name)
    if source is None:
        return Draft(name, {"name": name, "secrets": {"provider": provider or sops_provider(repo.root)}})
    if source not in repo.env_names():
        known = ", ".join(repo.env_names()) or "none"
        raise UsageError(f"--from {source}: no environment '{source}' (known: {known})")
    spec_path = repo.env(source).spec
    loaded = load_yaml_text(read_source_spec(repo, source), spec_path)
    if loaded.problems or not isinstance(loaded.data, dict):
        raise Refused(loaded.problems, f"--from {source}: {spec_path} cannot be read; fix it first")
    _check_source_version(loaded, spec_path, source)
    draft = Draft(name, copy.deepcopy(loaded.data), source=source, original=copy.deepcopy(loaded.data))
    draft.source_secret_files = _secret_files(repo, source, loaded.data)
    _make_unique(repo, draft)
    return draft


def _check_source_version(loaded, spec_path: str, source: str) -> None:
    """Refuse to copy a spec of another version: its fields would land in a spec of this version as they were,
    in a shape this hubgen does not read (version 1's ``cluster.nodes``). HG011/HG012 as `validate` reports
    them, with the command that upgrades the source first."""
    import dataclasses

    from generator.migrate import upgrade_command, version_problem

    problem = version_problem(loaded, spec_path, source)
    if problem is None:
        return
    if problem.code == "HG012":
        raise Refused([problem], f"--from {source}: its spec is newer than this hubgen")
    problem = dataclasses.replace(problem, hint=f"Run `{upgrade_command(source)}` and commit it, then copy it "
                                                "with --from.")
    raise Refused([problem], f"--from {source}: upgrade it first (`{upgrade_command(source)}`)")


def read_source_spec(repo: RepoPaths, source: str) -> bytes:
    """The bytes of ``source``'s spec, for --from. The spec is repository content, so hostile input: one that is
    a symbolic link, or lies below one, is refused (HG009) and never read -- `validate` refuses a link leading
    out of the repository the same way (:func:`generator.validate.environments._spec_is_safe`), and --from goes
    further and reads no link at all (each folder is opened without following links), so no file outside
    the repository can reach the new spec or an error message."""
    from generator import codes
    from generator.problems import Location
    from generator.safefs import read_file
    from generator.safefs import Refused as Unsafe
    from generator.validate.environments import _spec_is_safe

    spec_path = repo.env(source).spec
    unsafe = _spec_is_safe(repo, source)
    if unsafe is not None:
        raise Refused([unsafe], f"--from {source}: {spec_path} is not a file inside the repository; --from only "
                                "copies a regular file there")
    try:
        st = os.lstat(repo.abs(spec_path))
        if stat.S_ISREG(st.st_mode) and st.st_size > MAX_SPEC_BYTES:
            problem = codes.HG007.problem(f"file is {st.st_size} bytes; the limit is {MAX_SPEC_BYTES // 1024} KiB",
                                          Location(spec_path, 1, 1), environment=source)
            raise Refused([problem], f"--from {source}: {spec_path} cannot be read; fix it first")
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISLNK(st.st_mode):
            problem = codes.HG009.problem(f"{spec_path} is not a regular file", Location(spec_path),
                                          environment=source)
            raise Refused([problem], f"--from {source}: {spec_path} cannot be read")
        data = read_file(repo.root, spec_path)
    except Unsafe as e:
        problem = codes.HG009.problem(f"{spec_path} cannot be used: {e}", Location(spec_path), environment=source,
                                      hint="Replace the link by the file itself (inside the repository).")
        raise Refused([problem], f"--from {source}: {spec_path} (or a folder on its way) is a symbolic link; "
                                 "--from only copies a regular file inside the repository") from None
    except OSError as e:
        problem = codes.HG009.problem(f"cannot read {spec_path}: {e.strerror or e}", Location(spec_path),
                                      environment=source)
        raise Refused([problem], f"--from {source}: {spec_path} cannot be read") from None
    if data is None:
        problem = codes.HG009.problem(f"{spec_path} does not exist", Location(spec_path), environment=source)
        raise Refused([problem], f"--from {source}: {spec_path} cannot be read")
    return data


def _secret_files(repo: RepoPaths, env: str, spec: dict) -> list[str]:
    """An environment's secret files: those that exist, then one per hub the spec names (in that order)."""
    paths = repo.env(env)
    out = []
    folder = repo.abs(paths.secrets_dir)
    try:
        out += sorted(f"{paths.secrets_dir}/{e.name}" for e in os.scandir(folder)
                      if e.name.endswith(".secret.yaml") and not e.name.startswith("."))
    except OSError:
        pass
    for hub in spec.get("hubs") or [] if isinstance(spec, dict) else []:
        if isinstance(hub, dict) and isinstance(hub.get("name"), str) and hub["name"]:
            out.append(paths.hub_secret(hub["name"]))
    return list(dict.fromkeys(out)) or [f"{paths.secrets_dir}/{env}.secret.yaml"]


def sops_provider(root: Path) -> str:
    """"age" when the repository's .sops.yaml encrypts environment secrets for age keys only, else "kms"."""
    import yaml

    try:
        config = yaml.safe_load((root / ".sops.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return "kms"
    rules = config.get("creation_rules") if isinstance(config, dict) else None
    probe = "environments/env/secrets/hub.secret.yaml"
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict):
            continue
        try:
            if rule.get("path_regex") and not re.search(str(rule["path_regex"]), probe):
                continue
        except re.error:
            continue
        return "age" if rule.get("age") and not rule.get("kms") else "kms"
    return "kms"


def _swap_token(text: str, old: str, new: str) -> str | None:
    """``text`` with ``old`` replaced where it stands as a token (between '-', '.', '/' or the ends)."""
    pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(old)}(?![A-Za-z0-9])")
    return pattern.sub(new, text) if pattern.search(text) else None


def _other_specs(repo: RepoPaths, exclude: str) -> list[dict]:
    from generator.validate.index import spec_data  # unchanged specs come from the index, not the loader

    data = spec_data(repo, [n for n in repo.env_names() if n != exclude])
    return [d for d in data.values() if isinstance(d, dict)]


def _make_unique(repo: RepoPaths, d: Draft) -> None:
    """Change what two environments cannot share; keep everything else of the source."""
    spec, src, new = d.spec, d.source or "", d.name
    others = _other_specs(repo, new)
    spec["name"] = new

    account = str(F.get(spec, ("aws", "accountId"), ""))
    taken = {str(F.get(o, ("cluster", "stackName"), "")).lower() for o in others
             if str(F.get(o, ("aws", "accountId"), "")) == account}
    old_stack = F.get(spec, ("cluster", "stackName"), None)
    if isinstance(old_stack, str):
        base = _swap_token(old_stack, src, new) or f"{old_stack}-{new}"
        candidate, n = base[:MAX_STACK_NAME], 2
        while candidate.lower() in taken:
            suffix = f"-{n}"
            candidate, n = base[: MAX_STACK_NAME - len(suffix)] + suffix, n + 1
        F.put(spec, ("cluster", "stackName"), candidate)

    tags = spec.get("tags")
    if not isinstance(tags, dict):
        tags = spec["tags"] = {}
    tags["environment"] = new

    hosts_taken = {h.get("host") for o in others for h in (o.get("hubs") or []) if isinstance(h, dict)}
    for i, hub in enumerate(spec.get("hubs") or []):
        if not isinstance(hub, dict):
            continue
        for key in ("name", "namespace"):
            if hub.get(key) == src:
                hub[key] = new
        old_host = hub.get("host")
        if isinstance(old_host, str) and old_host:
            host = _swap_token(old_host, src, new)
            if host is None:
                first, _, rest = old_host.partition(".")
                host = f"{first[: 62 - len(new)]}-{new}.{rest}" if rest else f"{first}-{new}"
            first, dot, rest = host.partition(".")
            n = 2
            while host in hosts_taken:
                host, n = f"{first}-{n}{dot}{rest}", n + 1
            hub["host"] = host
            hosts_taken.add(host)
            d.notes.append(f"hubs[{i}] '{hub.get('name')}': host {old_host} -> {host}; the load balancer "
                           "certificate must cover it and DNS must point at the new load balancer")
            oauth = F.get(hub, ("auth", "oauth"), None)
            if isinstance(oauth, dict) and isinstance(oauth.get("callbackUrl"), str):
                oauth["callbackUrl"] = oauth["callbackUrl"].replace(f"//{old_host}/", f"//{host}/")
                d.notes.append(f"hubs[{i}] '{hub.get('name')}': OAuth client {oauth.get('clientId')} (copied from "
                               f"{src}) must accept the callback URL {oauth['callbackUrl']}, or register a new "
                               "OAuth app and set auth.oauth.clientId")
        role = F.get(hub, ("singleuser", "awsRoleArn"), None)
        if isinstance(role, str):
            d.notes.append(f"hubs[{i}] '{hub.get('name')}': notebook role {role} (copied from {src}) must trust "
                           f"the OIDC provider of the new cluster (stack output OIDCProviderArn)")


# --- 2. --set ----------------------------------------------------------------------------


def apply_sets(draft: Draft, assignments: list[str]) -> None:
    """Apply ``key=value`` overrides; raises UsageError for malformed or unknown keys."""
    for item in assignments:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep:
            raise UsageError(f"--set {item!r}: expected key=value, e.g. --set aws.region=us-east-1")
        if key == "name":
            raise UsageError("--set name=...: the environment name is the ENV argument")
        try:
            path = F.parse_key(key)
        except F.UnknownKey as e:
            raise UsageError(f"--set {key}: {e}") from None
        if path and path[0] == "hubs" and len(path) > 1 and isinstance(path[1], int):
            hubs = draft.spec.get("hubs") if isinstance(draft.spec.get("hubs"), list) else []
            if path[1] > len(hubs):
                raise UsageError(f"--set {key}: there is no hubs.{path[1] - 1}; hubs are numbered from 0 "
                                 f"and a new one gets the next number ({len(hubs)})")
        F.put(draft.spec, path, F.parse_value(path, raw))
        draft.explicit.add(path)


# --- 3. complete -------------------------------------------------------------------------

#: Asks for one field: ``ask(field, spec, env)`` returns a value, or F.MISSING for "none".
Asker = Callable[[F.Field, dict, str], Any]


def complete(draft: Draft, ask: Asker | None = None, only: set[str] | None = None) -> list[F.Field]:
    """Give every field a value; returns the required fields still missing (only without ``ask``).

    A new spec takes every default; a spec derived with --from keeps the source's values and only
    gains fields that a changed condition now needs (e.g. an OAuth client after --set ...auth.type).
    Fields inside a value given with --set (``--set cluster.nodeGroups=[...]``) are that value's: final.
    ``only``: the keys to ask again (after a refused answer); the rest is left as it is.
    """
    spec, env = draft.spec, draft.name
    missing = []
    for f in F.FIELDS:
        path = f.path
        if draft.is_explicit(path):
            continue
        if f.applies is not None and not f.applies(spec):
            continue
        if f.when is not None and not f.when(spec):
            F.delete(spec, path)
            continue
        asking = ask is not None and f.ask and (only is None or f.key in only)
        if asking:
            _answer(spec, path, ask(f, spec, env))
            continue
        if F.get(spec, path) is not F.MISSING:
            continue
        if draft.takes_default(f):
            default = f.default_for(spec, env)
            if default is not None:
                F.put(spec, path, default)
                continue
        if f.required:
            if ask is not None and f.ask:
                _answer(spec, path, ask(f, spec, env))
            else:
                missing.append(f)
    return missing


def _answer(spec: dict, path: tuple, value: Any) -> None:
    if value is F.MISSING:
        F.delete(spec, path)
    else:
        F.put(spec, path, value)


@dataclass
class Secrets:
    """Secret files made for a new environment (ciphertext only) and what is left for a person."""

    files: dict[str, str] = field(default_factory=dict)  # repo-relative path -> sops-encrypted YAML
    notes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # could not encrypt: why


def make_secrets(root: Path, model: Any, *, generate: bool = True) -> Secrets:
    """Encrypted Secret files for the hubs whose values hubgen may generate (dummy-login passwords).

    Uses ``hubgen secrets create``'s machinery: a fresh random value per Secret key, encrypted by
    sops with the creation rules of ``root``'s .sops.yaml, the plaintext never on disk. OAuth client
    secrets are never generated: they become notes.
    """
    from generator.secrets.inventory import requirements
    from generator.secrets.sops import SopsError, encrypt, random_value, secret_manifest
    from generator.secrets.tools import ToolMissing

    out = Secrets()
    by_file: dict[str, list] = {}
    for r in requirements(model):
        by_file.setdefault(r.file, []).append(r)
    for rel, reqs in by_file.items():
        owner = reqs[0].owner
        command = reqs[0].create_command.removesuffix(" --from-stdin")
        if not all(r.generated for r in reqs):
            supplied = ", ".join(f"{r.purpose} (Secret {r.ref} key '{r.key}')" for r in reqs if not r.generated)
            out.notes.append(f"{owner} needs its {supplied}: `{command}` "
                             f"asks for it and writes {rel}, sops-encrypted")
            continue
        if not generate:
            out.notes.append(f"{owner} reads its {reqs[0].purpose} from {rel}: create it with `{command}`")
            continue
        values = {(r.name, r.key): random_value() for r in reqs}
        try:
            out.files[rel] = encrypt(root, rel, secret_manifest(reqs, values), list(values.values())).text
        except (SopsError, ToolMissing) as e:
            reason = one_line(str(e))
            out.failed.append(f"{rel}: {reason}")
            out.notes.append(f"{owner}: {rel} (the {reqs[0].purpose}) was not created: {reason}; create it "
                             f"with `{command}` once sops can encrypt for .sops.yaml")
        else:
            out.notes.append(f"{owner}: {rel} holds a fresh random {reqs[0].purpose}, sops-encrypted "
                             "(never printed; read it with `sops -d`)")
    return out


def one_line(message: str) -> str:
    """A multi-line error message (sops's own output under hubgen's first line) on one line, never empty: the
    lines joined with '; ', a first line ending in ':' joined to what follows it."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return "no reason given"
    text = lines[0]
    for line in lines[1:]:
        text += (" " if text.endswith(":") else "; ") + line
    return text.rstrip(":") or "no reason given"


# --- .sops.yaml: a creation rule for the new environment ------------------------------------------------------------


@dataclass
class SopsUpdate:
    """What `hubgen new` did to .sops.yaml: ``written`` is the new content (None: left alone), ``previous`` the
    content it replaced (to put back when the environment cannot be created), ``note`` what it did or why not."""

    note: str = ""
    written: bytes | None = None
    previous: bytes | None = None


def _sops_file() -> str:
    from generator.secrets.sops import SOPS_CONFIG

    return SOPS_CONFIG


def _sops_tree(repo: RepoPaths):
    from generator.safefs import Confined

    return Confined(repo.root, lambda p: p == _sops_file(), what="hubgen new")


def _existing_secret_files(repo: RepoPaths, exclude: str) -> list[str]:
    out = []
    for env in repo.env_names():
        if env != exclude:
            out += [f for f in _secret_files(repo, env, {}) if repo.abs(f).exists()]
    return out


def plan_sops_rule(repo: RepoPaths, draft: Draft, text: str) -> tuple[str | None, str]:
    """(new .sops.yaml text or None, note): a creation rule for the draft's secret files with the keys of the rule
    that encrypts the source environment's (--from), or of the repository's only recipient set."""
    from generator.secrets import sops as S

    name = draft.name
    new_files = _secret_files(repo, name, draft.spec)
    rules = S.creation_rules(text)
    if draft.source:
        src_file = draft.source_secret_files[0] if draft.source_secret_files else \
            f"{repo.env(draft.source).secrets_dir}/{draft.source}.secret.yaml"
        model = next((r for r in (S.first_match(rules, f) for f in draft.source_secret_files or [src_file])
                      if r is not None), None)
        if model is None:
            raise S.SopsConfigError(f"{S.SOPS_CONFIG} has no creation rule matching {src_file} (the secrets of "
                                    f"{draft.source}), so hubgen cannot tell which keys {name}'s secrets need")
        origin = f"the keys of {draft.source} (added by `hubgen new {name} --from {draft.source}`)"
        model_env = draft.source
    else:
        sets = {r.recipients: r for r in reversed(rules) if r.recipients}
        if len(sets) != 1:
            what = f"{len(sets)} different sets of keys" if sets else "no rule with keys"
            raise S.SopsConfigError(f"{S.SOPS_CONFIG} has {what}, so hubgen cannot tell which ones {name}'s secrets "
                                    f"need")
        model = next(iter(sets.values()))
        origin = f"the repository's keys (added by `hubgen new {name}`)"
        model_env = None
    edit = S.add_environment_rule(text, name, new_files, model=model, model_env=model_env,
                                  existing_files=_existing_secret_files(repo, name), origin=origin,
                                  append=draft.source is None)
    return edit.text, edit.note


def update_sops_config(repo: RepoPaths, draft: Draft) -> SopsUpdate:
    """Add the new environment's creation rule to .sops.yaml (under the repository lock), keeping every comment
    and line of the file as it is. Never raises for the file's content: when it is missing, malformed or has no
    rule to copy, nothing is written and the note says precisely why and what to add."""
    from generator.safefs import PartlyWritten
    from generator.safefs import Refused as Unsafe
    from generator.secrets import sops as S
    from generator.writer import repo_lock

    folder = f"{ENVIRONMENTS_DIR}/{draft.name}/secrets/"
    todo = (f"add a creation rule for {folder} to {S.SOPS_CONFIG} (see docs/secrets.md), then create the secrets "
            f"with `hubgen secrets create {draft.name} <hub>`")
    with repo_lock(repo, wait_message=False):
        try:
            previous = _sops_tree(repo).read(S.SOPS_CONFIG)
            text = S.read_sops_config(repo.root)
            new_text, note = plan_sops_rule(repo, draft, text)
        except (S.SopsConfigError, Unsafe, OSError) as e:
            return SopsUpdate(f"{S.SOPS_CONFIG} not changed: {one_line(str(e))}; {todo}")
        if new_text is None:
            return SopsUpdate(note)
        data = new_text.encode("utf-8")
        try:
            _sops_tree(repo).write(S.SOPS_CONFIG, data)
        except (Unsafe, PartlyWritten, OSError) as e:
            return SopsUpdate(f"{S.SOPS_CONFIG} not changed: cannot write it ({one_line(str(e))}); {todo}")
    return SopsUpdate(note, data, previous)


def restore_sops_config(repo: RepoPaths, update: SopsUpdate) -> None:
    """Put .sops.yaml back as it was before :func:`update_sops_config` (the environment was not created), unless
    someone changed it since."""
    from generator.safefs import Refused as Unsafe
    from generator.writer import repo_lock

    if update.written is None or update.previous is None:
        return
    try:
        with repo_lock(repo, wait_message=False):
            tree = _sops_tree(repo)
            if tree.read(_sops_file()) == update.written:
                tree.write(_sops_file(), update.previous)
    except (Unsafe, OSError):
        pass


# --- 4. render ---------------------------------------------------------------------------


def render_text(draft: Draft) -> str:
    """The commented spec, written by the cookiecutter environment template."""
    context = {"env": draft.name, "_spec": copy.deepcopy(draft.spec), "_origin": draft.origin,
               "_hubgen_version": __version__}
    with tempfile.TemporaryDirectory(prefix="hubgen-new-") as tmp:
        created = run_template(ENVIRONMENT_TEMPLATE, Path(tmp), context)
        text = (created / SPEC_FILENAME).read_text(encoding="utf-8")
    back = load_yaml_text(text.encode("utf-8"), f"environments/{draft.name}/{SPEC_FILENAME}")
    if back.data != draft.spec:
        raise TemplateError("the environment template does not write back the spec it was given "
                            f"(differences in: {', '.join(_differences(back.data, draft.spec)) or 'layout'})")
    return text


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out.extend(_differences(a.get(k, F.MISSING), b.get(k, F.MISSING), f"{path}.{k}" if path else str(k)))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}.{i}")]
    return [] if a == b else [path or "(top level)"]


# --- 5. check ----------------------------------------------------------------------------


def check(repo: RepoPaths, draft: Draft, text: str) -> Validation:
    return validate_candidate(repo, draft.name, text)


def prepare(repo: RepoPaths, draft: Draft) -> tuple[str, Validation]:
    """The candidate text and its validation.

    Answers of the wrong shape (a map where a list belongs, a subnet without its zone) do not fit
    the template; they are then validated in plain YAML form, so the person gets the schema's
    message for the field rather than a template error. The plain form is never written.
    """
    try:
        text = render_text(draft)
    except TemplateError as template_error:
        plain = f"# candidate for environments/{draft.name}/{SPEC_FILENAME}\n" + dump_yaml(draft.spec)
        validation = check(repo, draft, plain)
        if has_errors(validation.problems):
            return plain, validation
        raise template_error
    return text, check(repo, draft, text)


# --- 6. write ----------------------------------------------------------------------------


@dataclass
class Written:
    spec: str
    generated: list[str]
    secrets: list[str]
    problems: list[Problem]

    @property
    def created(self) -> list[str]:
        return [self.spec, *self.generated, *self.secrets]


def write(repo: RepoPaths, draft: Draft, text: str, *, render: bool = True, secrets: bool = True) -> Written:
    """Write the environment (and its generated files) under the repository lock, all at once.

    Raises Refused when the final check under the lock fails (another run changed the repository
    meanwhile), UsageError when the environment appeared meanwhile, WriteError on I/O failures.
    """
    from generator.generate import scan_rendered
    from generator.render import render_environment
    from generator.safefs import PartlyWritten, Refused
    from generator.writer import WriteError, repo_lock

    with repo_lock(repo):
        check_new_name(repo, draft.name)
        validation = check(repo, draft, text)
        problems = validation.problems
        result = validation.environments[draft.name]
        if has_errors(problems) or result.context is None:
            raise Refused(problems)
        files = render_environment(result.context.model) if render else []
        problems = problems + scan_rendered(files)
        if has_errors(problems):
            raise Refused(problems)
        made = make_secrets(repo.root, result.context.model, generate=secrets)
        draft.notes.extend(made.notes)
        env = repo.env(draft.name)
        contents = {env.spec: text.encode("utf-8"), **{f.path: f.content for f in files},
                    **{path: ciphertext.encode("utf-8") for path, ciphertext in made.files.items()}}
        try:
            stage_new_environment(repo, draft.name, contents)
        except (Refused, PartlyWritten) as e:
            raise WriteError(f"cannot create {env.dir}: {e}") from e
        except OSError as e:
            raise WriteError(f"cannot create {env.dir}: {e.strerror or e}") from e
    return Written(env.spec, [f.path for f in files], sorted(made.files), problems)


def stage_new_environment(repo: RepoPaths, name: str, contents: dict[str, bytes]) -> None:
    """Create ``environments/<name>/`` holding ``contents`` (repo-relative paths inside it) in one
    rename: the files are written into a hidden staging folder beside it (never listed as an
    environment), which is then renamed. Confined to those two folders; the staging folder is
    removed whatever happens."""
    from generator.safefs import Confined

    env = repo.env(name)
    stage = f"{ENVIRONMENTS_DIR}/.{name}.hubgen-new-{uuid.uuid4().hex[:12]}"

    def allowed(rel: str) -> bool:
        return any(rel == d or rel.startswith(d + "/") for d in (stage, env.dir))

    tree = Confined(repo.root, allowed, what="hubgen new")
    try:
        tree.write_all({stage + path[len(env.dir):]: data for path, data in contents.items()
                        if path.startswith(env.dir + "/")})
        tree.rename_dir(stage, env.dir)
    finally:
        tree.remove_tree(stage)
