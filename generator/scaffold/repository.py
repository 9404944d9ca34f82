"""`hubgen init DIR`: a whole GitOps repository from the repository template, with one starter environment.

Nothing is written until every input has been checked: the starter environment's spec is
validated in memory first, then the repository is assembled in a staging folder next to
DIR (repository template, managed files, the environment and its rendered files, the
``.hubgen.yaml`` record), checked once more as a whole (it must validate and render with no
changes), and only then moved to DIR.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import __version__
from generator.paths import RepoPaths
from generator.problems import has_errors
from generator.scaffold import managed
from generator.scaffold.cookie import REPOSITORY_TEMPLATE, TemplateError, run_template
from generator.scaffold.environment import Draft, Refused
from generator.validate.environments import UsageError
from generator.versions import GO_TOOLS

KMS_KEY_RE = re.compile(r"^arn:aws(-cn|-us-gov)?:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_+=,.@-]+$")
AGE_RECIPIENT_RE = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")
PROJECT_RE = re.compile(r"^[^\x00-\x1f`<>]{1,100}$")


@dataclass
class RepoAnswers:
    project: str
    sops_kms: str = ""
    sops_age: str = ""
    #: Where the repository's CI installs hubgen from (checked by install.parse_source); recorded in .hubgen.yaml.
    source: str = ""


def check_target(target: Path) -> None:
    """DIR must be new, or an empty folder (a fresh `git init` is fine)."""
    if target.is_symlink() and not target.exists():
        raise UsageError(f"{target} is a dangling symbolic link")
    if target.exists():
        if not target.is_dir():
            raise UsageError(f"{target} exists and is not a directory")
        extra = sorted(p.name for p in target.iterdir() if p.name != ".git")
        if extra:
            shown = ", ".join(extra[:5]) + (", ..." if len(extra) > 5 else "")
            raise UsageError(f"{target} is not empty ({shown}); `hubgen init` only writes into a new or empty "
                             "folder (use `hubgen init --update` in an existing repository)")
    if not target.parent.is_dir():
        raise UsageError(f"{target.parent} does not exist")


def check_answers(a: RepoAnswers) -> list[str]:
    """Messages for repository-level answers that cannot be used."""
    out = []
    if not PROJECT_RE.match(a.project):
        out.append(f"project name {a.project!r}: 1-100 printable characters (no `, < or >)")
    if a.sops_kms and not all(KMS_KEY_RE.match(k.strip()) for k in a.sops_kms.split(",")):
        out.append(f"--sops-kms {a.sops_kms!r}: expected KMS key ARN(s), e.g. "
                   "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-...")
    if a.sops_age and not all(AGE_RECIPIENT_RE.match(k.strip()) for k in a.sops_age.split(",")):
        out.append(f"--sops-age {a.sops_age!r}: expected age public key(s) (age1..., 62 characters)")
    return out


def provider(a: RepoAnswers) -> str:
    """The starter environment's secrets provider: age when only age recipients are given."""
    return "age" if a.sops_age and not a.sops_kms else "kms"


def create(target: Path, answers: RepoAnswers, draft: Draft, text: str) -> list[str]:
    """Assemble the repository in a staging folder and move it to ``target``; returns the files written.

    ``text`` is the starter environment's spec, already validated against an empty repository.
    """
    from generator.generate import plan
    from generator.render import render_environment
    from generator.scaffold.environment import make_secrets
    from generator.scaffold.install import SourceError, parse_source
    from generator.validate.environments import validate, validate_candidate

    check_target(target)
    try:  # resolved and checked by the CLI first
        parse_source(answers.source)
    except SourceError as e:
        raise TemplateError(f"hubgen source {answers.source!r}: {e}") from None
    # The starter environment as validated against the empty repository: what the README can name.
    first = validate_candidate(RepoPaths(target), draft.name, text)
    if has_errors(first.problems):
        raise Refused(first.problems)
    stage = target.parent / f".{target.name}.hubgen-init-{uuid.uuid4().hex[:12]}"
    try:
        stage.mkdir()
        files = managed.shipped()
        root = run_template(REPOSITORY_TEMPLATE, stage, {"directory": "repository", "_repo": readme_facts(
            answers, draft.name, first.environments[draft.name].context.model, files)})
        for rel, content in files.items():
            dest = root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(content)
        managed.write_record(root, answers.source)
        repo = RepoPaths(root)
        env = repo.env(draft.name)
        repo.abs(env.dir).mkdir(parents=True)
        repo.abs(env.spec).write_text(text, encoding="utf-8")
        validation = validate_candidate(repo, draft.name, text)
        if has_errors(validation.problems):  # checked before; the template files cannot change that
            raise Refused(validation.problems)
        model = validation.environments[draft.name].context.model
        made = make_secrets(root, model)
        if made.failed:
            raise Refused([], "cannot create the starter environment's secrets (a new repository must pass "
                              f"`hubgen validate`): {'; '.join(made.failed)}")
        draft.notes.extend(made.notes)
        for rel, ciphertext in made.files.items():
            dest = repo.abs(rel)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(ciphertext, encoding="utf-8")
        for f in render_environment(model):
            dest = repo.abs(f.path)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(f.content)
        # The assembled repository must be what `hubgen validate` and `hubgen render --check` accept.
        problems = validate(repo).problems
        result = plan(repo)
        if has_errors(problems) or not result.ok or any(not c.empty for c in result.changes):
            why = "; ".join(f"{p.location}: {p.code} {p.message}" for p in [*problems, *result.problems])
            raise TemplateError(f"the new repository does not validate and render cleanly: "
                                f"{why or 'generated files differ'}")
        written = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        _move_into_place(root, target)
        return written
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def readme_facts(answers: RepoAnswers, env: str, model: Any, files: dict[str, bytes]) -> dict[str, Any]:
    """What the repository template says about the new repository: only what it will contain."""
    from generator.scaffold.install import pinned_ref, web_url
    from generator.secrets.inventory import requirements

    by_file: dict[str, list] = {}
    for r in requirements(model):
        by_file.setdefault(r.file, []).append(r)
    made = sorted(f for f, reqs in by_file.items() if all(r.generated for r in reqs))  # as make_secrets does
    ref = pinned_ref(answers.source)
    return {
        "project": answers.project, "env": env, "version": __version__, "managed": sorted(files),
        "sops_kms": answers.sops_kms, "sops_age": answers.sops_age,
        "source": answers.source,
        # The same URL at another commit: the README's upgrade example.
        "source_base": answers.source.split("#", 1)[0][: -len(ref) - 1],
        "docs_url": web_url(answers.source),
        "pre_commit": pre_commit_version(files),
        "secret_files": made,
        "hubs": [h.name for h in model.hubs],
        "go_tools": list(GO_TOOLS),
    }


def pre_commit_version(files: dict[str, bytes]) -> str:
    """The pre-commit version the shipped pull-request workflow pins (PRE_COMMIT_VERSION), or ""."""
    text = files.get(".github/workflows/pull-request.yml", b"").decode("utf-8", "replace")
    m = re.search(r"^\s*PRE_COMMIT_VERSION:\s*[\"']?([0-9][0-9A-Za-z.+-]*)[\"']?\s*$", text, re.M)
    return m.group(1) if m else ""


def _move_into_place(root: Path, target: Path) -> None:
    if not target.exists():
        os.rename(root, target)
        return
    for child in sorted(root.iterdir()):
        os.rename(child, target / child.name)


def default_project(target: Path) -> str:
    name = target.resolve().name
    return name if PROJECT_RE.match(name) else "JupyterHub environments"
