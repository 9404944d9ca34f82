"""`hubgen plan`'s cost estimate and upgrade notes (issue 14), on real git histories made from the examples
and changed with the real `hubgen render`: what a reviewer reads in the text, markdown and JSON plans."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from generator.platform import prices

from .conftest import REPO_ROOT, commit_all, replace_once
from .test_plan import envs, plan, render

DEV = "environments/dev/environment.yaml"
LABEL = f"estimate, on-demand list prices of {prices.TABLE_DATE}, us-east-1"


def _validate(value: object, definition: str) -> None:
    """Against its definition in docs/output.schema.json (the plan's JSON has its own shape; its costs and
    upgrade notes are documented there)."""
    schema = json.loads((REPO_ROOT / "docs/output.schema.json").read_text())
    jsonschema.validate(value, {"$schema": schema["$schema"], "$defs": schema["$defs"],
                                "$ref": f"#/$defs/{definition}"})


def _both(run_hubgen, repo: Path) -> tuple[dict, str, str]:
    doc = plan(run_hubgen, repo, "--base", "HEAD~1", "--head", "HEAD")
    text = plan(run_hubgen, repo, "--base", "HEAD~1", "--head", "HEAD", fmt="text").stdout
    md = plan(run_hubgen, repo, "--base", "HEAD~1", "--head", "HEAD", fmt="markdown").stdout
    return doc, text, md


def test_cost_of_a_node_group_change(history, run_hubgen):
    """dev: one m5.xlarge core group, 1 to 4 nodes of 100 GiB: 0.192 USD/h x 730 h + 100 GB x 0.08 = 148.16
    per node; the control plane 0.10 x 730 = 73.00. Raising maxSize to 6 adds two nodes to the maximum."""
    replace_once(history / DEV, "maxSize: 4", "maxSize: 6")
    render(run_hubgen, history, "dev")
    commit_all(history, "dev: up to six nodes")
    doc, text, md = _both(run_hubgen, history)
    assert (f"   cost ({LABEL}): $221.16 - $961.96 per month\n"
            "     core (core) m5.xlarge x1-6, 100 GiB: $148.16 - $888.96\n"
            "     EKS control plane (1.35, standard support): $73.00\n"
            "     change: min +$0.00, max +$296.32 (was $221.16 - $665.64 per month)\n") in text
    assert f"**Cost** ({LABEL}): **$221.16 - $961.96 per month**" in md
    assert "Change: min +$0.00, max +$296.32 (was $221.16 - $665.64 per month)" in md
    assert "| `core` (core) | `m5.xlarge` x1-6, 100 GiB | $148.16 | $888.96 |" in md
    costs = envs(doc)["dev"]["costs"]
    assert (costs["minMonthlyUsd"], costs["maxMonthlyUsd"]) == (221.16, 961.96)
    assert costs["base"] == {"minMonthlyUsd": 221.16, "maxMonthlyUsd": 665.64}
    assert costs["change"] == {"min": "+$0.00", "max": "+$296.32"}
    assert costs["label"] == LABEL and costs["tableDate"] == prices.TABLE_DATE
    assert costs["nodeGroups"][0] == {
        "name": "core", "purpose": "core", "instanceTypes": ["m5.xlarge"], "pricedType": "m5.xlarge",
        "capacityType": "on-demand", "spotAtOnDemandPrice": False, "minSize": 1, "maxSize": 6, "diskGiB": 100,
        "nodeMonthlyUsd": 148.16, "minMonthlyUsd": 148.16, "maxMonthlyUsd": 888.96}
    _validate(costs, "planCosts")


def test_spot_groups_and_unknown_prices(history, run_hubgen):
    """A spot user group is priced at the on-demand rate and says so; a type the table cannot price makes its
    group and the totals unknown (never $0)."""
    spec = history / DEV
    replace_once(spec, "      diskSize: 100\n", "      diskSize: 100\n"
                 "    - name: spot\n      purpose: user\n      instanceTypes: [m5.2xlarge, m6i.2xlarge]\n"
                 "      capacityType: spot\n      minSize: 0\n      maxSize: 3\n      diskSize: 50\n")
    render(run_hubgen, history, "dev")
    commit_all(history, "dev: a spot group")
    doc, text, _ = _both(run_hubgen, history)
    # 0.384 x 730 + 50 x 0.08 = 284.32 per node.
    assert ("     spot (user) m5.2xlarge,m6i.2xlarge x0-3, 50 GiB: $0.00 - $852.96 "
            "(spot, shown at the on-demand price (upper bound); priced at its dearest type m5.2xlarge)") in text
    assert "change: min +$0.00, max +$852.96 (was $221.16 - $665.64 per month)" in text
    assert envs(doc)["dev"]["costs"]["nodeGroups"][1]["spotAtOnDemandPrice"] is True

    replace_once(spec, "instanceTypes: [m5.2xlarge, m6i.2xlarge]", "instanceTypes: [p5.48xlarge]")
    replace_once(spec, "      capacityType: spot\n", "")
    render(run_hubgen, history, "dev")
    commit_all(history, "dev: a p5 group")
    doc, text, md = _both(run_hubgen, history)
    assert "     spot (user) p5.48xlarge x0-3, 50 GiB: unknown (no price for p5.48xlarge)" in text
    assert f"   cost ({LABEL}): unknown - unknown per month" in text
    assert "change: min unknown, max unknown" in text
    assert "| unknown | unknown |" in md and "$0.00 - unknown" not in text
    costs = envs(doc)["dev"]["costs"]
    _validate(costs, "planCosts")
    assert costs["minMonthlyUsd"] is None and costs["maxMonthlyUsd"] is None
    assert costs["nodeGroups"][1]["nodeMonthlyUsd"] is None


def test_a_chart_upgrade_shows_the_notes_it_crosses(history, run_hubgen):
    """A hub moving from chart 3.3.8 to 4.4.0 crosses chart 4's breaking changes (JupyterHub 5's allowed users,
    KubeSpawner 7's names) and 4.3's hub.config check: each is a warning with what to do and a source."""
    spec = history / DEV
    replace_once(spec, "version: 4.4.0", "version: 3.3.8")
    render(run_hubgen, history, "dev")
    commit_all(history, "dev at chart 3")
    replace_once(spec, "version: 3.3.8", "version: 4.4.0")
    render(run_hubgen, history, "dev")
    commit_all(history, "dev: chart 4")
    doc, text, md = _both(run_hubgen, history)
    dev = envs(doc)["dev"]
    notes = dev["upgrade_notes"]
    assert [(n["where"], n["component"], n["from"], n["to"], n["version"]) for n in notes] == [
        ("hub dev", "jupyterhub", "3.3.8", "4.4.0", "4.0.0")] * 3 + [
        ("hub dev", "jupyterhub", "3.3.8", "4.4.0", "4.3.0")]
    assert all(n["source"].startswith("https://") and n["action"] and n["breaking"] for n in notes)
    assert "auth.allowedUsers" in notes[0]["action"]
    for note in notes:
        _validate(note, "upgradeNote")
    assert ("WARNING: breaking change crossed by hub dev jupyterhub 3.3.8 -> 4.4.0: jupyterhub 4.0.0 "
            "(2024-11-07): chart 4: JupyterHub 5 lets no one log in unless explicitly allowed") in text
    assert "slug scheme" in text
    assert "https://z2jh.jupyter.org/en/stable/administrator/upgrading/upgrade-3-to-4.html" in text
    assert "> breaking change crossed by hub dev jupyterhub 3.3.8 -&gt; 4.4.0: jupyterhub 4.0.0" in md
    assert len([w for w in dev["warnings"] if "crossed by" in w]) == 4


def test_a_kubernetes_upgrade_shows_the_eks_notes(history, run_hubgen):
    spec = history / DEV
    replace_once(spec, 'kubernetesVersion: "1.35"', 'kubernetesVersion: "1.34"')
    render(run_hubgen, history, "dev")
    commit_all(history, "dev at 1.34")
    replace_once(spec, 'kubernetesVersion: "1.34"', 'kubernetesVersion: "1.35"')
    render(run_hubgen, history, "dev")
    commit_all(history, "dev: 1.35")
    doc, text, _ = _both(run_hubgen, history)
    [note] = envs(doc)["dev"]["upgrade_notes"]
    assert (note["where"], note["component"], note["from"], note["to"], note["version"]) == (
        "cluster", "kubernetes", "1.34", "1.35", "1.35")
    assert "cgroup v1" in note["title"] and "cluster.nodeGroups[].imageId" in note["action"]
    assert "breaking change crossed by cluster kubernetes 1.34 -> 1.35: kubernetes 1.35" in text


def test_no_version_change_no_notes(history, run_hubgen):
    replace_once(history / DEV, "maxSize: 4", "maxSize: 5")
    render(run_hubgen, history, "dev")
    commit_all(history, "dev: five")
    doc, text, _ = _both(run_hubgen, history)
    assert envs(doc)["dev"]["upgrade_notes"] == [] and "crossed by" not in text
