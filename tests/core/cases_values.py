"""Bad-input cases: values. Concatenated into test_bad_inputs.CASES.

The raw `values` of a hub (merged last over what hubgen generates) may not set a chart value the spec owns,
a key below one, or replace a mapping holding one (HG218, generator.render.values.OWNED_VALUES); anything
else passes. Each `values` block is appended to the dev spec, whose last hub is its only one.
"""

from __future__ import annotations

import re

from .badinput import Case, Expect, at, dev
from .specs import example_text


def values(block: str):
    """The dev spec with ``block`` (YAML below `values:`, indented by six spaces) as its hub's `values`."""
    return dev(lambda text: text + "    values:\n" + block)


def prod_values() -> str:
    """The `values` block of the prod example's hubs (the one hub there that has one)."""
    blocks = re.findall(r"^    values:\n((?:      .*\n)+)", example_text("prod"), re.M)
    assert len(blocks) == 1, blocks
    return blocks[0]


CASES: list[Case] = [
    # --- a second way in, past cluster.loadBalancer.allowedCidrs and `public` -------------------------
    Case("values-proxy-load-balancer",
         values("      proxy:\n        service:\n          type: LoadBalancer\n"),
         (Expect("HG218", at("type", within="          type: LoadBalancer\n"),
                 contains=("`values.proxy.service.type`", "cluster.loadBalancer.allowedCidrs", "second way in")),)),
    Case("values-service-mapping-with-owned-key",
         values("      proxy:\n        service: {annotations: {a: b}, type: LoadBalancer}\n"),
         (Expect("HG218", at("type", within="type: LoadBalancer}"), contains=("`values.proxy.service.type`",)),)),
    Case("values-hub-service-load-balancer",
         values("      hub:\n        service:\n          type: LoadBalancer\n"),
         (Expect("HG218", at("type", within="          type: LoadBalancer\n"),
                 contains=("`values.hub.service.type`", "ClusterIP")),)),
    Case("values-ingress-enabled",
         values("      ingress:\n        enabled: true\n        hosts: [dev.example.org]\n"),
         (Expect("HG218", at("enabled", within="        enabled: true\n        hosts"),
                 contains=("`values.ingress.enabled`", "cluster.loadBalancer.allowedCidrs")),)),
    Case("values-https-at-the-proxy",
         values("      proxy:\n        https:\n          enabled: true\n          type: letsencrypt\n"),
         (Expect("HG218", at("https", within="        https:\n"),
                 contains=("`values.proxy.https`", "cluster.loadBalancer.certificateArn")),)),
    # --- the hub unreachable: the stack's load balancer targets hubs[i].nodePort ------------------------
    Case("values-node-port-mismatch",
         values("      proxy:\n        service:\n          nodePorts:\n            http: 30099\n"),
         (Expect("HG218", at("nodePorts"),
                 contains=("Set `hubs[0].nodePort` instead of `values.proxy.service.nodePorts`",)),)),
    # --- auth rules void ----------------------------------------------------------------------------------
    Case("values-authenticator-class",
         values("      hub:\n        config:\n          JupyterHub:\n            authenticator_class: github\n"),
         (Expect("HG218", at("authenticator_class"),
                 contains=("Set `hubs[0].auth.type` instead of "
                           "`values.hub.config.JupyterHub.authenticator_class`",)),)),
    Case("values-allow-all",
         values("      hub:\n        config:\n          Authenticator:\n            allow_all: true\n"
                "            enable_auth_state: true\n"),
         (Expect("HG218", at("allow_all"),
                 contains=("Set `hubs[0].auth.allowedUsers` instead of `values.hub.config.Authenticator.allow_all`",
                           "only the users")),)),
    Case("values-allow-list-in-the-authenticator-section",
         values("      hub:\n        config:\n          DummyAuthenticator:\n            allowed_users: [eve]\n"
                "            allow_existing_users: true\n"),
         (Expect("HG218", at("allowed_users"), contains=("hubs[0].auth.allowedUsers",)),
          Expect("HG218", at("allow_existing_users"), contains=("revokes access",)))),
    # --- past HG210 (mutable image tag) and IRSA ---------------------------------------------------------
    Case("values-latest-image-tag",
         values("      singleuser:\n        image:\n          tag: latest\n"),
         (Expect("HG218", at("tag", within="          tag: latest\n"),
                 contains=("Set `hubs[0].singleuser.image.tag` instead of `values.singleuser.image.tag`",)),)),
    Case("values-notebooks-as-the-hub-service-account",
         values("      singleuser:\n        serviceAccountName: hub\n"),
         (Expect("HG218", at("serviceAccountName", within="        serviceAccountName: hub\n"),
                 contains=("hubs[0].singleuser.awsRoleArn",)),)),
    Case("values-instance-metadata-unblocked",
         values("      singleuser:\n        cloudMetadata:\n          blockWithIptables: false\n"),
         (Expect("HG218", at("cloudMetadata"), contains=("IRSA",)),)),
    # --- replacing a mapping that holds owned values -----------------------------------------------------
    Case("values-proxy-null",
         values("      proxy: null\n"),
         (Expect("HG218", at("proxy", within="      proxy: null\n"),
                 contains=("`values.proxy` is null", "`proxy.service.type`", "hubs[0].nodePort")),)),
    Case("values-hub-config-replaced",
         values("      hub:\n        config: []\n"),
         (Expect("HG218", at("config", within="        config: []\n"),
                 contains=("`values.hub.config` is a list", "hubs[0].auth.passwordSecret")),)),
    Case("values-secret-section-deleted",
         values("      hub:\n        config:\n          DummyAuthenticator: null\n"),
         (Expect("HG218", at("DummyAuthenticator"),
                 contains=("`hub.config.DummyAuthenticator.password`", "hubs[0].auth.passwordSecret")),)),
    Case("values-every-owned-key-reported-once",
         values("      proxy:\n        service:\n          type: LoadBalancer\n"
                "      cull: null\n"
                "      singleuser:\n        defaultUrl: /lab\n        storage:\n          capacity: 1Ti\n"),
         (Expect("HG218", at("type", within="          type: LoadBalancer\n"), contains=("proxy.service.type",)),
          Expect("HG218", at("cull", within="      cull: null\n"), contains=("hubs[0].culling.timeout",)),
          Expect("HG218", at("capacity", within="          capacity: 1Ti\n"),
                 contains=("hubs[0].singleuser.storage.capacity",)))),
    # --- values hubgen does not own pass (no problem at all: the case renders) ---------------------------
    Case("values-not-owned-pass",
         values("      singleuser:\n        defaultUrl: /lab\n        image:\n          pullPolicy: Always\n"
                "        extraEnv:\n          API_TOKEN:\n            valueFrom:\n              secretKeyRef:\n"
                "                name: api\n                key: token\n"
                "      hub:\n        config:\n          Authenticator:\n            enable_auth_state: true\n"
                "      proxy:\n        service:\n          annotations: {team: jupyter}\n"),
         (), warning_only=True),
    Case("values-of-prod-pass", values(prod_values()), (), warning_only=True),
]
