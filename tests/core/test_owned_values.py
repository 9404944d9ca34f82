"""Chart values the spec owns (generator.render.values.OWNED_VALUES) and the `values` keys that touch them.

The end-to-end cases (HG218 with file:line:column through `validate` and `render`) are bad-input cases in
tests/core/cases_values.py; these test the table and :func:`owned_overrides` directly.
"""

from __future__ import annotations

import dataclasses

import pytest

from generator.model import Auth, GitPuller, Hub, OAuth, SecretRef, SingleUser
from generator.render.values import (OWNED_VALUES, VALUE_SOURCES, generated_values, owned_overrides, owned_paths,
                                     values_from)

SINGLEUSER_FULL = SingleUser(image_name="img", image_tag="v1", storage_capacity="10Gi", storage_class="gp3",
                             cpu_guarantee=0.5, cpu_limit=2, memory_guarantee="1G", memory_limit="2G",
                             extra_env=(("LANG", "C.UTF-8"),), gitpuller=GitPuller("https://x/r.git", "main", "nb"),
                             aws_role_arn="arn:aws:iam::553778890976:role/r")
OAUTH = OAuth(client_id="id", client_secret=SecretRef("oauth", "secret"), callback_url="https://h/hub/oauth_callback",
              authorize_url="https://l/a", token_url="https://l/t", userdata_url="https://l/u",
              username_claim="preferred_username", allowed_organizations=("org",))


def hub(auth_type: str = "dummy", values: dict | None = None, singleuser: SingleUser = SINGLEUSER_FULL) -> Hub:
    auth = Auth(type=auth_type, admins=("a",), allowed_users=("a", "b"),
                password_secret=SecretRef("hub-auth", "password") if auth_type == "dummy" else None,
                oauth=OAUTH if auth_type != "dummy" else None)
    return Hub(name="h", namespace="h", host=None, node_port=30052, chart_version="4.4.0", auth=auth,
               singleuser=singleuser, prepuller_hook=True, prepuller_continuous=False, culling_enabled=True,
               cull_timeout=3600, cull_every=600, values=values or {})


ALL_AUTH = ("dummy", "github", "generic-oauth")


def leaves(node, path=()):
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from leaves(v, (*path, k))
    else:
        yield path


def owner(path: tuple, owned: dict) -> tuple | None:
    return next((path[:n] for n in range(len(path), 0, -1) if path[:n] in owned), None)


# --- the table -------------------------------------------------------------------------------------

@pytest.mark.parametrize("auth_type", ALL_AUTH)
def test_every_generated_value_and_secret_target_is_owned(auth_type):
    h = hub(auth_type)
    owned = owned_paths(h)
    for path in leaves(generated_values(h)):
        assert owner(path, owned), path
    for entry in values_from(h):
        assert tuple(entry["targetPath"].split(".")) in OWNED_VALUES, entry


def test_owned_paths_hold_even_when_the_spec_does_not_emit_them():
    bare = hub(singleuser=SingleUser(image_name="img", image_tag="v1", storage_capacity="10Gi"))
    emitted = generated_values(bare)
    for path in [("singleuser", "storage", "dynamic", "storageClass"), ("singleuser", "cpu", "limit"),
                 ("singleuser", "serviceAccountName"), ("singleuser", "lifecycleHooks", "postStart"),
                 ("hub", "config", "GitHubOAuthenticator", "client_secret")]:
        assert path in owned_paths(bare), path
        assert owned_overrides(dataclasses.replace(bare, values=_nested(path, "x"))), path
    assert "serviceAccountName" not in emitted["singleuser"]


def test_pinned_access_settings_are_rendered():
    for auth_type in ALL_AUTH:
        auth = generated_values(hub(auth_type))["hub"]["config"]["Authenticator"]
        assert auth["allow_all"] is False and auth["allow_existing_users"] is False


def test_every_owned_value_names_where_to_go_instead():
    for path, o in OWNED_VALUES.items():
        assert o.field or (o.use and o.why), path        # a hub field, or an environment field and why
        if not o.field:
            assert o.use.split(".")[0] == "cluster", path
    assert VALUE_SOURCES[("proxy", "service", "nodePorts")] == ("nodePort",)
    assert ("proxy", "service", "type") not in VALUE_SOURCES    # no hub field: the lint engine points at the release


