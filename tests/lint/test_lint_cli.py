"""`hubgen lint` end to end: real files in a repository copy, the real CLI, the real engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lint.helpers import (clone_environment, copy_chart, fresh_cache, lint_json, only_cluster_template,
                                position, problems, replace_once)

CLUSTER = "manifests/cloudformation/cluster.yaml"
PROD = "environments/prod/environment.yaml"
DEV = "environments/dev/environment.yaml"


def test_committed_examples_lint_clean(repo, run_hubgen, lint_env, kubeconform_bin, helm_bin, kustomize_bin):
    """The acceptance bar: every engine runs on both examples, zero errors and zero warnings."""
    result = run_hubgen(["--format", "json", "lint"], cwd=repo, env=lint_env)
    assert result.rc == 0, result
    doc = json.loads(result.stdout)
    assert doc["summary"] == {"errors": 0, "warnings": 0}, doc["problems"]
    assert doc["environments"] == ["dev", "prod"]
    engines = doc["engines"]
    assert set(engines) == {"cfn-lint", "kubeconform", "values", "params", "chart"}
    assert engines["cfn-lint"]["version"] == "1.58.0"
    assert engines["kubeconform"]["version"] == "v0.7.0"
    # cfn-lint: every template x 2 regions (dev and prod deploy to different ones) + 2 environments.
    templates = [p for p in (repo / "manifests" / "cloudformation").iterdir() if p.suffix == ".yaml"]
    assert len(templates) >= 2
    assert engines["cfn-lint"]["units"] == 2 * len(templates) + 2
    assert engines["kubeconform"]["units"] == 2
    assert engines["values"]["units"] == 3  # dev has one hub, prod two
    assert engines["params"]["units"] == 2
    assert engines["chart"]["units"] == 2 and engines["chart"]["version"] == "helm v3.22.0, kustomize v5.8.2"


def test_text_output_and_exit_code_on_errors(repo, invoke_hubgen, lint_env):
    replace_once(repo / PROD, "        defaultUrl: /lab\n", "        defaultUrl: /lab\n        imagee: x\n")
    result = invoke_hubgen(["--repo", str(repo), "lint", "prod", "--engine", "values"])
    assert result.rc == 1, result
    assert "HG503" in result.stdout and "did you mean 'image'?" in result.stdout
    assert "lint: 1 environment, 1 error(s), 0 warning(s)" in result.stdout
    gh = invoke_hubgen(["--repo", str(repo), "--format", "github", "lint", "prod", "-e", "values"])
    assert gh.rc == 1
    line, col = position((repo / PROD).read_text(), "imagee")
    assert gh.stdout.startswith(f"::error file={PROD},line={line},col={col},title=HG503::")


# --- chart values schema ----------------------------------------------------------------

def test_wrong_z2jh_key_reported_at_its_spec_line(repo, invoke_hubgen, lint_env):
    text = replace_once(repo / PROD, "        defaultUrl: /lab\n",
                        "        defaultUrl: /lab\n        imagee:\n          name: quay.io/x/y\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "values")
    assert rc == 1
    [p] = problems(doc)
    assert p["code"] == "HG503" and p["severity"] == "error"
    assert (p["file"], p["line"], p["column"]) == (PROD, *position(text, "imagee"))
    assert p["path"] == "/hubs/1/values/singleuser/imagee"
    assert "unknown key 'imagee'" in p["message"] and "hub research" in p["message"]


def test_wrong_value_type_in_values_reported_at_the_value(repo, invoke_hubgen, lint_env):
    text = replace_once(repo / PROD, "      scheduling:\n        userScheduler:\n          enabled: true\n",
                        "      scheduling:\n        userScheduler:\n          enabled: sometimes\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "values")
    assert rc == 1
    [p] = problems(doc, "HG503")
    assert (p["line"], p["column"]) == position(text, "sometimes")
    assert "scheduling.userScheduler.enabled" in p["message"] and "boolean" in p["message"]


def test_generated_value_rejected_by_chart_points_at_the_feeding_spec_field(repo, tmp_path, invoke_hubgen,
                                                                               lint_env, chart_cache, monkeypatch):
    """A chart whose schema is stricter than the spec's: the error lands on the spec field, not the release."""
    chart = copy_chart(chart_cache / "jupyterhub-4.4.0", tmp_path / "charts" / "jupyterhub-4.4.0")
    schema = json.loads((chart / "values.schema.json").read_text())
    schema["properties"]["singleuser"]["properties"]["image"]["properties"]["tag"]["pattern"] = "^v[0-9]+$"
    (chart / "values.schema.json").write_text(json.dumps(schema))
    monkeypatch.setenv("HUBGEN_CHART_CACHE", str(tmp_path / "charts"))
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "values")
    assert rc == 1
    [p] = problems(doc, "HG503")
    text = (repo / DEV).read_text()
    assert p["path"] == "/hubs/0/singleuser/image/tag"
    tag_line = next(i for i, line in enumerate(text.splitlines(), 1) if line.strip().startswith("tag:"))
    assert (p["file"], p["line"]) == (DEV, tag_line)
    assert "singleuser.image.tag" in p["message"]


