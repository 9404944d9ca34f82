"""The upgrade-notes table (issue 14): well formed, sourced, and :func:`crossed` picks exactly the notes an
upgrade passes, in version order."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from generator import versions
from generator.platform import eks_versions, upgrade_notes
from generator.platform.upgrade_notes import crossed

SCHEMA = Path(__file__).resolve().parents[2] / "schema" / "environment.schema.json"


def _versions(notes: list[upgrade_notes.UpgradeNote]) -> list[str]:
    return [n.version for n in notes]


def test_every_note_is_dated_sourced_and_actionable() -> None:
    table_day = date.fromisoformat(upgrade_notes.TABLE_DATE)
    for n in upgrade_notes.NOTES:
        assert n.component in upgrade_notes.COMPONENTS, n
        assert upgrade_notes.version_key(n.component, n.version) is not None, n
        assert date.fromisoformat(n.date) <= table_day, n
        assert re.match(r"^https://[^\s]+$", n.source), n
        assert n.title.strip() and len(n.action) > 40, n


def _schema_has(path: str) -> bool:
    """Whether the environment schema has ``path`` (``cluster.nodeGroups[].imageId``; ``auth.*`` is a hub's)."""
    schema = json.loads(SCHEMA.read_text())
    node = schema["$defs"]["hub"] if path.startswith("auth.") else schema
    for part in path.split("."):
        name, many = part.removesuffix("[]"), part.endswith("[]")
        node = node.get("properties", {}).get(name)
        if node is None:
            return False
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node
        if many:
            node = node["items"]
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node
    return True


def test_notes_name_spec_fields_hubgen_has() -> None:
    """An action pointing at a spec field must point at a real one (a renamed field would mislead)."""
    named = set()
    for n in upgrade_notes.NOTES:
        for field in re.findall(r"`((?:auth|cluster|hubs(?:\[\])?)\.[\w.\[\]]*)`", n.action):
            named.add(field)
            assert _schema_has(field), (n.title, field)
    assert {"auth.allowedUsers", "auth.oauth.allowedOrganizations", "auth.oauth.groups.allowed",
            "cluster.kubernetesVersion", "cluster.nodeGroups[].imageId", "hubs[].values"} <= named
    assert not _schema_has("cluster.nodeGroups[].imageIdx")


def test_kubernetes_notes_follow_the_eks_calendar() -> None:
    for n in upgrade_notes.NOTES:
        if n.component == upgrade_notes.KUBERNETES:
            v = eks_versions.lookup(n.version)
            assert v is not None and v.released.isoformat() == n.date, n


def test_chart_4_upgrade_names_jupyterhub_5_and_kubespawner_7() -> None:
    notes = crossed("jupyterhub", "3.3.8", "4.0.0")
    assert _versions(notes) == ["4.0.0", "4.0.0", "4.0.0"]
    text = " ".join(n.title + n.action for n in notes)
    assert "allow_all" in text and "auth.allowedUsers" in text
    assert "slug" in text and "PVC" in text
    assert "1.28" in text
    assert all(n.breaking and n.date == "2024-11-07" for n in notes)


@pytest.mark.parametrize("old,new,expected", [
    ("1.2.0", "4.4.0", ["2.0.0", "3.0.0", "3.3.0", "4.0.0", "4.0.0", "4.0.0", "4.3.0"]),
    ("3.0.3", "3.3.0", ["3.3.0"]),
    ("3.3.0", "3.3.8", []),  # old < version: a note of the old version itself is behind us
    ("4.0.0", "4.3.0", ["4.3.0"]),
    ("4.2.0", "4.3.5", ["4.3.0"]),
    ("4.3.0", "4.4.0", []),
    ("4.4.0", "3.3.8", []),  # a downgrade crosses nothing
    ("4.0.0", "4.0.0", []),
    ("3.3.8", "4.0.0-beta.1", []),  # a pre-release comes before its release
    ("4.0.0-beta.1", "4.0.0", ["4.0.0", "4.0.0", "4.0.0"]),
    ("3.10.0", "4.0.0", ["4.0.0", "4.0.0", "4.0.0"]),  # numeric, not string, order (3.10 > 3.3)
    ("not-a-version", "4.4.0", []),
])
def test_crossed_jupyterhub(old: str, new: str, expected: list[str]) -> None:
    assert _versions(crossed("jupyterhub", old, new)) == expected


@pytest.mark.parametrize("old,new,expected", [
    ("1.32", "1.33", ["1.33"]),
    ("1.31", "1.35", ["1.32", "1.33", "1.34", "1.35"]),
    ("1.28", "1.30", ["1.29", "1.30"]),
    ("1.33", "1.33", []),
    ("1.35", "1.33", []),
    ("1.9", "1.10", []),  # minor order, not string order; no note that old
    ("1.34.2", "1.35", ["1.35"]),
])
def test_crossed_kubernetes(old: str, new: str, expected: list[str]) -> None:
    assert _versions(crossed("kubernetes", old, new)) == expected


def test_crossed_is_in_version_order_and_per_component() -> None:
    notes = crossed("jupyterhub", "0.1.0", "99.0.0")
    keys = [upgrade_notes.semver_key(n.version) for n in notes]
    assert keys == sorted(keys)
    assert {n.component for n in notes} == {"jupyterhub"}
    assert len(notes) == sum(1 for n in upgrade_notes.NOTES if n.component == "jupyterhub")
    assert crossed("cluster-autoscaler", "9.0.0", versions.CLUSTER_AUTOSCALER_CHART.version) == []
    assert crossed("nvidia-device-plugin", "0.1.0", versions.NVIDIA_DEVICE_PLUGIN_CHART.version) == []


def test_the_pinned_versions_are_past_every_note() -> None:
    """hubgen's own pins must not sit below a note's version (a new `hubgen new` would start behind it)."""
    assert crossed("jupyterhub", versions.DEFAULT_CHART_VERSION, "99.0.0") == []
    assert crossed("kubernetes", versions.DEFAULT_KUBERNETES_VERSION, "1.99") == []


def test_semver_precedence() -> None:
    key = upgrade_notes.semver_key
    assert key("1.0.0-alpha") < key("1.0.0-alpha.1") < key("1.0.0-beta") < key("1.0.0-beta.2") \
        < key("1.0.0-beta.11") < key("1.0.0-rc.1") < key("1.0.0") < key("1.0.1")
    assert key("4.0.0+build.5") == key("4.0.0")
    assert key("4.0") is None and key("latest") is None
