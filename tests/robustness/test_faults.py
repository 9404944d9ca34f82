"""Real filesystem faults: a read-only filesystem and a full disk give a clear error, exit 1, and
leave the tree exactly as it was.

The faults are real, not simulated: read-only bind mounts (of one generated folder, and of the
whole repository) and a tiny tmpfs holding the repository. Mounting needs root (CAP_SYS_ADMIN); the
tests run as root here and in CI containers, and skip with the reason otherwise. (Making files
read-only with chmod would prove nothing: root ignores permissions.)
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from generator.paths import GENERATED_DIRS
from tests.conftest import run_hubgen, tree_state

from .conftest import ENVIRONMENTS, Versions
from .synthetic import env_name, temp_files, write_specs


def _mount(*args: str) -> None:
    proc = subprocess.run(["mount", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount here (needs root with CAP_SYS_ADMIN): mount {' '.join(args)}: "
                    f"{proc.stderr.strip()}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` as a read-only bind mount of itself."""
    _mount("--bind", str(path), str(path))
    try:
        _mount("-o", "remount,bind,ro", str(path))
        with pytest.raises(OSError) as e:
            (path / "probe").write_text("x")
        assert e.value.errno == errno.EROFS
        yield
    finally:
        _umount(path)


def _assert_clean_failure(result, root: Path, before: dict, *words: str) -> None:
    assert result.rc == 1, result
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr, result
    assert tree_state(root) == before  # same bytes, same mtimes: nothing was touched
    assert not temp_files(root)


def test_read_only_generated_folder(versions: Versions, tmp_path: Path) -> None:
    """One environment's hubs/ folder is on a read-only mount: the render fails while it stages the new
    files, before the first is renamed into place, so no environment changes."""
    root = versions.start(tmp_path / "repo", versions.a, versions.b)
    before = tree_state(root)
    with read_only(root / "environments" / env_name(3) / "hubs"):
        result = run_hubgen(["render"], cwd=root)
        _assert_clean_failure(result, root, before, "read-only file system", "nothing was changed",
                              f"environments/{env_name(3)}/hubs")
        # Reading still works.
        check = run_hubgen(["render", "--check", env_name(3)], cwd=root)
        assert check.rc == 1 and "HG401" in check.stdout, check
    after = run_hubgen(["render"], cwd=root)
    assert after.rc == 0, after


def test_read_only_repository(versions: Versions, tmp_path: Path) -> None:
    """A read-only checkout: `render` says so and exits 1; `validate` and `render --check`, which
    only read, still work (the lock is on the repository folder and writes nothing)."""
    root = versions.start(tmp_path / "repo", versions.b, versions.b)
    write_specs(root, ENVIRONMENTS, "A")
    before = tree_state(root)
    with read_only(root):
        result = run_hubgen(["render"], cwd=root)
        assert result.rc == 1, result
        assert "read-only file system" in result.stderr.lower() and "Traceback" not in result.output
        assert tree_state(root) == before
        check = run_hubgen(["render", "--check"], cwd=root)
        assert check.rc == 1 and "HG401" in check.stdout, check
        validate = run_hubgen(["validate", env_name(0)], cwd=root)
        assert "Traceback" not in validate.output and validate.rc in (0, 1), validate


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "disk"
    mnt.mkdir()
    _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt))
    try:
        yield mnt
    finally:
        _umount(mnt)


def _fill(disk: Path, leave: int) -> None:
    """Fill the filesystem, then free ``leave`` bytes (rounded to pages by tmpfs)."""
    filler = disk / "filler"
    chunk = b"\0" * 4096
    with open(filler, "wb", buffering=0) as f:
        try:
            while f.write(chunk):
                pass
        except OSError as e:
            assert e.errno == errno.ENOSPC
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave))


def test_full_disk(versions: Versions, tiny_disk: Path) -> None:
    """A repository on a full 1 MiB tmpfs with 0 KiB to 1 MiB left (so the render runs out of space
    while staging the first or the second environment's files, or not at all): every
    render either completes or fails with "no space left on device", exit 1 and the tree untouched."""
    outcomes = []
    for leave in (0, 16384, 49152, 81920, 114688, 1 << 20):
        root = tiny_disk / "repo"
        shutil.rmtree(root, ignore_errors=True)
        for f in tiny_disk.glob("filler"):
            f.unlink()
        # Only the parts a render reads, and two environments rendered at version A with B specs.
        root.mkdir()
        for part in ("schema", "manifests"):
            shutil.copytree(versions.a.template / part, root / part)
        for i in range(2):
            shutil.copytree(versions.a.template / "environments" / env_name(i), root / "environments" / env_name(i))
        write_specs(root, 2, "B")
        before = tree_state(root)
        _fill(tiny_disk, leave)
        result = run_hubgen(["render"], cwd=root)
        if result.rc == 0:
            outcomes.append("rendered")
            for i in range(2):
                env = env_name(i)
                current = {p.relative_to(root).as_posix(): p.read_bytes()
                           for g in GENERATED_DIRS
                           for p in (root / "environments" / env / g).rglob("*") if p.is_file()}
                assert current == versions.b.files[env]
        else:
            outcomes.append("refused")
            _assert_clean_failure(result, root, before, "no space left on device", "nothing was changed")
    assert outcomes[:2] == ["refused", "refused"] and outcomes[-1] == "rendered", outcomes