def test_missing_chart_schema_is_a_warning_never_a_pass(repo, tmp_path, invoke_hubgen, lint_env, monkeypatch):
    empty = tmp_path / "empty-charts"
    empty.mkdir()
    monkeypatch.setenv("HUBGEN_CHART_CACHE", str(empty))
    rc, doc = lint_json(invoke_hubgen, repo, "-e", "values")
    assert rc == 0  # a warning: nothing was proven wrong
    found = problems(doc, "HG504")
    assert {(p["environment"], p["path"]) for p in found} == {
        ("dev", "/hubs/0/chart/version"), ("prod", "/hubs/0/chart/version"), ("prod", "/hubs/1/chart/version")}
    assert all(p["severity"] == "warning" and "not checked" in p["message"] and "offline" in p["message"]
               for p in found)
    text = (repo / PROD).read_text()
    assert (found[1]["line"], found[1]["column"]) == position(text, "4.4.0")
    assert doc["engines"]["values"]["units"] == 0


def test_chart_cache_entry_without_schema_is_a_warning(repo, tmp_path, invoke_hubgen, lint_env, chart_cache,
                                                      monkeypatch):
    chart = copy_chart(chart_cache / "jupyterhub-4.4.0", tmp_path / "charts" / "jupyterhub-4.4.0")
    (chart / "values.schema.json").unlink()
    monkeypatch.setenv("HUBGEN_CHART_CACHE", str(tmp_path / "charts"))
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "values")
    assert rc == 0
    [p] = problems(doc)
    assert p["code"] == "HG504" and "has no values.schema.json" in p["message"]


# --- template parameters --------------------------------------------------------------

def test_undeclared_parameter_reported_at_the_feeding_spec_field(repo, invoke_hubgen, lint_env):
    replace_once(repo / CLUSTER, """  CoreNodeVolumeSize:
    Type: Number
""", """  CoreNodeVolumeSizeGiB:
    Type: Number
""")
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "params")
    assert rc == 1
    unknown, missing = sorted(problems(doc, "HG505"), key=lambda p: p["file"] != DEV)
    # The renamed declaration has no Default and hubgen does not write it: reported at the template.
    template_text = (repo / CLUSTER).read_text()
    assert (missing["file"], missing["line"], missing["column"]) == (CLUSTER, *position(template_text,
                                                                                         "CoreNodeVolumeSizeGiB:"))
    assert "has no Default" in missing["message"]
    p = unknown
    text = (repo / DEV).read_text()
    line, col = position(text, "diskSize: 100")
    assert (p["file"], p["line"], p["column"]) == (DEV, line, col + len("diskSize: "))
    assert p["path"] == "/cluster/nodeGroups/0/diskSize"
    assert "CoreNodeVolumeSize" in p["message"] and "not declared" in p["message"]


