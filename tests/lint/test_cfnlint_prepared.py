"""cfn-lint in a prepared process (generator.engines.cfnlint.prepare): the same findings as in this process, cfn-lint
never loaded here, a job that fails there run (and failing) here, and nothing left running.

Each case runs in a fresh Python process: whether cfn-lint is already loaded decides what prepare() does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

SCRIPT = r"""
import json, sys
from pathlib import Path

from generator.engines import cfnlint as C
from generator.paths import RepoPaths
from generator.render.cloudformation import parameters
from generator.validate.environments import validate

repo = RepoPaths(Path(sys.argv[1]))
result = validate(repo, ["dev", "prod"], files=False)
envs = [(n, r.context.model.region, parameters(r.context.model)) for n, r in result.environments.items()]
# A parameter value the template refuses, so that there is a finding to compare.
bad = dict(envs[0][2], VpcId="not-a-vpc")
envs.append(("bad", envs[0][1], bad))
text = (repo.root / "manifests/cloudformation/cluster.yaml").read_text()
out = {"prepared": C.prepare()}
out["via_prepared"] = C.run_job(C.evaluate_environments, text, envs, {})
out["template_via_prepared"] = C.run_job(C.parallel_map, C.lint_template, [(text, "us-east-1")])
out["loaded_here"] = "cfnlint" in sys.modules
try:
    C.run_job(C.evaluate_environments, text, None, {})  # fails there, then here
    out["error"] = None
except Exception as e:
    out["error"] = type(e).__name__
child = C._PREPARED
C.release()
out["released"] = C._PREPARED is None and (child is None or not child[0].is_alive())
out["here"] = C.evaluate_environments(text, envs, {})
out["template_here"] = C.parallel_map(C.lint_template, [(text, "us-east-1")])
print(json.dumps(out))
"""


def run(env_extra: dict[str, str] | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBGEN_")}
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(REPO_ROOT)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_prepared_process_finds_what_this_process_finds():
    out = run()
    if not out["prepared"]:  # one CPU, or no fork: everything ran here
        assert out["loaded_here"]
        return
    assert out["loaded_here"] is False  # cfn-lint was loaded and run in the prepared process only
    assert out["via_prepared"] == out["here"]
    assert out["template_via_prepared"] == out["template_here"]
    assert out["here"]["bad"]["findings"], "the refused parameter value must be found"
    assert not out["here"]["dev"]["findings"] and not out["here"]["prod"]["findings"]
    assert out["error"] == "TypeError"
    assert out["released"]


def test_no_prepared_process_with_one_job():
    out = run({"HUBGEN_JOBS": "1"})
    assert out["prepared"] is False and out["loaded_here"]
    assert out["via_prepared"] == out["here"]
