"""What a README names must exist: used on the README of every repository `hubgen init` makes.

:func:`readme_problems` reads the Markdown and returns one message per thing it names that the repository
does not have:

* **paths** - in code blocks and inline code: every token that looks like a path (has a ``/``, starts with a
  dot, or ends in a known extension) exists in the repository, or lies under a folder ``.gitignore`` lists
  (local tooling the README's own commands create, ``.venv/``, ``.tools/``);
* **hubgen commands** - every ``hubgen ...`` command line or inline span names a real command, and every
  ``--option`` it uses is in that command's ``--help`` (``command_help`` runs the CLI: in-process or the
  installed console script);
* **make** - every ``make TARGET`` anywhere in the text is a target of the repository's Makefile (and there
  is a Makefile at all); ``docs/...`` anywhere outside URLs exists; pre-commit is only mentioned when the
  repository has a ``.pre-commit-config.yaml``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Callable

#: Code fences whose lines are shell commands; other fences are listings (first token of a line: a path).
SHELL_FENCES = {"sh", "bash", "shell", "console"}
_EXTENSIONS = (".yaml", ".yml", ".json", ".md", ".txt", ".toml", ".py", ".sh")
_URL_RE = re.compile(r"[a-z][a-z0-9+.-]*://\S+|git\+\S+", re.I)
#: hubgen's global options and whether they take a value.
_GLOBAL = {"--repo": True, "--format": True, "-f": True, "--quiet": False, "-q": False}
_GROUPS = {"secrets", "hook"}


def _blocks(text: str) -> tuple[list[tuple[str, list[str]]], str]:
    """(fence language, lines) of every fenced block, and the text outside them."""
    blocks: list[tuple[str, list[str]]] = []
    outside: list[str] = []
    lang, lines = None, []
    for line in text.splitlines():
        fence = re.match(r"^\s*```\s*([\w-]*)\s*$", line)
        if fence and lang is None:
            lang, lines = fence.group(1).lower(), []
        elif fence:
            blocks.append((lang, lines))
            lang = None
        elif lang is not None:
            lines.append(line)
        else:
            outside.append(line)
    assert lang is None, "unclosed code fence"
    return blocks, "\n".join(outside)


def _strip_comment(line: str) -> str:
    return re.split(r"(?:^|\s)#(?!\S*=)", line, maxsplit=1)[0]


def _pathlike(token: str) -> bool:
    token = token.rstrip(",.;:)")
    if not token or "://" in token or token.startswith(("$", "-", "'", '"', "git+")) or "=" in token:
        return False
    if not re.fullmatch(r"[\w.][\w./*-]*", token):
        return False
    return "/" in token or (token.startswith(".") and len(token) > 1) or token.endswith(_EXTENSIONS)


def _ignored_prefixes(root: Path) -> list[str]:
    gitignore = root / ".gitignore"
    if not gitignore.is_file():
        return []
    return [line.strip().rstrip("/") + "/" for line in gitignore.read_text().splitlines()
            if line.strip().endswith("/") and not line.startswith("#")]


def _path_problem(root: Path, token: str, where: str, ignored: list[str]) -> str | None:
    token = token.rstrip(",.;:)")
    rel = token[2:] if token.startswith("./") else token
    if any(rel == p.rstrip("/") or rel.startswith(p) for p in ignored):
        return None
    matches = list(root.glob(rel.rstrip("/"))) if "*" in rel else [root / rel.rstrip("/")]
    if not matches or not all(m.exists() for m in matches):
        return f"{where}: names {token}, which the repository does not have"
    if rel.endswith("/") and not all(m.is_dir() for m in matches):
        return f"{where}: names folder {token}, which is not a folder"
    return None


def _hubgen_problems(tokens: list[str], where: str, command_help: Callable[[list[str]], tuple[int, str]]) -> list[str]:
    """``tokens`` after ``hubgen``: the command exists and knows every option used."""
    rest = list(tokens)
    while rest and rest[0] in _GLOBAL:
        rest = rest[2:] if _GLOBAL[rest[0]] else rest[1:]
    if not rest or rest[0].startswith("-"):
        rc, help_text = command_help([])
        missing = [t for t in rest if t.startswith("--") and t not in help_text]
        return [f"{where}: `hubgen {' '.join(tokens)}`: hubgen has no option {m}" for m in missing]
    command = rest[:2] if rest[0] in _GROUPS and len(rest) > 1 else rest[:1]
    rc, help_text = command_help(command)
    if rc != 0:
        return [f"{where}: `hubgen {' '.join(tokens)}`: `hubgen {' '.join(command)}` is no hubgen command"]
    options = [t.split("=", 1)[0] for t in rest[len(command):] if t.startswith("--")]
    return [f"{where}: `hubgen {' '.join(tokens)}`: `hubgen {' '.join(command)}` has no option {o}"
            for o in options if o not in help_text and o not in _GLOBAL]


def _shell_tokens(line: str) -> list[str]:
    try:
        return shlex.split(_strip_comment(line))
    except ValueError:
        return _strip_comment(line).split()


def makefile_targets(root: Path) -> set[str]:
    makefile = root / "Makefile"
    if not makefile.is_file():
        return set()
    return {m.group(1) for m in re.finditer(r"^([A-Za-z0-9_][A-Za-z0-9_.-]*)\s*:(?!=)", makefile.read_text(), re.M)}


def readme_problems(root: Path, command_help: Callable[[list[str]], tuple[int, str]],
                    readme: str = "README.md") -> list[str]:
    """Everything ``root/readme`` names that ``root`` lacks (see the module docstring)."""
    text = (root / readme).read_text(encoding="utf-8")
    ignored = _ignored_prefixes(root)
    blocks, prose = _blocks(text)
    out: list[str] = []
    commands: list[tuple[list[str], str]] = []
    for n, (lang, lines) in enumerate(blocks, 1):
        for line in lines:
            where = f"{readme} code block {n}: {line.strip()!r}"
            if lang in SHELL_FENCES:
                tokens = _shell_tokens(line)
                if tokens and tokens[0] == "hubgen":
                    commands.append((tokens[1:], where))
                previous = ""
                for t in tokens:
                    # Values of options (`--base origin/main`) are not paths in the repository.
                    if _pathlike(t) and not (previous.startswith("--") and "=" not in previous):
                        out += [p for p in [_path_problem(root, t, where, ignored)] if p]
                    previous = t
            else:  # a listing: the first token of each line is a path
                first = line.split()[0] if line.split() else ""
                if first and _pathlike(first):
                    out += [p for p in [_path_problem(root, first, where, ignored)] if p]
    for span in re.findall(r"`([^`\n]+)`", prose):
        where = f"{readme}: `{span}`"
        tokens = _shell_tokens(span)
        if tokens and tokens[0] == "hubgen":
            commands.append((tokens[1:], where))
        elif _pathlike(span.strip()):
            out += [p for p in [_path_problem(root, span.strip(), where, ignored)] if p]
    for tokens, where in commands:
        out += _hubgen_problems(tokens, where, command_help)
    bare = _URL_RE.sub(" ", text)
    targets = makefile_targets(root)
    for m in re.finditer(r"\bmake ([a-z][\w-]*)", bare):
        if m.group(1) not in targets:
            out.append(f"{readme}: names `make {m.group(1)}`, which "
                       + ("the Makefile does not define" if (root / "Makefile").is_file() else "needs a Makefile"))
    for m in re.finditer(r"(?<![\w/.-])docs/[\w./-]*", bare):
        out += [p for p in [_path_problem(root, m.group(0), readme, ignored)] if p]
    if re.search(r"\bpre-commit\b", bare) and not (root / ".pre-commit-config.yaml").is_file():
        out.append(f"{readme}: mentions pre-commit, but there is no .pre-commit-config.yaml")
    return sorted(set(out))
