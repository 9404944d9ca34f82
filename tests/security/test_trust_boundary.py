"""The trust boundary: nothing a pull request commits can make hubgen write, move or delete a file
outside the generated files of the environments it renders, nor change a check's outcome.

Each numbered case of the security issue is reproduced here on a *fresh clone* where it involves
committed content (a repository committed with the planted state -- `git add -f` where .gitignore
would hide it -- and cloned, as CI and a reviewer get it), then every command that could be steered
by it runs, and everything outside the repository's generated files must be exactly as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from generator.paths import GENERATED_DIRS
from tests.conftest import git, make_repo, run_hubgen, tree_hashes

DEV = "environments/dev"
RELEASE = f"{DEV}/hubs/dev/helmrelease.yaml"


def fresh_clone(tmp_path: Path, plant) -> Path:
    """A repository with ``plant(root)`` applied, committed (forcing ignored paths in), then cloned."""
    origin = make_repo(tmp_path / "origin")
    plant(origin)
    git(origin, "add", "-A")
    git(origin, "add", "-f", "--", ".")
    git(origin, "commit", "-q", "-m", "planted")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    return clone


def digest(root: Path) -> dict[str, str]:
    """Every file (links as their target text) under ``root``, .git aside."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in [*filenames, *[d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]]:
            p = Path(dirpath, name)
            rel = p.relative_to(root).as_posix()
            out[rel] = ("link:" + os.readlink(p)) if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def non_generated(root: Path) -> dict[str, str]:
    return {p: h for p, h in digest(root).items()
            if not (p.startswith("environments/") and p.split("/")[2:3] and p.split("/")[2] in GENERATED_DIRS)}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the repository holding files an attack would like to change."""
    d = tmp_path / "victim"
    d.mkdir()
    (d / "keep.txt").write_text("precious\n")
    (d / "sub").mkdir()
    (d / "sub" / "also.txt").write_text("also precious\n")
    return d


COMMANDS = (["validate"], ["render", "--check"], ["render"], ["validate", "dev"], ["render", "dev"],
            ["hook", "validate", f"{DEV}/environment.yaml"], ["hook", "render-check", f"{DEV}/environment.yaml"])


def _bump(root: Path) -> None:
    spec = root / DEV / "environment.yaml"
    spec.write_text(spec.read_text().replace("nodePort: 30052", "nodePort: 30053"))


def _run_all(clone: Path, outside: Path) -> None:
    before = digest(outside)
    for args in COMMANDS:
        result = run_hubgen(args, cwd=clone)
        assert "Traceback" not in result.output, result
        assert result.rc in (0, 1), result
        assert digest(outside) == before, f"hubgen {' '.join(args)} changed {outside}"


# --- 1, 2, 4: planted state in .hubgen/ ---------------------------------------------------------


def test_1_state_folder_symlinked_out_is_never_used(tmp_path: Path, outside: Path) -> None:
    clone = fresh_clone(tmp_path, lambda r: (r / ".hubgen").mkdir() or os.symlink(outside, r / ".hubgen" / "txn"))
    assert (clone / ".hubgen" / "txn").is_symlink()
    _bump(clone)
    _run_all(clone, outside)
    assert (clone / ".hubgen" / "txn").is_symlink()  # left alone, not followed, not "recovered"


def _journal(root: Path, outside: Path, manifest: object) -> None:
    txn = root / ".hubgen" / "txn"
    (txn / "files").mkdir(parents=True)
    (txn / "files" / "0").write_text("pwned\n")
    (txn / "COMMITTED").write_text("")
    (txn / "dev.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("manifest", [
    "absolute-and-dotdot",
    {},
    {"writes": 5},
    {"writes": [], "staged": [], "deletes": [None]},
    {"writes": ["x"], "staged": [None], "deletes": "abc"},
])
def test_2_4_planted_journals_are_never_replayed(tmp_path: Path, outside: Path, manifest) -> None:
    if manifest == "absolute-and-dotdot":
        manifest = {"writes": [str(outside / "new.txt"), "../victim/dotdot.txt"], "staged": ["0", "0"],
                    "deletes": [str(outside / "keep.txt"), "../victim/sub/also.txt"],
                    "mkdirs": [str(outside / "made")], "probes": [str(outside)]}
    clone = fresh_clone(tmp_path, lambda r: _journal(r, outside, manifest))
    _bump(clone)
    _run_all(clone, outside)
    assert sorted(p.name for p in outside.rglob("*")) == ["also.txt", "keep.txt", "sub"]
    assert (clone / ".hubgen" / "txn" / "dev.json").exists()  # not ours: neither read nor removed


# --- 3: a folder where a generated file belongs -----------------------------------------------


def test_3_generated_file_replaced_by_a_folder_is_reported_and_never_jams(repo: Path) -> None:
    release = repo / RELEASE
    release.unlink()
    release.mkdir()
    (release / "notes.md").write_text("mine\n")
    _bump(repo)
    before = tree_hashes(repo)
    check = run_hubgen(["render", "--check", "dev"], cwd=repo)
    assert check.rc == 1 and "HG407" in check.stdout and RELEASE in check.stdout, check
    result = run_hubgen(["render"], cwd=repo)
    assert result.rc == 1 and "HG407" in result.stderr and "nothing was changed" in result.stderr, result
    assert "remove it, then run `hubgen render dev`" in result.stderr, result
    assert tree_hashes(repo) == before
    # Every other command still works while the folder is there...
    assert run_hubgen(["validate"], cwd=repo).rc == 0
    assert run_hubgen(["render", "prod"], cwd=repo).rc == 0
    # ... and once it is gone, render completes: nothing is jammed.
    shutil.rmtree(release)
    assert run_hubgen(["render"], cwd=repo).rc == 0
    assert run_hubgen(["render", "--check"], cwd=repo).rc == 0


# --- 5: forged caches -----------------------------------------------------------------------------


def test_5_forged_caches_in_the_checkout_change_nothing(tmp_path: Path, lint_env, monkeypatch) -> None:
    """A lint cache entry and a permissive chart schema committed under .hubgen/cache are never read:
    the chart values error is still reported."""
    def plant(root: Path) -> None:
        spec = root / "environments/prod/environment.yaml"
        spec.write_text(spec.read_text().replace("        defaultUrl: /lab\n",
                                                 "        defaultUrl: /lab\n        imagee: x\n"))
        lint = root / ".hubgen" / "cache" / "lint"
        for i in range(256):
            d = lint / f"{i:02x}"
            d.mkdir(parents=True)
            (d / "forged.json").write_text('{"format": "1", "key": "forged", "payload": []}')
        chart = root / ".hubgen" / "cache" / "charts" / "jupyterhub-4.4.0"
        chart.mkdir(parents=True)
        (chart / "values.yaml").write_text("{}\n")
        (chart / "values.schema.json").write_text('{"type": "object"}\n')
    clone = fresh_clone(tmp_path, plant)
    env = {k: v for k, v in lint_env.items() if k != "HUBGEN_CACHE_DIR"}
    env["HOME"] = str(tmp_path / "home")  # the default cache: ~/.cache/hubgen, empty
    env["XDG_CACHE_HOME"] = ""
    for _ in range(2):  # cold, then warm from the real cache
        result = run_hubgen(["--format", "json", "lint", "prod", "-e", "values"], cwd=clone, env=env)
        assert result.rc == 1, result
        codes = [p["code"] for p in json.loads(result.stdout)["problems"]]
        assert codes == ["HG503"], result
    assert (tmp_path / "home" / ".cache" / "hubgen" / "lint").is_dir()


# --- 6: files hubgen did not write; the team's own manifests ---------------------------------------


def test_6_render_never_deletes_files_it_did_not_write(repo: Path) -> None:
    mine = {f"{DEV}/hubs/notes.md": "team notes\n", f"{DEV}/cluster/team-configmap.yaml": "kind: ConfigMap\n",
            f"{DEV}/cloudformation/README": "ours\n", f"{DEV}/hubs/dev/values-backup.yaml": "a: 1\n"}
    assert run_hubgen(["render"], cwd=repo).rc == 0  # in step with the installed renderer
    for rel, text in mine.items():
        (repo / rel).write_text(text)
    check = run_hubgen(["render", "--check"], cwd=repo)
    assert check.rc == 0, check  # warnings only
    assert check.stdout.count("HG408") == len(mine), check
    result = run_hubgen(["render"], cwd=repo)
    assert result.rc == 0, result
    for rel, text in mine.items():
        assert (repo / rel).read_text() == text
    # A hub removed from the spec: its generated files go, the team's file beside them stays.
    spec = repo / "environments/prod/environment.yaml"
    text = spec.read_text()
    (repo / "environments/prod/hubs/research/mine.txt").write_text("keep\n")
    spec.write_text(text[:text.index("  - name: research")])
    assert run_hubgen(["render", "prod"], cwd=repo).rc == 0
    assert sorted(p.name for p in (repo / "environments/prod/hubs/research").iterdir()) == ["mine.txt"]


def test_6_temporary_files_of_a_killed_render_are_removed(repo: Path) -> None:
    leftover = repo / f"{DEV}/hubs/dev/.helmrelease.yaml.hubgen-0123456789ab.tmp"
    leftover.write_text("half")
    check = run_hubgen(["render", "--check"], cwd=repo)
    assert check.rc == 1 and "HG403" in check.stdout and "interrupted" in check.stdout, check
    assert run_hubgen(["render"], cwd=repo).rc == 0
    assert not leftover.exists()


EXTRA_CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: team-settings
  namespace: dev
data:
  greeting: hello
"""


