"""Building blocks of the bad-input suite (tests/core/test_bad_inputs.py): cases, expectations, spec edits.

Case lists live in test_bad_inputs.py and in the ``cases_*.py`` modules beside it (one per area), which
test_bad_inputs.py concatenates into ``CASES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .specs import REPO_ROOT, example_text, position, replace_once, spec_path

DEV = spec_path("dev")
DEV2 = spec_path("dev2")
DEV_SECRET = "environments/dev/secrets/dev.secret.yaml"  # pragma: allowlist secret
ACCOUNT = "553778890976"

Locator = Callable[[str], tuple[int, int]]


@dataclass(frozen=True)
class Expect:
    code: str
    locate: Locator
    file: str = DEV
    #: Substrings that must appear in the problem's message or hint.
    contains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    id: str
    #: relpath -> content written into the repository copy (relative to its root)
    files: Callable[[], dict[str, str | bytes]]
    expect: tuple[Expect, ...]
    warning_only: bool = False
    #: whether the reported codes must be exactly the expected ones
    exact: bool = True
    #: also run through the real console script (loader-level cases)
    subprocess: bool = False
    #: found by `validate` in the files beside the spec; `render` (spec only) renders as usual
    files_only: bool = False


def at(needle: str, occurrence: int = 1, *, within: str | None = None, within_occurrence: int | None = None,
       shift: int = 0) -> Locator:
    def locate(text: str) -> tuple[int, int]:
        line, col = position(text, needle, occurrence, within=within, within_occurrence=within_occurrence)
        return line, col + shift
    return locate


def start() -> Locator:
    return lambda text: (1, 1)


def dev_text() -> str:
    return example_text("dev")


def dev(mutate: Callable[[str], str | bytes]) -> Callable[[], dict[str, str | bytes]]:
    return lambda: {DEV: mutate(dev_text())}


def sub(old: str, new: str) -> Callable[[str], str]:
    """Replace the (unique) ``old`` by ``new`` in the spec."""
    return lambda text: replace_once(text, old, new)


def chain(*edits: Callable[[str], str]) -> Callable[[str], str]:
    def run(text: str) -> str:
        for e in edits:
            text = e(text)
        return text
    return run


def hub(name: str, namespace: str | None = None, port: int = 30060, host: str | None = "auto",
        tag: str = "v1", admins: tuple[str, ...] = ("admin",), allowed: tuple[str, ...] = ("admin",)) -> str:
    """YAML of one more hub (appended to the dev spec, whose last top-level key is `hubs`)."""
    host_line = ""
    if host == "auto":
        host = f"{name}.jupyter.example.org"
    if host:
        host_line = f"    host: {host}\n"
    return (f"  - name: {name}\n"
            f"    namespace: {namespace or name}\n"
            f"{host_line}"
            f"    nodePort: {port}\n"
            "    chart:\n"
            "      version: 4.4.0\n"
            "    auth:\n"
            "      type: dummy\n"
            "      passwordSecret:\n"
            f"        name: {name}-auth\n"
            "        key: password\n"
            "      admins:\n" + "".join(f"        - {a}\n" for a in admins) +
            "      allowedUsers:\n" + "".join(f"        - {a}\n" for a in allowed) +
            "    singleuser:\n"
            "      image:\n"
            "        name: quay.io/jupyter/base-notebook\n"
            f"        tag: {tag}\n"
            "      storage:\n"
            "        capacity: 10Gi\n")


def hub_secret(name: str, namespace: str) -> str:
    """The sops-encrypted Secret file of an added hub: the dev example's, renamed (hubgen checks the
    structure and sops metadata of secret files, not the ciphertext)."""
    text = (REPO_ROOT / DEV_SECRET).read_text(encoding="utf-8")
    return replace_once(text, "    name: hub-auth\n    namespace: dev\n",
                        f"    name: {name}-auth\n    namespace: {namespace}\n")


def dev_hubs(*hubs: dict, edit: Callable[[str], str] | None = None) -> Callable[[], dict[str, str | bytes]]:
    """The dev spec with more hubs (``hub(**kwargs)`` each) and their Secrets, then ``edit``."""
    def files() -> dict[str, str | bytes]:
        text = dev_text()
        assert text.endswith("\n") and text.rstrip().split("\n")[-1].startswith("      ")  # inside `hubs:`
        text += "".join(hub(**h) for h in hubs)
        out: dict[str, str | bytes] = {DEV: edit(text) if edit else text}
        for i, h in enumerate(hubs):
            ns = h.get("namespace") or h["name"]
            out[f"environments/dev/secrets/extra-{i}.secret.yaml"] = hub_secret(h["name"], ns)
        return out
    return files


def replace_line(prefix: str, new: str) -> Callable[[str], str]:
    """Replace the whole (unique) line that starts with ``prefix``."""
    def run(text: str) -> str:
        lines = text.split("\n")
        hits = [i for i, line in enumerate(lines) if line.startswith(prefix)]
        assert len(hits) == 1, f"expected one line starting with {prefix!r}, found {len(hits)}"
        lines[hits[0]] = new
        return "\n".join(lines)
    return run


def insert_after(anchor: str, lines: str) -> Callable[[str], str]:
    return sub(anchor, anchor + lines)


def second_env(mutate: Callable[[str], str]) -> Callable[[], dict[str, str | bytes]]:
    """dev unchanged plus environments/dev2 (a copy of dev named dev2, further edited by ``mutate``)."""
    def files() -> dict[str, str | bytes]:
        text = replace_once(dev_text(), "\nname: dev\n", "\nname: dev2\n")
        return {DEV2: mutate(text), "environments/dev2/secrets/dev.secret.yaml": (REPO_ROOT / DEV_SECRET).read_bytes(),
                "environments/dev2/secrets/notifications.secret.yaml":
                    (REPO_ROOT / "environments/dev/secrets/notifications.secret.yaml").read_bytes()}
    return files


BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{c}: &{c} [{','.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")]
) + "\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # pragma: allowlist secret
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----"  # pragma: allowlist secret
STACK_LINE = "  stackName: jupyter-dev\n"
OAUTH_BLOCK = ("      oauth:\n        clientId: abc\n        clientSecret:\n          name: hub-oauth\n"
               "          key: client-secret\n        callbackUrl: https://dev.example.org/hub/oauth_callback\n")
EXTRA_SECRET = "environments/dev/secrets/extra.secret.yaml"  # pragma: allowlist secret
PLAIN_SECRET = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: extra\n  namespace: dev\ntype: Opaque\n"
                "stringData:\n  token: s3cr3t-value\n")


def _invalid_utf8(text: str) -> bytes:
    data = text.encode()
    anchor = b"description: ASF JupyterHub"
    assert data.count(anchor) == 1
    return data.replace(anchor, b"description: ASF Jupyter\xffHub")