def test_value_failing_a_stricter_allowed_pattern(repo, invoke_hubgen, lint_env):
    """The spec's schema accepts m6i.2xlarge; a template that only allows *.large/*.xlarge for the first user
    group does not (prod's, in its spec's first list of instance types with m6i.2xlarge)."""
    declaration = "  UserNodeGroup1InstanceTypes:\n    Type: CommaDelimitedList\n"
    text = (repo / CLUSTER).read_text()
    start = text.index(declaration)
    old = text[start:text.index("\n  UserNodeGroup1CapacityType:", start)]
    assert old.count(r"[a-z][a-z0-9-]*\.[a-z0-9]+") == 1
    replace_once(repo / CLUSTER, old, old.replace(r"[a-z][a-z0-9-]*\.[a-z0-9]+", r"[a-z][a-z0-9-]*\.(large|xlarge)"))
    rc, doc = lint_json(invoke_hubgen, repo, "-e", "params")
    assert rc == 1
    [p] = problems(doc, "HG505")
    assert p["environment"] == "prod"  # dev's m5.xlarge passes
    text = (repo / PROD).read_text()
    assert (p["file"], p["line"], p["column"]) == (PROD, *position(text, "m6i.2xlarge"))
    assert "AllowedPattern" in p["message"] and "m6i.2xlarge" in p["message"]


def test_list_parameter_checked_item_by_item(repo, invoke_hubgen, lint_env):
    """Subnets is List<AWS::EC2::Subnet::Id>; a pattern on it applies to each item, located at that item."""
    replace_once(repo / CLUSTER, "    Type: List<AWS::EC2::Subnet::Id>\n",
                 "    Type: List<AWS::EC2::Subnet::Id>\n    AllowedPattern: ^subnet-0a1b2c3d4e5f6000[12]$\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "params")
    assert rc == 1
    [p] = problems(doc, "HG505")
    text = (repo / PROD).read_text()
    assert (p["line"], p["column"]) == position(text, "subnet-0a1b2c3d4e5f60003")
    assert p["path"] == "/cluster/subnets/2/id"


# --- cfn-lint ---------------------------------------------------------------------------

def test_template_error_reported_once_at_the_template_line(repo, invoke_hubgen, lint_env):
    text = replace_once(repo / CLUSTER, "      RetentionInDays: 90\n", "      RetentionInDays: 91\n")
    only_cluster_template(repo)
    clone_environment(repo, "dev", "dev2")  # two environments in one region: one template run, one batch
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "dev2", "-e", "cfn-lint")
    assert rc == 1
    found = problems(doc, "HG501")
    assert len(found) == 1, found  # a template problem, reported once, not once per environment
    [p] = found
    assert (p["file"], p["line"], p["column"]) == (CLUSTER, *position(text, "RetentionInDays: 91"))
    assert p["message"].startswith("E3030 ") and p["environment"] == ""
    assert p["severity"] == "error" and "E3030" in p["hint"]
    assert doc["engines"]["cfn-lint"]["units"] == 3  # the template in us-east-1, and each environment


def test_template_syntax_error(repo, invoke_hubgen, lint_env):
    replace_once(repo / CLUSTER, "      RetentionInDays: 90\n", "      RetentionInDays: [90\n")
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "-e", "cfn-lint", "-e", "params")
    assert rc == 1
    [e0000] = problems(doc, "HG501")
    assert e0000["file"] == CLUSTER and e0000["message"].startswith("E0000 ") and e0000["line"] > 1
    [params] = problems(doc, "HG505")
    assert params["file"] == CLUSTER and "does not parse" in params["message"]