def test_6_extra_manifests_are_applied_by_flux_and_never_touched(repo: Path) -> None:
    extra = repo / DEV / "extra"
    extra.mkdir()
    (extra / "configmap.yaml").write_text(EXTRA_CONFIGMAP)
    check = run_hubgen(["render", "--check", "dev"], cwd=repo)
    assert check.rc == 1 and "HG401" in check.stdout and f"{DEV}/cluster/hubs.yaml" in check.stdout, check
    assert run_hubgen(["render"], cwd=repo).rc == 0
    entry = (repo / DEV / "cluster" / "hubs.yaml").read_text()
    assert "name: dev-extra" in entry and "path: ./environments/dev/extra" in entry
    assert (extra / "configmap.yaml").read_text() == EXTRA_CONFIGMAP
    assert run_hubgen(["validate", "dev"], cwd=repo).rc == 0
    # Removing the folder removes the Kustomization again.
    shutil.rmtree(extra)
    assert run_hubgen(["render"], cwd=repo).rc == 0
    assert "dev-extra" not in (repo / DEV / "cluster" / "hubs.yaml").read_text()


def test_6_extra_manifests_are_checked(repo: Path, tmp_path: Path) -> None:
    extra = repo / DEV / "extra"
    extra.mkdir()
    (extra / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: dev\n"
                                       "stringData:\n  token: hello\n")
    target = tmp_path / "elsewhere.yaml"
    target.write_text(EXTRA_CONFIGMAP)
    (extra / "linked.yaml").symlink_to(target)
    result = run_hubgen(["--format", "json", "validate", "dev"], cwd=repo)
    assert result.rc == 1, result
    found = {(p["code"], p["file"]) for p in json.loads(result.stdout)["problems"]}
    assert ("HG308", f"{DEV}/extra/secret.yaml") in found, result
    assert ("HG409", f"{DEV}/extra/linked.yaml") in found, result