def test_access_keys_are_owned_in_every_auth_section():
    for section in ("Authenticator", "OAuthenticator", "DummyAuthenticator", "GitHubOAuthenticator",
                    "GenericOAuthenticator"):
        for key in ("allow_all", "allow_existing_users", "admin_users", "allowed_users", "allowed_organizations",
                    "allowed_groups", "admin_groups"):
            assert ("hub", "config", section, key) in OWNED_VALUES, (section, key)


# --- which keys of `values` touch them ----------------------------------------------------------------

def _nested(path: tuple, value) -> dict:
    out = value
    for p in reversed(path):
        out = {p: out}
    return out


def overrides(values: dict, **kw) -> list[tuple[tuple, bool, list[tuple]]]:
    return [(o.path, o.replaces, [p for p, _ in o.owned]) for o in owned_overrides(hub(values=values, **kw))]


def test_setting_an_owned_value_or_below_it():
    got = overrides({"proxy": {"service": {"type": "LoadBalancer", "nodePorts": {"http": 30099}},
                               "https": {"enabled": True, "type": "letsencrypt"}}})
    assert got == [(("proxy", "service", "type"), False, [("proxy", "service", "type")]),
                   (("proxy", "service", "nodePorts"), False, [("proxy", "service", "nodePorts")]),
                   (("proxy", "https"), False, [("proxy", "https")])]
    got = overrides({"singleuser": {"storage": {"dynamic": {"storageClass": {"deep": 1}}}}})
    assert got == [(("singleuser", "storage", "dynamic", "storageClass"), False,
                    [("singleuser", "storage", "dynamic", "storageClass")])]


@pytest.mark.parametrize("value", [None, "x", 3, [], True])
def test_replacing_a_mapping_that_holds_owned_values(value):
    (path, replaces, owned), = overrides({"proxy": value})
    assert path == ("proxy",) and replaces
    # those the hub renders first (messages name the first few)
    assert owned == [("proxy", "service", "type"), ("proxy", "service", "nodePorts"), ("proxy", "https"),
                     ("proxy", "service", "disableHttpPort"), ("proxy", "service", "loadBalancerSourceRanges")]


def test_mappings_are_merged_not_replaced():
    assert overrides({"proxy": {}, "hub": {"config": {"Authenticator": {"enable_auth_state": True}}}}) == []
    got = overrides({"hub": {"config": {"DummyAuthenticator": None}}})
    assert got[0][0] == ("hub", "config", "DummyAuthenticator") and got[0][1]
    assert got[0][2][0] == ("hub", "config", "DummyAuthenticator", "password")   # the secret target comes first


def test_values_hubgen_does_not_own_pass():
    assert overrides({"singleuser": {"defaultUrl": "/lab", "image": {"pullPolicy": "Always"}},
                      "scheduling": {"userScheduler": {"enabled": True}}, "proxy": {"chp": {"resources": {}}},
                      "hub": {"service": {"annotations": {"a": "b"}}}, "cull": {"users": True}}) == []


def test_extra_env_entries_of_the_spec_are_owned_others_are_free():
    assert overrides({"singleuser": {"extraEnv": {"TOKEN": {"valueFrom": {"secretKeyRef": {"name": "s"}}}}}}) == []
    got = overrides({"singleuser": {"extraEnv": {"LANG": "de_DE.UTF-8"}}})
    assert got == [(("singleuser", "extraEnv", "LANG"), False, [("singleuser", "extraEnv", "LANG")])]
    assert overrides({"singleuser": {"extraEnv": None}})[0][1]            # would delete the spec's entries
    no_env = dataclasses.replace(SINGLEUSER_FULL, extra_env=())
    assert overrides({"singleuser": {"extraEnv": None}}, singleuser=no_env) == []


def test_instead_names_the_spec_setting():
    o = owned_overrides(hub(values={"hub": {"config": {"Authenticator": {"allow_all": True}}}}))[0]
    assert o.owned[0][1].instead(2) == "hubs[2].auth.allowedUsers"
    o = owned_overrides(hub(values={"ingress": {"enabled": True}}))[0]
    assert o.owned[0][1].instead(0) == "cluster.loadBalancer.allowedCidrs"
