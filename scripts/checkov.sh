#!/usr/bin/env bash
# checkov (pinned: generator/versions.py CHECKOV_VERSION) on the CloudFormation templates and on
# every generated Kubernetes manifest (environments/*/cluster, environments/*/hubs).
#
# Every finding is either fixed or skipped inline, next to what it is about, with a written reason:
#   CloudFormation: on the resource,
#       Metadata:
#         checkov:
#           skip:
#             - id: CKV_AWS_xx
#               comment: why this does not apply / what covers it instead
#   Generated Kubernetes manifests: the renderer emits the annotation
#       checkov.io/skip1: CKV_K8S_xx=why
#     (none is needed today).
# There is no baseline file and no skip list here: `checkov` below runs with its defaults.
#
# checkov lives in its own virtual environment (.tools/checkov): its dependency pins clash with
# hubgen's (checkov 3.3.30 needs boto3<1.36, hubgen pins boto3 1.43). The first run installs it
# from PyPI; later runs reuse it while the pinned version is unchanged (stamp file).
#
# Not covered by checkov: the HelmReleases' rendered charts (the chart cannot be fetched offline;
# `hubgen lint` validates the values against the chart's own schema instead).
#
# Usage: bash scripts/checkov.sh     Exit: 0 clean, 1 findings, 2 setup problem.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${HUBGEN_CHECKOV_VENV:-$REPO/.tools/checkov}"

version="$("$PYTHON" -c 'import runpy, sys; print(runpy.run_path(sys.argv[1])["CHECKOV_VERSION"])' \
    "$REPO/generator/versions.py")" || { echo "checkov.sh: cannot read CHECKOV_VERSION" >&2; exit 2; }
stamp="$VENV/.checkov.version"
if [ ! -x "$VENV/bin/checkov" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$version" ]; then
    echo "checkov.sh: installing checkov==$version into $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || exit 2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$version" || exit 2
    printf '%s\n' "$version" > "$stamp"
fi

cd "$REPO"
# Files, not directories: checkov repeats its report once per -d, and ignores -f once a -d is given.
targets=()
shopt -s nullglob globstar
for f in manifests/cloudformation/*.yaml environments/*/cluster/**/*.yaml environments/*/hubs/**/*.yaml; do
    targets+=(-f "$f")
done

# --skip-download: never contact Prisma Cloud (no network in CI; no remote policies or suppressions).
# LOG_LEVEL=CRITICAL: checkov logs a Python traceback for a check it cannot evaluate - CKV_AWS_25/24/260
# on cluster.yaml's optional hub ports (`FromPort: !Ref Hub2NodeProxyPort`, default ""), which
# checkov tries to int(). Those rules (ports 3389/22/80 open to 0.0.0.0/0) cannot apply to rules
# whose source is the load balancer's security group; tests/secrets/test_safe_defaults.py proves no
# template opens anything to 0.0.0.0/0 by itself.
echo "checkov.sh: checkov $("$VENV/bin/checkov" --version) on $(( ${#targets[@]} / 2 )) files (templates and generated manifests)"
set +e
LOG_LEVEL=CRITICAL BC_SKIP_MAPPING=TRUE "$VENV/bin/checkov" --framework cloudformation kubernetes \
    --skip-download --compact --quiet "${targets[@]}"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
    echo "checkov.sh: findings above; fix them, or skip inline with a written reason (see the header of $0)" >&2
    exit 1
fi
echo "checkov.sh: no findings"
