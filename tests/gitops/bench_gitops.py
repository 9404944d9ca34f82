"""Benchmark of the GitOps commands on a repository with many environments (not a test; run by hand):

    .venv/bin/python tests/gitops/bench_gitops.py [N]      # N environments (default 100)

Builds a git repository with N rendered environments (copies of the prod example), then reports the
median wall time of 5 runs of:

* ``hubgen plan`` after a change to one environment, and after a change to the shared template
  (every environment affected, all N planned);
* the pre-commit entry points on a commit touching ONE environment: ``hubgen hook all`` (the one hook;
  without the engines, which bench/run.py measures) and the single ``hubgen hook validate`` and
  ``hubgen hook render-check``;

and the same on the 2-environment examples, with the ratio. Use an idle machine: medians, not means.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HUBGEN = str(Path(sys.executable).parent / "hubgen")
RUNS = 5


def sh(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def build(dest: Path, n: int) -> Path:
    for part in ("environments", "schema", "manifests"):
        shutil.copytree(REPO_ROOT / part, dest / part, symlinks=True)
    for i in range(max(0, n - 2)):
        name = f"p{i:03d}"
        shutil.copytree(dest / "environments/prod", dest / f"environments/{name}")
        spec = dest / f"environments/{name}/environment.yaml"
        text = re.sub(r"(?m)^name: .*$", f"name: {name}", spec.read_text(), count=1)
        text = re.sub(r"(?m)^  stackName: .*$", f"  stackName: jupyter-{name}", text, count=1)
        spec.write_text(text)
    sh([HUBGEN, "render"], dest)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "base"]):
        sh(["git", *args], dest)
    return dest


def median_of(args: list[str], cwd: Path) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        sh(args, cwd)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(repo: Path) -> dict[str, float]:
    spec = repo / "environments/dev/environment.yaml"
    original = spec.read_text()
    spec.write_text(original.replace("maxSize: 4", "maxSize: 5"))
    out = {
        "plan, one environment changed": median_of([HUBGEN, "plan", "--base", "HEAD", "--format", "json"], repo),
        "hook all (no engines), one environment": median_of(
            [HUBGEN, "hook", "all", "--skip", "cfn-lint,kubeconform", "environments/dev/environment.yaml"], repo),
        "hook validate, one environment": median_of([HUBGEN, "hook", "validate", "environments/dev/environment.yaml"], repo),
        "hook render-check, one environment": median_of(
            [HUBGEN, "hook", "render-check", "environments/dev/environment.yaml"], repo),
    }
    spec.write_text(original)
    template = repo / "manifests/cloudformation/cluster.yaml"
    text = template.read_text()
    template.write_text(text + "# bench\n")
    out["plan, template changed (all affected)"] = median_of([HUBGEN, "plan", "--base", "HEAD", "--format", "json"], repo)
    template.write_text(text)
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as tmp:
        small = measure(build(Path(tmp) / "small", 2))
        big = measure(build(Path(tmp) / "big", n))
    print(f"{'median of ' + str(RUNS):<40} {'2 envs':>8} {str(n) + ' envs':>9} {'ratio':>6}")
    for key in small:
        print(f"{key:<40} {small[key]:>7.2f}s {big[key]:>8.2f}s {big[key] / small[key]:>6.1f}")


if __name__ == "__main__":
    main()
