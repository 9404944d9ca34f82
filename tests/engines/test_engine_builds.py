"""The engines `.ci/build-engines` builds into .tools/bin run, and are the versions generator/versions.py pins.

For every engine in :data:`generator.versions.ENGINES`:

* the binary runs and says its version the way its users see it (``helm version --short``,
  ``kube-apiserver --version``, ``etcd --version``, ``flux version --client``, ...); the Flux controllers
  have no version flag, so they answer ``--help`` and their build information says the rest;
* its Go build information (``go version -m``) names the pinned module version, the published staging
  modules standing in for k8s.io/kubernetes' local replaces, and the pins of ENGINE_PINS;
* its stamp is the one the build script writes for the current pins, so a stale binary is caught.

A binary that is not built is skipped, saying how to build it, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from generator.engines import flux_crds
from generator.versions import ENGINE_PINS, ENGINES, FLUX_CONTROLLERS, KUBERNETES_ENGINE_VERSION

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("HUBGEN_TOOLS_BIN") or REPO_ROOT / ".tools/bin")
BUILD_SCRIPT = REPO_ROOT / ".ci/build-engines"
TIMEOUT = 60


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing(message: str) -> None:
    if _ci():
        pytest.fail(message)
    pytest.skip(message)


def _recipe_revision() -> str:
    match = re.search(r"^RECIPE=(\S+)$", BUILD_SCRIPT.read_text(), re.MULTILINE)
    assert match, f"{BUILD_SCRIPT} has no RECIPE= line"
    return match.group(1)


def _versions_line(name: str) -> str:
    recipe, module, version, package = ENGINES[name]
    pins = ",".join(f"{m}@{v}" for m, v in ENGINE_PINS.get(name, {}).items()) or "-"
    return f"{name} {recipe} {module} {version} {package} {pins}"


def _binary(name: str) -> Path:
    binary = BIN / name
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        _missing(f"{binary} is not built; run `bash .ci/build-engines {name}` (or `make tools`)")
    stamp = BIN / f".{name}.version"
    want = f"{_versions_line(name)} recipe={_recipe_revision()}"
    assert stamp.is_file() and stamp.read_text().strip() == want, \
        f"{binary} was built for other pins than generator/versions.py's; run `bash .ci/build-engines {name}`"
    return binary


def _run(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": os.environ.get("HOME", "/tmp"), "NO_COLOR": "1"}
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=TIMEOUT, env=env,
                          stdin=subprocess.DEVNULL)


def _go() -> str | None:
    return shutil.which("go") or next((p for p in ("/usr/local/go/bin/go",) if os.access(p, os.X_OK)), None)


def test_versions_py_lists_every_engine_for_the_build_script() -> None:
    """``python3 generator/versions.py engines`` (stdlib only: it runs before hubgen is installed) prints
    the table the build script reads, one line per engine, with the pins."""
    proc = subprocess.run([sys.executable, "-I", str(REPO_ROOT / "generator/versions.py"), "engines"],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.splitlines() == [_versions_line(name) for name in ENGINES]
    assert {"helm", "kustomize", "kwok", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd",
            "flux", "source-controller", "kustomize-controller", "helm-controller",
            "notification-controller"} <= set(ENGINES)
    assert re.search(r"^source-controller copy github\.com/fluxcd/source-controller v\S+ \. "
                     r"github\.com/fluxcd/pkg/artifact@v0\.18\.1$", proc.stdout, re.MULTILINE), proc.stdout


def _version_output(name: str, version: str) -> tuple[tuple[str, ...], str]:
    """The version command of each engine, and what it must print."""
    bare = version.removeprefix("v")
    if name == "helm":
        return ("version", "--short"), rf"^{re.escape(version)}(\+\S*)?$"
    if name == "kustomize":
        return ("version",), rf"^{re.escape(version)}$"
    if name == "kwok":
        return ("--version",), rf"^kwok version {re.escape(version)} "
    if name.startswith("kube-"):
        return ("--version",), rf"^Kubernetes {re.escape(version)}$"
    if name == "etcd":
        return ("--version",), rf"^etcd Version: {re.escape(bare)}$"
    if name == "flux":
        return ("version", "--client"), rf"^flux: {re.escape(version)}$"
    raise AssertionError(f"no version command known for {name}")


@pytest.mark.parametrize("name", [n for n in ENGINES if not n.endswith("-controller")])
def test_engine_reports_its_pinned_version(name: str) -> None:
    binary = _binary(name)
    args, pattern = _version_output(name, ENGINES[name][2])
    proc = _run(binary, *args)
    assert proc.returncode == 0, f"{binary} {' '.join(args)} -> {proc.returncode}\n{proc.stdout}{proc.stderr}"
    assert re.search(pattern, proc.stdout.strip(), re.MULTILINE), \
        f"{binary} {' '.join(args)} printed {proc.stdout!r}, expected /{pattern}/"


@pytest.mark.parametrize("name", [n for n in ENGINES if n.endswith("-controller")])
def test_flux_controller_runs(name: str) -> None:
    """The controllers have no version flag: ``--help`` shows they start and parse their flags."""
    binary = _binary(name)
    proc = _run(binary, "--help")
    usage = proc.stdout + proc.stderr
    assert proc.returncode in (0, 2), f"{binary} --help -> {proc.returncode}\n{usage}"
    assert "--metrics-addr" in usage and "--watch-all-namespaces" in usage, usage


def _build_info(binary: Path) -> dict[str, dict[str, str]]:
    """``go version -m``: {"path": {...}, "mod": {module: version}, "dep": {module: version}, "=>": {...}}."""
    go = _go()
    if go is None:
        _missing("Go is not installed: `go version -m` reads the engines' build information")
    proc = subprocess.run([go, "version", "-m", str(binary)], capture_output=True, text=True, check=True,
                          env={**os.environ, "GOTOOLCHAIN": "local"})
    info: dict[str, dict[str, str]] = {"mod": {}, "dep": {}, "=>": {}, "build": {}}
    replaced_by: dict[str, str] = {}
    last_dep = ""
    for line in proc.stdout.splitlines()[1:]:
        fields = line.strip().split("\t")
        kind = fields[0]
        if kind in ("mod", "dep") and len(fields) >= 3:
            info[kind][fields[1]] = fields[2]
            last_dep = fields[1]
        elif kind == "=>" and len(fields) >= 3:
            replaced_by[last_dep] = f"{fields[1]}@{fields[2]}"
        elif kind == "build" and "=" in fields[1]:
            key, _, value = fields[1].partition("=")
            info["build"][key] = value
    info["=>"] = replaced_by
    return info


@pytest.mark.parametrize("name", list(ENGINES))
def test_engine_is_built_from_the_pinned_modules(name: str) -> None:
    binary = _binary(name)
    recipe, module, version, _ = ENGINES[name]
    info = _build_info(binary)
    assert info["build"].get("CGO_ENABLED") == "0", info["build"]
    if recipe == "install":
        assert info["mod"].get(module) == version, info["mod"]
    elif recipe == "kubernetes":
        assert info["dep"].get(module) == version, "k8s.io/kubernetes is not the pinned version"
        staging = "v0." + KUBERNETES_ENGINE_VERSION.removeprefix("v1.")
        for dep in ("k8s.io/api", "k8s.io/apimachinery", "k8s.io/apiserver", "k8s.io/client-go"):
            assert info["=>"].get(dep) == f"{dep}@{staging}", (dep, info["=>"].get(dep))
    else:  # a writable copy of the module: the main module is the project itself
        assert module in info["mod"], info["mod"]
        if name.endswith("-controller"):
            api = f"{module}/api"
            assert info["dep"].get(api) == version and api not in info["=>"], (api, info["dep"].get(api))
        if name == "etcd":
            for dep in ("go.etcd.io/etcd/api/v3", "go.etcd.io/etcd/client/v3", "go.etcd.io/etcd/pkg/v3"):
                assert info["dep"].get(dep) == version and dep not in info["=>"], dep
    for pinned, pinned_version in ENGINE_PINS.get(name, {}).items():
        assert info["=>"].get(pinned) == f"{pinned}@{pinned_version}", (pinned, info["=>"].get(pinned))


def test_helm_assumes_the_kubernetes_its_client_libraries_speak(tmp_path: Path) -> None:
    """A plain ``go install``ed helm assumes Kubernetes 1.20 without ``--kube-version`` (and the JupyterHub
    chart requires >= 1.28); the build sets helm's release ldflags, so it assumes its client-go's minor."""
    binary = _binary("helm")
    chart = tmp_path / "probe"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    (chart / "templates/cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n"
        "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n")
    env_home = tmp_path / "home"
    env_home.mkdir()
    proc = subprocess.run([str(binary), "template", "probe", str(chart)], capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, "HOME": str(env_home), "HELM_CACHE_HOME": str(env_home),
                                                "HELM_CONFIG_HOME": str(env_home), "HELM_DATA_HOME": str(env_home)})
    assert proc.returncode == 0, proc.stderr
    match = re.search(r'kube: "v1\.(\d+)\.\d+"', proc.stdout)
    assert match, proc.stdout
    assert int(match.group(1)) >= int(KUBERNETES_ENGINE_VERSION.split(".")[1]), proc.stdout


def test_flux_cli_embeds_the_pinned_controllers_manifests(tmp_path: Path) -> None:
    """``flux install --export`` writes the manifests the build bundled from the pinned controllers' modules
    (upstream fetches them from GitHub releases): every default component at its pinned image tag."""
    binary = _binary("flux")
    proc = _run(binary, "install", "--export")
    assert proc.returncode == 0, proc.stderr
    for module, version in FLUX_CONTROLLERS.items():
        name = module.rsplit("/", 1)[1]
        assert re.search(rf"image: ghcr\.io/fluxcd/{name}:{re.escape(version)}\b", proc.stdout), name
    crds = {d["metadata"]["name"] for d in yaml.safe_load_all(proc.stdout)
            if d and d.get("kind") == "CustomResourceDefinition"}
    assert "helmreleases.helm.toolkit.fluxcd.io" in crds
    # The same CRDs hubgen validates against (generator/engines/flux_crds.py reads the same modules).
    assert crds == {yaml.safe_load(f.read_text())["metadata"]["name"] for f in flux_crds.crd_files()}


def test_a_second_run_is_seconds() -> None:
    """With every engine built and stamped, the build script checks the stamps and builds nothing."""
    for name in ENGINES:
        _binary(name)
    start = time.monotonic()
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HUBGEN_TOOLS_BIN": str(BIN)}, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "build-engines: 0 built" in proc.stdout, proc.stdout
    assert proc.stdout.count("(up to date)") == len(ENGINES), proc.stdout
    assert elapsed < 30, f"a run with nothing to build took {elapsed:.1f}s"