def test_template_with_parameters_finding_lands_on_each_environments_spec(repo, invoke_hubgen, lint_env):
    """cfn-lint evaluates the template with each environment's values: a value the template misuses is
    reported per environment, at that environment's spec field. dev and dev2 share a region, so one
    cfn-lint run evaluates both; each finding still lands on its own environment."""
    replace_once(repo / CLUSTER, "      TargetType: instance\n      Protocol: HTTP\n      Port: !Ref NodeProxyPort\n",
                 "      TargetType: instance\n      Protocol: HTTP\n      Port: !Ref CoreNodeInstanceType\n")
    only_cluster_template(repo)
    clone_environment(repo, "dev", "dev2", ("instanceTypes: [m5.xlarge]", "instanceTypes: [c5.large]"))
    rc, doc = lint_json(invoke_hubgen, repo, "dev", "dev2", "-e", "cfn-lint")
    found = problems(doc, "HG501")
    by_env = {p["environment"]: p for p in found}
    assert set(by_env) == {"dev", "dev2"} and len(found) == 2, found  # no template-level finding either
    for env, instance_type in (("dev", "m5.xlarge"), ("dev2", "c5.large")):
        p = by_env[env]
        spec = f"environments/{env}/environment.yaml"
        text = (repo / spec).read_text()
        line, col = position(text, f"instanceTypes: [{instance_type}]")
        assert (p["file"], p["line"], p["column"]) == (spec, line, col + len("instanceTypes: ["))
        assert p["path"] == "/cluster/nodeGroups/0/instanceTypes/0"
        assert p["severity"] == "warning" and p["message"].startswith("W1030 ")
        assert "CoreNodeInstanceType" in p["message"] and CLUSTER in p["message"] and repr(instance_type) in p["message"]
    assert rc == 0  # warnings only


# --- kubeconform ------------------------------------------------------------------------

def test_release_name_limit_is_caught_by_the_schema_and_by_kubeconform(repo, invoke_hubgen, lint_env,
                                                                        kubeconform_bin):
    """A 54-character hub name is a valid DNS label, but Flux caps releaseName at 53 characters.

    The spec schema refuses it up front (HG106 at the name); kubeconform is the second line of
    defence: the same HelmRelease, rendered from a model that skipped the schema, is HG502.
    """
    import yaml

    from generator.engines.kubeconform import check_manifests
    from generator.model import build
    from generator.paths import RepoPaths
    from generator.render import render_environment

    name = "research-" + "x" * 45
    text = replace_once(repo / PROD, "  - name: research\n", f"  - name: {name}\n")
    rc, doc = lint_json(invoke_hubgen, repo, "prod", "-e", "kubeconform")
    assert rc == 1
    [p] = problems(doc, "HG106")
    assert p["file"] == PROD and p["line"] == text.splitlines().index(f"  - name: {name}") + 1

    files = [f for f in render_environment(build(yaml.safe_load(text))) if f.path.endswith("helmrelease.yaml")]
    found = check_manifests(RepoPaths(repo), files)
    [k] = [q for q in found if q.code == "HG502"]
    assert k.location.file == f"environments/prod/hubs/{name}/helmrelease.yaml"
    assert "/spec/releaseName" in k.message and "53" in k.message
    assert k.location.line > 3


def test_kubeconform_missing_is_an_error(repo, tmp_path, invoke_hubgen, lint_env, monkeypatch):
    monkeypatch.setenv("HUBGEN_KUBECONFORM", str(tmp_path / "no-such-kubeconform"))
    rc, doc = lint_json(invoke_hubgen, repo, "-e", "kubeconform")
    assert rc == 1
    [p] = problems(doc)
    assert p["code"] == "HG506" and p["severity"] == "error" and "not validated" in p["message"]


# --- caching ------------------------------------------------------------------------------

def test_second_run_is_served_from_the_cache_and_no_cache_bypasses_it(repo, tmp_path, invoke_hubgen, lint_env,
                                                                     kubeconform_bin, session_cache, monkeypatch):
    monkeypatch.setenv("HUBGEN_CACHE_DIR", str(fresh_cache(tmp_path, session_cache)))
    only_cluster_template(repo)  # caching is the subject here, not the other templates
    engines = ("-e", "cfn-lint", "-e", "kubeconform", "-e", "values")
    rc, cold = lint_json(invoke_hubgen, repo, "dev", *engines)
    assert rc == 0, cold["problems"]
    for name in ("cfn-lint", "kubeconform", "values"):
        assert cold["engines"][name]["cached"] == 0 and cold["engines"][name]["units"] > 0

    rc, warm = lint_json(invoke_hubgen, repo, "dev", *engines)
    assert rc == 0
    for name in ("cfn-lint", "kubeconform", "values"):
        assert warm["engines"][name]["cached"] == warm["engines"][name]["units"] == cold["engines"][name]["units"]
    assert warm["problems"] == cold["problems"]

    rc, bypass = lint_json(invoke_hubgen, repo, "dev", "--no-cache", "-e", "kubeconform", "-e", "values")
    assert rc == 0
    assert bypass["engines"]["kubeconform"]["cached"] == 0 and bypass["engines"]["values"]["cached"] == 0


