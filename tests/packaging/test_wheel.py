"""An installable hubgen: the wheel and sdist `python -m build` makes, installed into a clean virtualenv, and a
repository made there by `hubgen init` that works and whose README names only what it contains.

On a copy of the working tree (the files git would give a clone: tracked and not ignored, links kept):

1. ``python -m build --wheel`` (a wheel straight from the tree) and ``python -m build`` (an sdist, then a wheel
   built from that sdist): the sdist holds real files where the tree has links (``generator/data/``), both wheels
   hold the same files, and the package data is complete (managed files byte for byte, every template file,
   dotfiles included);
2. a fresh ``python -m venv`` gets the sdist-built wheel (dependencies from the package index, through pip's
   cache); there ``hubgen --version`` works, ``hubgen init`` refuses without ``--hubgen-source`` (a wheel is no
   source CI can install), and ``hubgen init --hubgen-source ...`` makes a repository that passes
   ``hubgen validate``, ``render --check``, ``init --check`` and ``lint`` (offline: the chart's values schema
   is unavailable, HG504 warnings only), ``make tools`` (with Go) and ``make check``; every path, hubgen command
   and make target its README names exists (tests/scaffold/readme_check.py);
3. the same venv then gets hubgen with ``pip install 'hubgen @ git+file://<copy>@<commit>'``: pip's PEP 610
   record is read (``hubgen --version`` names the commit; ``init`` refuses a ``file://`` source CI cannot reach),
   and with that record pointing at an https URL instead, ``init`` without ``--hubgen-source`` records
   ``hubgen @ git+https://...@<commit>``.

Needs ``build`` (``pip install -e '.[test]'``) and the package index (PyPI) reachable; takes about 45 s with a
warm pip cache. (No ``__init__.py`` in this folder: it would make a package named ``packaging`` that hides the
real one from everything the test process imports.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from generator import __version__
from generator.scaffold import managed
from tests.conftest import REPO_ROOT, git, working_tree_copy
from tests.scaffold.readme_check import readme_problems
from tests.scaffold.util import SOURCE, set_args

NAME = f"hubgen-{__version__}"
TEMPLATES = REPO_ROOT / "generator/scaffold/templates"
GO = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _run(cmd: list, *, cwd: Path | None = None, env: dict | None = None, timeout: float = 600,
         check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HUBGEN_", "PYTEST_", "VIRTUAL_ENV", "GIT_", "PYTHON")) and k != "CI"}
    # Nothing of this checkout on PATH: only the venv under test (and the system).
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if str(REPO_ROOT) not in p)
    env.update({"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"})
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """{"tree": wheel from the tree, "sdist": sdist, "wheel": wheel built from that sdist, "src": the copy}."""
    try:
        import build  # noqa: F401 - only whether it is installed
    except ImportError:
        if _ci():
            pytest.fail("`build` is not installed: pip install -e '.[test]'")
        pytest.skip("`build` is not installed: pip install -e '.[test]'")
    work = tmp_path_factory.mktemp("packaging")
    src = working_tree_copy(work / "src")
    env = _clean_env()
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", work / "tree", src], env=env)
    _run([sys.executable, "-m", "build", "--outdir", work / "dist", src], env=env)  # sdist, then a wheel from it
    return {"src": src, "tree": work / "tree" / f"{NAME}-py3-none-any.whl",
            "sdist": work / "dist" / f"{NAME}.tar.gz", "wheel": work / "dist" / f"{NAME}-py3-none-any.whl"}


def _expected_data() -> dict[str, bytes]:
    """Package path -> content of every data file hubgen needs at run time, from the checkout."""
    out = {}
    for m in managed.MANAGED:
        origin = (REPO_ROOT / "generator/data" / m.data)
        if m.pattern is None:
            if origin.is_file():
                out[f"generator/data/{m.data}"] = origin.read_bytes()
            continue
        for f in sorted(origin.glob(m.pattern)):
            out[f"generator/data/{m.data}/{f.name}"] = f.read_bytes()
    for f in TEMPLATES.rglob("*"):
        if f.is_file() and "__pycache__" not in f.parts:
            out[f.relative_to(REPO_ROOT).as_posix()] = f.read_bytes()
    return out


def test_build_install_init(built, venv, age_recipient, tmp_path):
    """One test, so that the builds and the venv are made once even when pytest-xdist spreads tests over workers."""
    _check_sdist(built)
    _check_wheels(built)
    _check_installed(venv, age_recipient, tmp_path / "wheel")
    _check_git_default(venv, built, age_recipient, tmp_path / "git")


def _check_sdist(built):
    """The sdist holds real files where the tree has links, and every data file hubgen needs."""
    expected = _expected_data()
    assert any(p.endswith("/.gitignore") for p in expected) and any(p.endswith("/Makefile") for p in expected)
    with tarfile.open(built["sdist"]) as tar:
        members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if "/" in m.name}
        for rel, content in expected.items():
            assert rel in members, f"{rel} missing from the sdist"
            member = members[rel]
            kind = "link" if member.issym() or member.islnk() else "non-file"
            assert member.isfile(), f"{rel} is a {kind} in the sdist"
            assert tar.extractfile(member).read() == content, rel
        assert not [n for n, m in members.items() if m.issym() or m.islnk()], "links in the sdist"


def _check_wheels(built):
    """Both wheels (from the tree, from the sdist) hold the same, complete files."""
    expected = _expected_data()
    contents = []
    for wheel in (built["tree"], built["wheel"]):
        with zipfile.ZipFile(wheel) as z:
            files = {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}
        for rel, content in expected.items():
            assert files.get(rel) == content, f"{wheel.name}: {rel} missing or different"
        assert "generator/scaffold/install.py" in files and "generator/cli/app.py" in files
        assert f"{NAME}.dist-info/entry_points.txt" in files
        contents.append(files)
    assert contents[0].keys() == contents[1].keys()
    assert {k for k in contents[0] if contents[0][k] != contents[1][k]} <= {f"{NAME}.dist-info/RECORD"}


# --- installed ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def venv(built, tmp_path_factory) -> Path:
    """A clean virtualenv with the sdist-built wheel (pip's cache makes the dependencies quick)."""
    env_dir = tmp_path_factory.mktemp("venv") / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", env_dir])
    # This pip (pinned by the test environment, fast resolver) installs into the new venv.
    _run([sys.executable, "-m", "pip", "--python", env_dir / "bin" / "python", "install", "--quiet", "--no-compile",
          built["wheel"]], env=_clean_env(), timeout=900)
    return env_dir


@pytest.fixture(scope="module")
def age_recipient(tmp_path_factory) -> str:
    keygen = REPO_ROOT / ".tools/bin/age-keygen"
    if not keygen.exists():
        if _ci():
            pytest.fail(f"{keygen} missing: bash .ci/install-tools")
        pytest.skip(f"{keygen} missing: bash .ci/install-tools")
    key = tmp_path_factory.mktemp("age") / "key.txt"
    _run([keygen, "-o", key])
    return next(line.split(": ", 1)[1] for line in key.read_text().splitlines() if line.startswith("# public key: "))


def _venv_env(venv: Path, tmp: Path, **extra: str) -> dict[str, str]:
    env = _clean_env(HUBGEN_CACHE_DIR=str(tmp / "hubgen-cache"), HUBGEN_CHART_CACHE=str(tmp / "charts"), **extra)
    go_bin = str(Path(GO).parent) if GO else ""
    env["PATH"] = os.pathsep.join(p for p in (str(venv / "bin"), env["PATH"], go_bin) if p)
    return env


def _hubgen(venv: Path, env: dict, *args, cwd: Path | None = None, check: bool = False):
    return _run([venv / "bin" / "hubgen", *args], cwd=cwd, env=env, check=check)


def _check_installed(venv: Path, age_recipient: str, tmp_path: Path):
    """hubgen from the wheel makes a repository that validates, lints and has a truthful README and Makefile."""
    tmp_path.mkdir()
    env = _venv_env(venv, tmp_path)
    assert shutil.which("hubgen", path=env["PATH"]) == str(venv / "bin" / "hubgen")

    version = _hubgen(venv, env, "--version", check=True).stdout
    assert version.splitlines()[0] == f"hubgen {__version__}"
    assert "installed from: the file " in version and f"{NAME}-py3-none-any.whl" in version
    info = json.loads(_hubgen(venv, env, "--format", "json", "--version", check=True).stdout)
    assert info["source"] is None and info["installed"]["kind"] == "archive"
    assert info["engines"]["cfn-lint"]["version"] and info["engines"]["sops"]["version"]

    # A wheel is no source the new repository's CI can install hubgen from: named, with the form to use.
    refused = _hubgen(venv, env, "init", tmp_path / "nope", "--no-input", "--sops-age", age_recipient,
                      *set_args())
    assert refused.returncode == 2, refused.stderr
    assert "--hubgen-source" in refused.stderr and "hubgen @ git+https://" in refused.stderr
    assert not (tmp_path / "nope").exists()

    repo = tmp_path / "hubs"
    made = _hubgen(venv, env, "init", repo, "--no-input", "--sops-age", age_recipient, "--project", "Course hubs",
                   *set_args(), "--hubgen-source", SOURCE)
    assert made.returncode == 0, made.stdout + made.stderr
    assert yaml.safe_load((repo / ".hubgen.yaml").read_text())["hubgen-source"] == SOURCE
    for rel, content in managed.shipped().items():  # the installed package data, byte for byte
        assert (repo / rel).read_bytes() == content, rel

    lint_env = dict(env, HUBGEN_OFFLINE="1")
    for name, var in (("kubeconform", "HUBGEN_KUBECONFORM"), ("helm", "HUBGEN_HELM"), ("kustomize", "HUBGEN_KUSTOMIZE")):
        if (REPO_ROOT / ".tools/bin" / name).exists():
            lint_env[var] = str(REPO_ROOT / ".tools/bin" / name)
    for args in (["validate"], ["render", "--check"], ["init", "--check"]):
        r = _hubgen(venv, lint_env, *args, cwd=repo)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    lint = _hubgen(venv, lint_env, "--format", "json", "lint", cwd=repo)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    report = json.loads(lint.stdout)
    assert report["summary"]["errors"] == 0, report
    assert {p["code"] for p in report["problems"]} <= {"HG504"}, report["problems"]

    # The README names only what the repository has, and only commands this hubgen has.
    def command_help(command: list[str]) -> tuple[int, str]:
        r = _hubgen(venv, env, *command, "--help")
        return r.returncode, r.stdout + r.stderr

    assert readme_problems(repo, command_help) == []

    # The Makefile works there: `make tools` (the pinned Go tools, when Go is here) and `make check`.
    if shutil.which("make") is None:
        return
    make_env = dict(lint_env)
    if GO:
        tools = _run(["make", "tools"], cwd=repo, env=make_env, timeout=900)
        assert (repo / ".tools/bin/kubeconform").is_file(), tools.stdout + tools.stderr
        make_env.pop("HUBGEN_KUBECONFORM", None)  # hubgen finds .tools/bin/kubeconform by itself
    check = _run(["make", "check"], cwd=repo, env=make_env, timeout=900)
    assert "lint: 1 environment, 0 error(s)" in check.stdout, check.stdout


def _check_git_default(venv: Path, built, age_recipient: str, tmp_path: Path):
    """pip's own PEP 610 record of a git install is what `init` defaults to."""
    tmp_path.mkdir()
    src = built["src"]
    if not (src / ".git").exists():
        git(src, "init", "-q")
        git(src, "add", "-A")
        git(src, "commit", "-q", "--no-verify", "-m", "hubgen")
    commit = git(src, "rev-parse", "HEAD").strip()
    env = _venv_env(venv, tmp_path)
    _run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet", "--no-compile",
          "--no-deps", "--force-reinstall", f"hubgen @ git+{src.as_uri()}@{commit}"], env=_clean_env(), timeout=900)
    version = _hubgen(venv, env, "--version", check=True).stdout
    assert f"installed from: hubgen @ git+{src.as_uri()}@{commit}" in version
    refused = _hubgen(venv, env, "init", tmp_path / "local", "--no-input", "--sops-age", age_recipient, *set_args())
    assert refused.returncode == 2 and "git+file:// is a folder on this machine" in refused.stderr, refused.stderr

    # The same record, as an install from hubgen's repository over https would write it.
    records = list(venv.glob(f"lib/python*/site-packages/{NAME}.dist-info/direct_url.json"))
    assert len(records) == 1, records
    data = json.loads(records[0].read_text())
    assert data["vcs_info"]["commit_id"] == commit
    data["url"] = "https://github.com/example/hubgen"
    records[0].write_text(json.dumps(data))
    expected = f"hubgen @ git+https://github.com/example/hubgen@{commit}"
    info = json.loads(_hubgen(venv, env, "--format", "json", "--version", check=True).stdout)
    assert info["source"] == expected
    repo = tmp_path / "defaulted"
    made = _hubgen(venv, env, "init", repo, "--no-input", "--sops-age", age_recipient, *set_args())
    assert made.returncode == 0, made.stdout + made.stderr
    assert yaml.safe_load((repo / ".hubgen.yaml").read_text())["hubgen-source"] == expected
    assert f"'{expected}'" in (repo / "README.md").read_text()