def test_6_extra_manifests_go_through_kubeconform(repo: Path, lint_env, kubeconform_bin) -> None:
    extra = repo / DEV / "extra"
    extra.mkdir()
    (extra / "bad.yaml").write_text(EXTRA_CONFIGMAP.replace("\ndata:", "\ndataa:"))
    assert run_hubgen(["render"], cwd=repo).rc == 0
    result = run_hubgen(["--format", "json", "lint", "dev", "-e", "kubeconform"], cwd=repo, env=lint_env)
    assert result.rc == 1, result
    problems = json.loads(result.stdout)["problems"]
    assert len(problems) == 1, [(p["line"], p["message"]) for p in problems]
    [p] = problems
    assert p["code"] == "HG502" and p["file"] == f"{DEV}/extra/bad.yaml" and "dataa" in p["message"], p


# --- the containment function itself ----------------------------------------------------------------


def test_confined_refuses_every_way_out(tmp_path: Path, outside: Path) -> None:
    from generator.safefs import Confined, Refused

    root = tmp_path / "r"
    (root / "environments" / "dev" / "hubs").mkdir(parents=True)
    (root / "environments" / "dev" / "cluster").symlink_to(outside, target_is_directory=True)
    (root / "environments" / "dev" / "hubs" / "link.yaml").symlink_to(outside / "keep.txt")
    tree = Confined(root, lambda rel: rel.startswith("environments/"))
    before = digest(outside)
    for bad in ("/etc/passwd", "../victim/keep.txt", "environments/../../victim/keep.txt", "environments/./x",
                "environments//x", "environments/dev/cluster/keep.txt", "environments/dev/cluster/new.txt",
                "environments/dev/hubs/link.yaml", "schema/x.json", "", "environments/dev\\x"):
        for op in (lambda p: tree.write(p, b"x"), tree.delete, lambda p: tree.write_all({}, deletes=[p])):
            with pytest.raises(Refused):
                op(bad)
    with pytest.raises(Refused):
        tree.read("environments/dev/hubs/link.yaml")
    with pytest.raises(Refused):
        tree.rename_dir("environments/dev/hubs", "../victim/moved")
    assert digest(outside) == before
    tree.write("environments/dev/hubs/ok.yaml", b"fine")
    assert (root / "environments/dev/hubs/ok.yaml").read_bytes() == b"fine"
    assert tree.delete("environments/dev/hubs/ok.yaml")
