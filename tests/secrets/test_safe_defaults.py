"""Safe defaults, proven on the real templates and the real CLI.

* the load balancer is HTTPS-only: the HTTPS listener pins a TLS 1.3 policy, the only other
  listener is HTTP that does nothing but redirect to HTTPS (301), and no rule hangs off it;
* the security group opens nothing to the world by itself: no ``0.0.0.0/0``/``::/0`` literal in
  any template, no CIDR parameter defaulting to it - the only way is the spec's allowedCidrs,
  which needs ``loadBalancer.public: true`` (HG209);
* node volumes are encrypted, IMDSv2 is required on nodes (tokens, hop limit <= 2);
* S3 buckets are encrypted and block public access;
* a hub's admin list is never empty (schema ``minItems: 1``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from hubgen_secrets_support import REPO_ROOT

CFN = REPO_ROOT / "manifests" / "cloudformation"
CLUSTER = CFN / "cluster.yaml"
DEV = "environments/dev/environment.yaml"


def _resources(path: Path, type_: str) -> dict[str, dict]:
    data, matches = decode(str(path))
    assert data is not None, matches
    return {k: v for k, v in data["Resources"].items() if v.get("Type") == type_}


@pytest.fixture(scope="module")
def listeners() -> dict[str, dict]:
    found = _resources(CLUSTER, "AWS::ElasticLoadBalancingV2::Listener")
    assert found, "cluster.yaml has no listener"
    return found


def test_https_listener_pins_a_tls13_policy(listeners: dict[str, dict]) -> None:
    https = [v["Properties"] for v in listeners.values() if v["Properties"].get("Protocol") == "HTTPS"]
    assert len(https) == 1
    policy = https[0].get("SslPolicy")
    assert isinstance(policy, str), "SslPolicy must be pinned, not left to the (older) default"
    assert re.fullmatch(r"ELBSecurityPolicy-TLS13-1-[23]-\d{4}-\d{2}(-[A-Za-z0-9]+)?", policy), policy
    assert https[0].get("Port") == 443


def test_http_listener_only_redirects_to_https(listeners: dict[str, dict]) -> None:
    others = {k: v["Properties"] for k, v in listeners.items() if v["Properties"].get("Protocol") != "HTTPS"}
    assert others, "expected the port-80 redirect listener"
    for name, props in others.items():
        assert props.get("Protocol") == "HTTP" and props.get("Port") == 80, name
        actions = props["DefaultActions"]
        assert actions and all(a["Type"] == "redirect" for a in actions), name
        for a in actions:
            cfg = a["RedirectConfig"]
            assert cfg["Protocol"] == "HTTPS" and str(cfg["Port"]) == "443" and cfg["StatusCode"] == "HTTP_301"
    rules = _resources(CLUSTER, "AWS::ElasticLoadBalancingV2::ListenerRule")
    for name, rule in rules.items():
        target = rule["Properties"]["ListenerArn"]
        assert target == {"Ref": next(k for k, v in listeners.items()
                                      if v["Properties"].get("Protocol") == "HTTPS")}, \
            f"{name} attaches forwarding to a non-HTTPS listener"


def test_nodes_require_imdsv2_and_encrypt_volumes() -> None:
    templates = _resources(CLUSTER, "AWS::EC2::LaunchTemplate")
    assert templates
    for name, lt in templates.items():
        data = lt["Properties"]["LaunchTemplateData"]
        md = data["MetadataOptions"]
        assert md["HttpTokens"] == "required", name
        assert md.get("HttpEndpoint", "enabled") == "enabled"
        assert int(md.get("HttpPutResponseHopLimit", 1)) <= 2
        mappings = data["BlockDeviceMappings"]
        assert mappings
        for m in mappings:
            assert m["Ebs"]["Encrypted"] is True, (name, m)
    for name, vol in _resources(CLUSTER, "AWS::EC2::Volume").items():
        assert vol["Properties"].get("Encrypted") is True, name


def _literals(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _literals(v)]
    if isinstance(node, list):
        return [s for v in node for s in _literals(v)]
    return [str(node)] if isinstance(node, str) else []


@pytest.mark.parametrize("template", sorted(CFN.glob("*.yaml")), ids=lambda p: p.name)
def test_no_template_opens_anything_to_the_world(template: Path) -> None:
    data, _ = decode(str(template))
    assert data is not None
    literals = _literals(data["Resources"])
    assert not [s for s in literals if s in ("0.0.0.0/0", "::/0")], "only the spec may open a CIDR"
    for name, p in (data.get("Parameters") or {}).items():
        assert p.get("Default") not in ("0.0.0.0/0", "::/0"), f"parameter {name} defaults to the internet"


def test_buckets_are_encrypted_and_private() -> None:
    buckets = {k: v for t in sorted(CFN.glob("*.yaml")) for k, v in _resources(t, "AWS::S3::Bucket").items()}
    for name, b in buckets.items():
        props = b["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], name
        block = props["PublicAccessBlockConfiguration"]
        assert all(block[k] is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                              "RestrictPublicBuckets")), name


def _line_col(text: str, needle: str) -> tuple[int, int]:
    i = text.index(needle)
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


def test_open_cidr_needs_public_true(repo: Path, invoke_hubgen) -> None:
    text = (repo / DEV).read_text()
    assert "      - 0.0.0.0/0\n" in text and "    public: true\n" in text
    text = text.replace("    public: true\n", "")
    (repo / DEV).write_text(text)
    r = invoke_hubgen(["--repo", repo, "--format", "json", "validate", "dev"])
    assert r.rc == 1, r
    found = [(p["code"], p["line"], p["column"]) for p in json.loads(r.stdout)["problems"]]
    assert ("HG209", *_line_col(text, "0.0.0.0/0")) in found, found


def test_admin_list_is_never_empty(repo: Path, invoke_hubgen) -> None:
    text = (repo / DEV).read_text()
    old = "      admins:\n        - admin\n"
    assert text.count(old) == 1
    text = text.replace(old, "      admins: []\n")
    (repo / DEV).write_text(text)
    r = invoke_hubgen(["--repo", repo, "--format", "json", "validate", "dev"])
    assert r.rc == 1, r
    found = [(p["code"], p["line"], p["column"]) for p in json.loads(r.stdout)["problems"]]
    line, col = _line_col(text, "[]")
    assert ("HG106", line, col) in found, found
