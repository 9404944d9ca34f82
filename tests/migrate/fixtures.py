"""The migration suite's fixtures: the version 1 example specs (environments/dev and prod as they were before
`specVersion` existed, with the stack inputs and aws-auth ConfigMap hubgen rendered from them) and the upgraded
text expected of each.

They are copies, not `git show` of an old commit, so the suite runs in any checkout (an sdist, a shallow clone).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENVIRONMENTS = ("dev", "prod")


def v1_text(env: str) -> str:
    return (HERE / "v1" / f"{env}.yaml").read_text(encoding="utf-8")


def expected_text(env: str) -> str:
    return (HERE / "expected" / f"{env}.yaml").read_text(encoding="utf-8")


def v1_stack_inputs(env: str) -> dict:
    """The CodePipeline template configuration hubgen rendered from the version 1 spec: Parameters and Tags."""
    return json.loads((HERE / "v1" / f"{env}.template-configuration.json").read_text(encoding="utf-8"))


def v1_aws_auth(env: str) -> str:
    """The aws-auth ConfigMap hubgen rendered from the version 1 spec."""
    return (HERE / "v1" / f"{env}.aws-auth.yaml").read_text(encoding="utf-8")


def comment_lines(text: str) -> list[str]:
    """Every comment of a spec, as written (from '#' on); the examples have no '#' inside values."""
    return [m.group(1).rstrip() for m in re.finditer(r"(?:^|\s)(#[^\n]*)", text)]
