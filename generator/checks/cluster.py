"""Checks on the cluster / stack level of one environment."""

from __future__ import annotations

import ipaddress
from collections import Counter

from generator import codes
from generator.checks import EnvContext, EnvironmentCheck, register

OPEN_CIDRS = {"0.0.0.0/0", "::/0"}


@register
class FolderMatchesName(EnvironmentCheck):
    code = codes.HG205

    def check(self, env: EnvContext):
        if env.model.name != env.folder:
            yield env.problem(self.code, f"environment name '{env.model.name}' differs from its folder "
                              f"'{env.folder}'", ("name",),
                              hint=f"Set `name: {env.folder}` or move the file to environments/{env.model.name}/.")


@register
class AutoScalingSizes(EnvironmentCheck):
    code = codes.HG201

    def check(self, env: EnvContext):
        n = env.model.cluster.nodes
        base = ("cluster", "nodes")
        if n.min_size > n.desired_capacity:
            yield env.problem(self.code, f"minSize ({n.min_size}) is greater than desiredCapacity "
                              f"({n.desired_capacity})", base + ("minSize",))
        if n.desired_capacity >= n.max_size:
            yield env.problem(self.code, f"maxSize ({n.max_size}) must be greater than desiredCapacity "
                              f"({n.desired_capacity}) so a rolling update can add a node", base + ("maxSize",),
                              hint=f"Set maxSize to at least {n.desired_capacity + 1}.")


@register
class SubnetZones(EnvironmentCheck):
    code = codes.HG212

    def check(self, env: EnvContext):
        zones = {s.availability_zone for s in env.model.cluster.subnets}
        if len(zones) < 2:
            yield env.problem(self.code, f"all subnets are in {', '.join(sorted(zones))}; EKS needs subnets in "
                              "at least two availability zones", ("cluster", "subnets"))


@register
class ZoneInRegion(EnvironmentCheck):
    code = codes.HG213

    def check(self, env: EnvContext):
        for i, s in enumerate(env.model.cluster.subnets):
            if s.availability_zone[:-1] != env.model.region:
                yield env.problem(self.code, f"availability zone {s.availability_zone} of {s.id} is not in region "
                                  f"{env.model.region}", ("cluster", "subnets", i, "availabilityZone"))


@register
class DuplicateSubnets(EnvironmentCheck):
    code = codes.HG216

    def check(self, env: EnvContext):
        seen: dict[str, int] = {}
        for i, s in enumerate(env.model.cluster.subnets):
            if s.id in seen:
                yield env.problem(self.code, f"subnet {s.id} is listed twice (also item {seen[s.id]})",
                                  ("cluster", "subnets", i, "id"))
            seen.setdefault(s.id, i)


@register
class CertificateRegion(EnvironmentCheck):
    code = codes.HG207

    def check(self, env: EnvContext):
        arn = env.model.cluster.load_balancer.certificate_arn
        region = arn.split(":")[3]
        if region != env.model.region:
            yield env.problem(self.code, f"certificate is in {region} but the stack deploys to {env.model.region}",
                              ("cluster", "loadBalancer", "certificateArn"))


@register
class AccountConsistency(EnvironmentCheck):
    code = codes.HG208

    def check(self, env: EnvContext):
        account = env.model.account_id
        for path, arn in _arns(env.spec):
            other = arn.split(":")[4]
            if other and other != account:
                yield env.problem(self.code, f"{arn} is in account {other}, not the environment's account "
                                  f"{account}", path)


def _arns(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "values" and len(path) == 2 and path[0] == "hubs":
                continue
            yield from _arns(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _arns(v, path + (i,))
    elif isinstance(node, str) and node.startswith("arn:") and node.count(":") >= 5:
        yield path, node


@register
class OpenLoadBalancer(EnvironmentCheck):
    code = codes.HG209

    def check(self, env: EnvContext):
        lb = env.model.cluster.load_balancer
        for i, cidr in enumerate(lb.allowed_cidrs):
            if _is_open(cidr) and not lb.public:
                yield env.problem(self.code, f"load balancer allows {cidr} (the whole internet) but "
                                  "`public: true` is not set", ("cluster", "loadBalancer", "allowedCidrs", i))


def _is_open(cidr: str) -> bool:
    if cidr in OPEN_CIDRS:
        return True
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


@register
class DuplicateAdminPrincipals(EnvironmentCheck):
    code = codes.HG217

    def check(self, env: EnvContext):
        counts = Counter(a.arn for a in env.model.cluster.admins)
        seen = set()
        for i, a in enumerate(env.model.cluster.admins):
            if a.arn == env.model.deploy_role_arn:
                yield env.problem(self.code, f"{a.arn} is the deploy role, which is always a cluster admin",
                                  ("cluster", "admins", i, "arn"), hint="Remove this entry.")
            elif counts[a.arn] > 1 and a.arn in seen:
                yield env.problem(self.code, f"{a.arn} is listed more than once", ("cluster", "admins", i, "arn"))
            seen.add(a.arn)
