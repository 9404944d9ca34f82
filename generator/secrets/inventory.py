"""Which Secrets an environment needs, which exist, which are broken (HG304-HG307).

The spec names every Secret a hub reads (``auth.passwordSecret``,
``auth.oauth.clientSecret``) and every Secret a notifier reads (``notifications.<kind>.secret``:
a GitHub token or a webhook URL, in flux-system where notification-controller looks for
it); Flux applies ``environments/<env>/secrets/`` (the
``<env>-secrets`` Kustomization, sops decryption) before the hubs. Everything here
inspects the files' YAML structure only (see :mod:`generator.secrets.files`), so it
runs in pre-commit and CI without sops or any key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator import codes
from generator.checks.secrets import find_secrets
from generator.model import Environment, Notifier
from generator.paths import EnvPaths
from generator.problems import Location, Problem
from generator.secrets.files import (
    ENCRYPTED_REGEX,
    SecretDoc,
    SecretFile,
    read_secret_file,
    secret_file_paths,
)

#: spec ``secrets.provider`` -> the sops key type the cluster decrypts with.
PROVIDER_KEY_TYPE = {"kms": "kms", "age": "age"}


@dataclass(frozen=True)
class Requirement:
    """One value a hub (or, with ``notifier`` set, a notifier of the spec) reads from a Secret."""

    environment: str
    hub: str
    namespace: str
    name: str
    key: str
    #: The file `hubgen secrets create` writes for the hub.
    file: str
    #: Path of the secretRef in the spec (for locations).
    spec_path: tuple
    purpose: str
    #: Whether hubgen may generate the value (a dummy password) or a person must supply it (OAuth).
    generated: bool
    #: The notifier kind ("github", "slack", "webhook") when a notifier reads the Secret ("" for a hub's).
    notifier: str = ""

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def owner(self) -> str:
        """Who reads the Secret, in words: ``hub 'course'`` or ``the slack notifier``."""
        return f"the {self.notifier} notifier" if self.notifier else f"hub '{self.hub}'"

    @property
    def create_command(self) -> str:
        """The `hubgen secrets create` command that writes :attr:`file` (values a person supplies from stdin)."""
        target = NOTIFICATIONS_OPTION if self.notifier else self.hub
        return f"hubgen secrets create {self.environment} {target}" + ("" if self.generated else " --from-stdin")

    def problem_path(self, sub: str) -> tuple:
        """The spec path a problem about this Secret points at: a hub's secretRef ``name``/``key`` (``sub``), or a
        notifier's ``secret`` (its key is fixed by the notifier's kind)."""
        return self.spec_path if self.notifier else self.spec_path + (sub,)


#: `hubgen secrets create ENV --notifications`: the notifiers' Secrets instead of a hub's.
NOTIFICATIONS_OPTION = "--notifications"
#: What each notifier kind reads from its Secret.
NOTIFIER_PURPOSES = {"github": "GitHub token allowed to write commit statuses",
                     "slack": "Slack incoming webhook URL", "webhook": "webhook URL"}


def notifier_requirement(model: Environment, n: Notifier) -> Requirement:
    """The Secret one notifier reads: in flux-system (notification-controller reads a Provider's secretRef in the
    Provider's namespace), written by `hubgen secrets create <env> --notifications` into one file."""
    from generator.render.flux import FLUX_NAMESPACE

    return Requirement(model.name, "", FLUX_NAMESPACE, n.secret, n.secret_key,
                       EnvPaths(model.name).notifications_secret, ("notifications", n.kind, "secret"),
                       NOTIFIER_PURPOSES[n.kind], False, notifier=n.kind)


def requirements(model: Environment) -> list[Requirement]:
    paths = EnvPaths(model.name)
    out = []
    for i, hub in enumerate(model.hubs):
        a = hub.auth
        if a.password_secret:
            out.append(Requirement(model.name, hub.name, hub.namespace, a.password_secret.name,
                                   a.password_secret.key, paths.hub_secret(hub.name),
                                   ("hubs", i, "auth", "passwordSecret"), "shared dummy-login password", True))
        if a.oauth:
            out.append(Requirement(model.name, hub.name, hub.namespace, a.oauth.client_secret.name,
                                   a.oauth.client_secret.key, paths.hub_secret(hub.name),
                                   ("hubs", i, "auth", "oauth", "clientSecret"), "OAuth client secret", False))
    out.extend(notifier_requirement(model, n) for n in model.notifiers)
    return out


@dataclass
class Status:
    """What the files say about one requirement."""

    requirement: Requirement
    #: "ok", "missing" (no Secret of that name/namespace), "no-key", "unencrypted"
    state: str
    #: The file defining the Secret, when one does.
    file: str | None = None
    detail: str = ""


@dataclass
class Inventory:
    environment: str
    provider: str
    files: list[SecretFile] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    #: Problems in the files themselves (HG304, HG306, HG307), located in the files.
    file_problems: list[Problem] = field(default_factory=list)


def _secret_docs(files: list[SecretFile]) -> list[tuple[SecretFile, SecretDoc]]:
    return [(f, d) for f in files for d in f.docs if d.kind == "Secret"]


def _doc_problems(env: str, f: SecretFile, doc: SecretDoc, provider: str | None) -> list[Problem]:
    out: list[Problem] = []
    what = doc.describe()

    def problem(code: codes.Code, message: str, line: int, col: int, hint: str | None = None) -> None:
        out.append(code.problem(message, Location(f.path, line, col), environment=env, hint=hint))

    if doc.sops is None:
        plain = [v for v in doc.values if not v.encrypted]
        line, col = (plain[0].line, plain[0].column) if plain else (doc.line, doc.column)
        keys = ", ".join(f"{v.field}.{v.key}" for v in plain) or "no values yet"
        problem(codes.HG304, f"{what} is not sops-encrypted (no `sops` metadata; plain text: {keys})", line, col)
        return out
    if not doc.sops.has_keys:
        problem(codes.HG304, f"{what}: the sops metadata lists no key (age, kms, ...) that could decrypt it",
                doc.line, doc.column)
    if not doc.sops.has_mac:
        problem(codes.HG304, f"{what}: the sops metadata has no encrypted MAC; the file was not written by sops",
                doc.line, doc.column)
    for v in doc.values:
        if not v.encrypted:
            problem(codes.HG304, f"{what}: {v.field}.{v.key} is plain text inside a sops-encrypted file "
                                 "(edited without sops?)", v.line, v.column,
                    hint="Edit secret files with `sops <file>` (decrypts into an editor and re-encrypts), or "
                         "recreate the value with `hubgen secrets create --force`.")
    for path, value, line, col in doc.readable:
        for _p, reason in find_secrets({path[-1]: value} if path else value):
            problem(codes.HG304, f"{what}: {'.'.join(map(str, path))} is outside data/stringData and stays "
                                 f"readable after encryption, but {reason}", line, col,
                    hint=f"Keep secret values under data or stringData (sops encrypts {ENCRYPTED_REGEX}).")
            break
    if doc.metadata_encrypted:
        problem(codes.HG306, f"{what}: kind/metadata are encrypted, so reviewers and hubgen cannot see which "
                             "Secret this is", doc.line, doc.column,
                hint=f"Re-encrypt with `encrypted_regex: {ENCRYPTED_REGEX}` (the .sops.yaml creation rule, or "
                     "`hubgen secrets create --force`).")
    if provider and doc.sops.has_keys:
        wanted = PROVIDER_KEY_TYPE[provider]
        if wanted not in doc.sops.key_types:
            have = ", ".join(doc.sops.key_types)
            problem(codes.HG307, f"{what} is encrypted for {have} only, but the cluster decrypts with {wanted} "
                                 f"(spec secrets.provider: {provider}); Flux could not decrypt it",
                    doc.line, doc.column)
    return out


def inspect_file(root: Path, relpath: str, *, environment: str = "", provider: str | None = None) -> tuple[
        SecretFile, list[Problem]]:
    """Read one secret file and report its own problems (encryption, structure, decryptability)."""
    f = read_secret_file(root / relpath, relpath)
    problems = [p if p.environment or not environment else _with_env(p, environment) for p in f.problems]
    for doc in f.docs:
        problems.extend(_doc_problems(environment, f, doc, provider))
    return f, problems


def _with_env(p: Problem, env: str) -> Problem:
    from dataclasses import replace

    return replace(p, environment=env)


def inventory(root: Path, model: Environment, provider: str | None = None) -> Inventory:
    """Read every file of the environment's secrets folder and match it against the spec."""
    paths = EnvPaths(model.name)
    provider = provider or model.secrets_provider
    inv = Inventory(model.name, provider)
    for rel in secret_file_paths(root, paths.secrets_dir):
        f, problems = inspect_file(root, rel, environment=model.name, provider=provider)
        inv.files.append(f)
        inv.file_problems.extend(problems)
    docs = _secret_docs(inv.files)
    for req in requirements(model):
        inv.statuses.append(_status(req, docs, root))
    return inv


def _status(req: Requirement, docs: list[tuple[SecretFile, SecretDoc]], root: Path) -> Status:
    named = [(f, d) for f, d in docs if d.name == req.name]
    here = [(f, d) for f, d in named if d.namespace == req.namespace]
    if not here:
        if not named:
            if (root / req.file).exists():
                return Status(req, "missing", None, f"{req.file} does not define a Secret '{req.name}'")
            return Status(req, "missing", None, f"{req.file} does not exist")
        where = ", ".join(sorted({f"{d.namespace or '(no namespace)'} in {f.path}" for f, d in named}))
        reader = "notification-controller reads it from" if req.notifier else "the hub runs in"
        return Status(req, "missing", None, f"Secret '{req.name}' exists only in another namespace "
                                            f"({where}); {reader} namespace '{req.namespace}'")
    f, d = here[0]
    if req.key not in d.keys():
        keys = ", ".join(sorted(d.keys())) or "none"
        return Status(req, "no-key", f.path, f"{f.path}: Secret {req.ref} has no key '{req.key}' (keys: {keys})")
    if d.sops is None or not all(v.encrypted for v in d.values if v.key == req.key):
        return Status(req, "unencrypted", f.path, f"{f.path}: Secret {req.ref} is not encrypted")
    return Status(req, "ok", f.path)


def requirement_problems(inv: Inventory, locate: Any, spec_file: str, locate_key: Any = None) -> list[Problem]:
    """HG305 for each requirement without its Secret/key; ``locate(path) -> (line, col)`` in the spec
    (``locate_key``: of a key, for a notifier whose ``secret`` is the default: the problem is at its name)."""
    from generator.validate.schema import pointer

    out = []
    for s in inv.statuses:
        if s.state not in ("missing", "no-key"):
            continue
        r = s.requirement
        sub = "key" if s.state == "no-key" else "name"
        at = r.problem_path(sub)
        line, col = locate(at)
        if r.notifier and locate_key and (line, col) == locate(at[:2]):  # no `secret:` in the spec
            line, col = locate_key(at[:2])
        how = r.create_command + ("" if r.generated else
                                  " < values.txt" if r.notifier else " < client-secret.txt")
        out.append(codes.HG305.problem(
            f"{r.owner} reads the {r.purpose} from Secret {r.ref} key '{r.key}', but {s.detail}",
            Location(spec_file, line, col), environment=r.environment, path=pointer(at),
            hint=f"Create it with `{how}` (writes {r.file}, sops-encrypted).",
        ))
    return out
