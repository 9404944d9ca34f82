"""How `hubgen new` fills a draft (environment.complete): version 2 defaults for a new spec, a copy (--from) that
keeps the source's node groups as they are, prompts only for node groups that exist, --set values that are final.

These run on the draft alone (no repository, no validation): what the spec *is* before it is checked."""

from __future__ import annotations

import copy

import yaml

from generator.scaffold import environment as E
from generator.scaffold import fields as F

from .util import ROOT, VALID_SETS


def _fresh(name: str = "stage", **overrides: str) -> E.Draft:
    draft = E.Draft(name, {"name": name, "secrets": {"provider": "kms"}})
    E.apply_sets(draft, [f"{k}={v}" for k, v in {**VALID_SETS, **overrides}.items()])
    return draft


def _copy_of(source: str, name: str = "copy") -> E.Draft:
    spec = yaml.safe_load((ROOT / f"environments/{source}/environment.yaml").read_text(encoding="utf-8"))
    spec["name"] = name
    return E.Draft(name, copy.deepcopy(spec), source=source, original=spec)


def test_a_new_spec_is_version_2_with_a_core_and_a_user_group_and_no_ami():
    draft = _fresh()
    assert E.complete(draft) == []
    spec = draft.spec
    assert spec["specVersion"] == F.spec_version() == 2
    cluster = spec["cluster"]
    assert "nodes" not in cluster
    assert cluster["kubernetesVersion"] == "1.35"
    core, user = cluster["nodeGroups"]
    assert core == {"name": "core", "purpose": "core", "instanceTypes": ["m6i.large"], "minSize": 1, "maxSize": 3,
                    "diskSize": 50}
    # The user group lives in the first subnet's zone: a returning user's home volume is there.
    assert user == {"name": "user", "purpose": "user", "instanceTypes": ["m6i.xlarge"], "capacityType": "on-demand",
                    "minSize": 0, "maxSize": 10, "diskSize": 100, "availabilityZone": "us-east-1a"}
    assert not any(k in g for g in cluster["nodeGroups"] for k in ("imageId", "releaseVersion"))
    assert cluster["storage"] == {"classes": [{"name": "gp3", "volumeType": "gp3", "default": True}]}
    assert (cluster["authenticationMode"], cluster["autoscaler"]) == ("API", {"enabled": True})


def test_the_user_zone_follows_the_subnets_given():
    draft = _fresh(**{"cluster.subnets": "subnet-0123abcd:us-east-1c,subnet-4567abcd:us-east-1a"})
    E.complete(draft)
    assert draft.spec["cluster"]["nodeGroups"][1]["availabilityZone"] == "us-east-1c"


def test_set_inside_a_node_group_keeps_the_other_defaults():
    draft = _fresh(**{"cluster.nodeGroups.1.instanceTypes": "g5.xlarge", "cluster.nodeGroups.1.maxSize": "2"})
    E.complete(draft)
    user = draft.spec["cluster"]["nodeGroups"][1]
    assert (user["name"], user["instanceTypes"], user["minSize"], user["maxSize"]) == ("user", ["g5.xlarge"], 0, 2)


def test_set_of_the_whole_list_gets_no_defaults_inside():
    draft = _fresh(**{"cluster.nodeGroups": "[{name: only, purpose: core, instanceTypes: [m5.xlarge], "
                                            "minSize: 1, maxSize: 2}]"})
    E.complete(draft)
    assert draft.spec["cluster"]["nodeGroups"] == [{"name": "only", "purpose": "core",
                                                    "instanceTypes": ["m5.xlarge"], "minSize": 1, "maxSize": 2}]


def test_a_copy_keeps_its_node_groups_and_gains_nothing():
    for source in ("dev", "prod"):
        draft = _copy_of(source)
        before = copy.deepcopy(draft.spec)
        assert E.complete(draft) == []
        assert draft.spec == before, source


def test_prompts_for_a_copy_ask_only_about_node_groups_it_has():
    asked: list[str] = []

    def ask(f: F.Field, spec: dict, env: str):
        asked.append(f.key)
        current = F.get(spec, f.path)
        return current if current is not F.MISSING else F.MISSING

    dev = _copy_of("dev")
    E.complete(dev, ask)
    groups = [k for k in asked if k.startswith("cluster.nodeGroups")]
    assert groups == ["cluster.nodeGroups.0.instanceTypes"]  # dev has its core group only
    assert len(dev.spec["cluster"]["nodeGroups"]) == 1

    asked.clear()
    prod = _copy_of("prod")
    E.complete(prod, ask)
    assert [k for k in asked if k.startswith("cluster.nodeGroups")] == [
        "cluster.nodeGroups.0.instanceTypes", "cluster.nodeGroups.1.instanceTypes",
        "cluster.nodeGroups.1.capacityType", "cluster.nodeGroups.1.maxSize", "cluster.nodeGroups.1.availabilityZone"]
    assert "capacityType" not in prod.spec["cluster"]["nodeGroups"][1]  # "none" keeps the source's choice


def test_a_copy_whose_login_changes_gains_the_new_logins_fields_only():
    draft = _copy_of("prod")
    E.apply_sets(draft, ["hubs.0.auth.type=generic-oauth", "hubs.0.auth.oauth.authorizeUrl=https://id.example/a",
                         "hubs.0.auth.oauth.tokenUrl=https://id.example/t",
                         "hubs.0.auth.oauth.userdataUrl=https://id.example/u"])
    E.complete(draft)
    oauth = draft.spec["hubs"][0]["auth"]["oauth"]
    assert oauth["scope"] == ["openid", "profile", "email"]  # the source's github login had no scopes
    assert "allowedOrganizations" not in oauth  # github only

    dummy = _copy_of("prod")
    E.apply_sets(dummy, ["hubs.0.auth.type=dummy"])
    E.complete(dummy)
    auth = dummy.spec["hubs"][0]["auth"]
    assert auth["allowSharedPasswordAdmins"] is False and "oauth" not in auth

    # A generic-oauth source keeps its own scopes, and gets none added where it had none.
    research = _copy_of("prod")
    del research.spec["hubs"][1]["auth"]["oauth"]["scope"]
    research.spec["hubs"][0] = copy.deepcopy(research.spec["hubs"][1])
    research.original = copy.deepcopy(research.spec)
    E.complete(research)
    assert "scope" not in research.spec["hubs"][0]["auth"]["oauth"]


def test_every_node_group_field_is_a_schema_path_and_none_asks_for_an_ami():
    keys = [f.key for f in F.FIELDS]
    assert not [k for k in keys if k.startswith("cluster.nodes.") or k.endswith("imageId")]
    for f in F.NODE_GROUP_FIELDS:
        assert F.subschema(f.path) is not None, f.key
