"""Deploys that report back, as rendered: notification-controller Providers and Alerts per notifier of the spec
(cluster/notifications.yaml), drift detection on every HelmRelease, the <env>-secrets Kustomization whenever a
notifier reads a Secret, and kubeconform (with the pinned notification-controller CRDs) on the objects."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from generator.engines.kubeconform import check_manifests
from generator.paths import RepoPaths
from generator.render import flux, notifications
from generator.validate.environments import validate_one

NOTIFICATIONS = "environments/{}/cluster/notifications.yaml"


def _render(invoke_hubgen, repo: Path) -> None:
    r = invoke_hubgen(["--repo", repo, "render"])
    assert r.rc == 0, r


def _docs(repo: Path, env: str) -> dict[tuple[str, str], dict]:
    docs = yaml.safe_load_all((repo / NOTIFICATIONS.format(env)).read_text())
    return {(d["kind"], d["metadata"]["name"]): d for d in docs if d}


def test_prod_reports_to_github_and_slack(repo: Path, invoke_hubgen) -> None:
    _render(invoke_hubgen, repo)
    docs = _docs(repo, "prod")
    assert sorted(docs) == [("Alert", "prod-github"), ("Alert", "prod-slack"),
                            ("Provider", "prod-github"), ("Provider", "prod-slack")]
    for d in docs.values():
        assert d["apiVersion"] == "notification.toolkit.fluxcd.io/v1beta3"
        assert d["metadata"]["namespace"] == "flux-system"
        assert d["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "hubgen", "hubgen.dev/environment": "prod"}
    github = docs[("Provider", "prod-github")]["spec"]
    assert github == {"type": "github", "address": "https://github.com/asfadmin/jupyter-hubs",
                      "commitStatusExpr": "'hubgen/prod/' + event.involvedObject.name",
                      "secretRef": {"name": "github-commit-status"}}
    assert docs[("Provider", "prod-slack")]["spec"] == {"type": "slack", "channel": "#jupyter-ops",
                                                        "secretRef": {"name": "slack-webhook"}}
    kustomizations = [{"kind": "Kustomization", "name": n, "namespace": "flux-system"}
                      for n in ("flux-system", "prod-platform", "prod-secrets", "prod-hubs")]
    alert = docs[("Alert", "prod-github")]["spec"]
    # A commit status needs the git revision: only Kustomization events carry it.
    assert alert["providerRef"] == {"name": "prod-github"} and alert["eventSeverity"] == "info"
    assert alert["eventSources"] == kustomizations
    assert alert["eventMetadata"] == {"environment": "prod", "summary": "hubgen environment prod (cluster jupyter-prod)"}
    slack = docs[("Alert", "prod-slack")]["spec"]
    assert slack["eventSeverity"] == "error"
    assert slack["eventSources"] == kustomizations + [
        {"kind": "HelmRelease", "name": n, "namespace": ns}
        for ns, n in (("kube-system", "cluster-autoscaler"), ("kube-system", "nvidia-device-plugin"),
                      ("course", "course"), ("research", "research"))]


def test_every_alert_source_is_rendered(repo: Path, invoke_hubgen) -> None:
    """Each Kustomization and HelmRelease an Alert names is one the environment renders (or flux bootstrap's)."""
    _render(invoke_hubgen, repo)
    for env in ("dev", "prod"):
        rendered = {("Kustomization", "flux-system", "flux-system")}
        for path in (repo / "environments" / env).rglob("*.yaml"):
            if "/secrets/" in path.as_posix():
                continue
            for d in yaml.safe_load_all(path.read_text()):
                if isinstance(d, dict) and d.get("kind") in ("Kustomization", "HelmRelease") and "metadata" in d:
                    rendered.add((d["kind"], d["metadata"]["name"], d["metadata"].get("namespace")))
        for (kind, _name), d in _docs(repo, env).items():
            if kind == "Alert":
                for s in d["spec"]["eventSources"]:
                    assert (s["kind"], s["name"], s["namespace"]) in rendered, (env, s)


def test_dev_sets_commit_statuses_of_its_own(repo: Path, invoke_hubgen) -> None:
    """Two environments of one repository never share a commit status context (both clusters run a
    flux-system Kustomization): each context starts with hubgen/<env>/."""
    _render(invoke_hubgen, repo)
    docs = _docs(repo, "dev")
    assert sorted(docs) == [("Alert", "dev-github"), ("Provider", "dev-github")]
    assert docs[("Provider", "dev-github")]["spec"]["commitStatusExpr"] == "'hubgen/dev/' + event.involvedObject.name"
    assert [s["name"] for s in docs[("Alert", "dev-github")]["spec"]["eventSources"]] == [
        "flux-system", "dev-platform", "dev-secrets", "dev-hubs"]


def test_every_helmrelease_detects_and_corrects_drift(repo: Path, invoke_hubgen) -> None:
    _render(invoke_hubgen, repo)
    releases = []
    for path in (repo / "environments").rglob("*.yaml"):
        for d in yaml.safe_load_all(path.read_text()):
            if isinstance(d, dict) and d.get("kind") == "HelmRelease":
                releases.append(path)
                assert d["spec"]["driftDetection"] == {"mode": "enabled"}, path
    assert len(releases) >= 5  # dev's hub and autoscaler, prod's two hubs, autoscaler and device plugin


def _model(repo: Path, env: str):
    result = validate_one(RepoPaths(repo), env)
    assert result.ok, result.problems
    return result.context.model


def test_secrets_kustomization_follows_what_reads_secrets(repo: Path) -> None:
    """<env>-secrets is rendered when a hub or a notifier reads a Secret, and only then; no notifiers, no
    notifications file."""
    dev = _model(repo, "dev")
    no_hub_secrets = dataclasses.replace(dev, hubs=tuple(
        dataclasses.replace(h, auth=dataclasses.replace(h.auth, password_secret=None)) for h in dev.hubs))
    names = lambda env: [d["metadata"]["name"] for d in flux.flux_kustomizations(env)]  # noqa: E731
    assert "dev-secrets" in names(no_hub_secrets)  # the github notifier's token
    assert "dev-secrets" in names(dataclasses.replace(dev, notifiers=()))  # the hub's password
    silent = dataclasses.replace(no_hub_secrets, notifiers=())
    assert names(silent) == ["dev-platform", "dev-hubs"]
    assert notifications.render(silent) == []
    hubs = next(d for d in flux.flux_kustomizations(silent) if d["metadata"]["name"] == "dev-hubs")
    assert hubs["spec"]["dependsOn"] == [{"name": "dev-platform"}]


def test_kubeconform_with_the_notification_crds(repo: Path, invoke_hubgen, kubeconform_bin, monkeypatch) -> None:
    """The pinned notification-controller's CRDs are in the schema set lint uses: the rendered objects pass, and
    a wrong provider type or severity is refused where it is."""
    monkeypatch.setenv("HUBGEN_KUBECONFORM", str(kubeconform_bin))
    _render(invoke_hubgen, repo)
    files = [(NOTIFICATIONS.format(env), (repo / NOTIFICATIONS.format(env)).read_bytes()) for env in ("dev", "prod")]
    assert check_manifests(RepoPaths(repo), files, kubernetes_version="1.35.0") == []
    text = files[1][1].decode().replace("type: slack", "type: slak").replace("eventSeverity: error",
                                                                              "eventSeverity: warning")
    problems = check_manifests(RepoPaths(repo), [(files[1][0], text.encode())], kubernetes_version="1.35.0")
    got = {(p.code, p.message.split(":", 1)[0], p.message.split(": ")[1]) for p in problems}
    assert got == {("HG502", "Provider prod-slack (notification.toolkit.fluxcd.io/v1beta3)", "/spec/type"),
                   ("HG502", "Alert prod-slack (notification.toolkit.fluxcd.io/v1beta3)", "/spec/eventSeverity")}, problems