def test_changed_environment_is_relinted_unchanged_one_is_not(repo, tmp_path, invoke_hubgen, lint_env, kubeconform_bin,
                                                              session_cache, monkeypatch):
    monkeypatch.setenv("HUBGEN_CACHE_DIR", str(fresh_cache(tmp_path, session_cache)))
    rc, _ = lint_json(invoke_hubgen, repo, "-e", "kubeconform", "-e", "values")
    assert rc == 0
    replace_once(repo / PROD, "        defaultUrl: /lab\n", "        defaultUrl: /tree\n")
    rc, doc = lint_json(invoke_hubgen, repo, "-e", "kubeconform", "-e", "values")
    assert rc == 0
    # kubeconform: dev's manifests are unchanged (cached), prod's HelmRelease changed.
    assert (doc["engines"]["kubeconform"]["units"], doc["engines"]["kubeconform"]["cached"]) == (2, 1)
    # values: dev's hub and prod's course hub are unchanged; prod's research hub changed.
    assert (doc["engines"]["values"]["units"], doc["engines"]["values"]["cached"]) == (3, 2)


def test_corrupt_cache_entries_are_ignored(repo, tmp_path, invoke_hubgen, lint_env, kubeconform_bin, session_cache,
                                          monkeypatch):
    cache = fresh_cache(tmp_path, session_cache)
    monkeypatch.setenv("HUBGEN_CACHE_DIR", str(cache))
    replace_once(repo / PROD, "        defaultUrl: /lab\n", "        defaultUrl: /lab\n        imagee: x\n")
    rc, first = lint_json(invoke_hubgen, repo, "prod", "-e", "values", "-e", "kubeconform")
    assert rc == 1
    entries = list((cache / "lint").rglob("*.json"))
    assert entries
    for i, f in enumerate(entries):
        f.write_text(["{not json", "[]", '{"format": "1", "key": "other", "payload": []}'][i % 3])
    rc, second = lint_json(invoke_hubgen, repo, "prod", "-e", "values", "-e", "kubeconform")
    assert rc == 1
    assert second["problems"] == first["problems"]
    assert second["engines"]["values"]["cached"] == 0 and second["engines"]["kubeconform"]["cached"] == 0


# --- validation first, usage -------------------------------------------------------------

def test_environment_with_spec_errors_is_reported_and_not_linted(repo, invoke_hubgen, lint_env):
    replace_once(repo / DEV, "      diskSize: ", "      diskSize: 5\n      bogusField: ")
    rc, doc = lint_json(invoke_hubgen, repo, "-e", "params", "-e", "values")
    assert rc == 1
    assert doc["skipped"] == ["dev"]
    assert {p["environment"] for p in doc["problems"]} == {"dev"}
    assert all(p["code"].startswith("HG1") for p in doc["problems"])
    assert doc["engines"]["params"]["units"] == 1  # prod was linted


@pytest.mark.parametrize("args", [["lint", "nosuchenv"], ["lint", "-e", "shellcheck"], ["lint", "../prod"]])
def test_usage_errors_exit_2(repo, invoke_hubgen, lint_env, args):
    result = invoke_hubgen(["--repo", str(repo), *args])
    assert result.rc == 2, result
    assert "Traceback" not in result.stderr


def test_lint_writes_nothing_into_the_repository(repo, invoke_hubgen, lint_env, tree_state):
    before = tree_state(repo)
    rc, _ = lint_json(invoke_hubgen, repo, "-e", "params", "-e", "values")
    assert rc == 0
    assert tree_state(repo) == before
    assert not Path(repo, ".hubgen", "cache").exists()  # the cache lives where HUBGEN_CACHE_DIR says
