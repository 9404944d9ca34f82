"""Checks on the cluster / stack level of one environment."""

from __future__ import annotations

import ipaddress
import re
import unicodedata

from generator import codes
from generator.checks import EnvContext, EnvironmentCheck, register
from generator.model import LoadBalancer
from generator.paths import env_name_problem
from generator.render.cloudformation import HUBGEN_TAG_PREFIX

CIDRS = ("cluster", "loadBalancer", "allowedCidrs")
CERTIFICATE = ("cluster", "loadBalancer", "certificateArn")
EVERYTHING = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}
#: An ARN as a whole string; group 1 is the partition.
ARN_RE = re.compile(r"arn:(aws(?:-[a-z]+)*):[^:\s]*:[^:\s]*:[^:\s]*:\S+\Z")
#: What AWS allows in tag keys and values besides letters (L), digits (N) and space separators (Z):
#: the tagging APIs' pattern ^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$.
TAG_SYMBOLS = frozenset("_.:/=+-@")
_CHARACTER_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", "\x00": "a NUL character"}


@register
class FolderMatchesName(EnvironmentCheck):
    code = codes.HG205

    def check(self, env: EnvContext):
        name, folder = env.model.name, env.folder
        if name != folder:
            # Only ever suggest names the name rule accepts (a folder that breaks it is HG225's).
            fixes = [f"set `name: {folder}`"] if env_name_problem(folder) is None else []
            if env_name_problem(name) is None:
                fixes.append(f"move the file to environments/{name}/")
            text = " or ".join(fixes)
            hint = text[:1].upper() + text[1:] + "." if text else codes.HG205.hint
            yield env.problem(self.code, f"environment name '{name}' differs from its folder '{folder}'",
                              ("name",), hint=hint)


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
class CertificateAccount(EnvironmentCheck):
    code = codes.HG222

    def check(self, env: EnvContext):
        arn = env.model.cluster.load_balancer.certificate_arn
        account = arn.split(":")[4]
        if account != env.model.account_id:
            yield env.problem(self.code, f"certificate {arn} belongs to account {account}; the load balancer in "
                              f"account {env.model.account_id} cannot use it", CERTIFICATE,
                              hint=f"Request or import the certificate in account {env.model.account_id} "
                                   f"({env.model.region}) and use its ARN.")


@register
class AccountConsistency(EnvironmentCheck):
    code = codes.HG208

    def check(self, env: EnvContext):
        account = env.model.account_id
        for path, arn in _arns(env.spec):
            other = arn.split(":")[4]
            if other and other != account and path != CERTIFICATE:  # a certificate's account is HG222's
                yield env.problem(self.code, f"{arn} is in account {other}, not the environment's account "
                                  f"{account}", path)


@register
class ArnPartition(EnvironmentCheck):
    code = codes.HG221

    def check(self, env: EnvContext):
        partition, region = env.model.partition, env.model.region
        for path, arn in _arns(env.spec, values=True):
            m = ARN_RE.match(arn)
            if m and m.group(1) != partition:
                same = f"arn:{partition}:{arn.split(':', 2)[2]}"
                yield env.problem(self.code, f"{arn} is in partition {m.group(1)}, but region {region} is in "
                                  f"partition {partition}", path,
                                  hint=f"Use an ARN of partition {partition}, such as {same}.")


def _arns(node, path=(), *, values: bool = False):
    """(path, string) of every ARN-like string in the spec; hubs' raw `values` only when ``values``."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "values" and len(path) == 2 and path[0] == "hubs" and not values:
                continue
            yield from _arns(v, path + (k,), values=values)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _arns(v, path + (i,), values=values)
    elif isinstance(node, str) and node.startswith("arn:") and node.count(":") >= 5:
        yield path, node


@register
class OpenLoadBalancer(EnvironmentCheck):
    """HG209: the allowed CIDRs reach every address, with one `0.0.0.0/0` or with several that add up to it."""

    code = codes.HG209

    def check(self, env: EnvContext):
        lb = env.model.cluster.load_balancer
        for version, indexes in _open_families(lb):
            whole = [i for i in indexes if _network(lb.allowed_cidrs[i]).prefixlen == 0]
            for i in whole:
                yield env.problem(self.code, f"load balancer allows {lb.allowed_cidrs[i]} (the whole internet) but "
                                  "`public: true` is not set", CIDRS + (i,))
            if not whole:
                listed = ", ".join(lb.allowed_cidrs[i] for i in indexes)
                yield env.problem(self.code, f"allowedCidrs {listed} together cover every IPv{version} address "
                                  "(the whole internet) but `public: true` is not set", CIDRS)


def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)  # the schema admits only well-formed CIDRs


def _open_families(lb: LoadBalancer) -> list[tuple[int, list[int]]]:
    """(IP version, indexes of its CIDRs) for each family whose allowed CIDRs together cover every
    address, when `public: true` does not acknowledge it."""
    if lb.public:
        return []
    out = []
    for version, everything in EVERYTHING.items():
        indexes = [i for i, c in enumerate(lb.allowed_cidrs) if _network(c).version == version]
        if list(ipaddress.collapse_addresses(_network(lb.allowed_cidrs[i]) for i in indexes)) == [everything]:
            out.append((version, indexes))
    return out


@register
class CidrNetworkAddress(EnvironmentCheck):
    code = codes.HG219

    def check(self, env: EnvContext):
        for i, cidr in enumerate(env.model.cluster.load_balancer.allowed_cidrs):
            network = _network(cidr)
            if ipaddress.ip_interface(cidr).ip != network.network_address:
                yield env.problem(self.code, f"{cidr} has host bits set: it is the network {network}, which is "
                                  "what EC2 would store", CIDRS + (i,), hint=f"Write {network}.")


@register
class OverlappingCidrs(EnvironmentCheck):
    """HG220, on the narrower of two overlapping CIDRs (CIDR blocks overlap only by nesting).

    Quiet while HG209 stands: whether to drop the narrower CIDR or the open one is the user's choice then.
    """

    code = codes.HG220

    def check(self, env: EnvContext):
        lb = env.model.cluster.load_balancer
        if _open_families(lb):
            return
        cidrs = lb.allowed_cidrs
        for i, cidr in enumerate(cidrs):
            net = _network(cidr)
            for j, other in enumerate(cidrs):
                wider = _network(other)
                if i == j or net.version != wider.version or not net.subnet_of(wider) or (net == wider and j > i):
                    continue
                how = "is the same network as" if net == wider else "lies inside"
                yield env.problem(self.code, f"{cidr} {how} {other} (allowedCidrs[{j}]), which already allows it",
                                  CIDRS + (i,), hint=f"Remove {cidr}.")
                break


@register
class TagsAwsAccepts(EnvironmentCheck):
    code = codes.HG223

    def check(self, env: EnvContext):
        for key, value in env.spec.get("tags", {}).items():
            refused = _tag_refusal(key)
            if refused:
                yield env.problem(self.code, f"tag key {key!r} {refused}", ("tags", key), key=True)
            refused = _tag_refusal(value)
            if refused:
                yield env.problem(self.code, f"value of tag {key!r} {refused}", ("tags", key))


def _tag_refusal(text: str) -> str | None:
    """Why AWS refuses ``text`` as a tag key or value (None when it does not)."""
    if text[:4].lower() == "aws:":
        return f"starts with {text[:4]!r}, a prefix AWS reserves for its own tags"
    for c in text:
        if c not in TAG_SYMBOLS and unicodedata.category(c)[0] not in "LNZ":
            return f"contains {_character(c)}, which AWS does not allow in tags"
    return None


def _character(c: str) -> str:
    code = f"U+{ord(c):04X}"
    if c in _CHARACTER_NAMES:
        return f"{_CHARACTER_NAMES[c]} ({code})"
    if unicodedata.category(c)[0] == "C":
        return f"a control or invisible character ({code})"
    name = unicodedata.name(c, "")
    return f"'{c}' ({code}{' ' + name if name else ''})"


@register
class ReservedTagPrefix(EnvironmentCheck):
    code = codes.HG224

    def check(self, env: EnvContext):
        tags = env.spec.get("tags", {})
        for key in tags:
            if key.lower().startswith(HUBGEN_TAG_PREFIX):
                rest = key[len(HUBGEN_TAG_PREFIX):]
                yield env.problem(self.code, f"tag key {key!r} uses the prefix {HUBGEN_TAG_PREFIX!r}, which hubgen "
                                  "reserves for the tags it adds to every stack", ("tags", key), key=True,
                                  hint=f"Rename the tag, e.g. to {rest!r}." if rest and rest not in tags
                                  else codes.HG224.hint)


@register
class DuplicateAdminPrincipals(EnvironmentCheck):
    """HG217. Principals are compared without their IAM path: role and user names are unique within an
    account whatever the path, so `role/a/ops` and `role/b/ops` cannot both exist (and aws-auth, which
    matches roles without the path, would map them to one entry)."""

    code = codes.HG217

    def check(self, env: EnvContext):
        deploy = env.model.admin_principals[0]
        seen: dict[str, str] = {}
        for i, a in enumerate(env.model.cluster.admins):
            where = ("cluster", "admins", i, "arn")
            if a.arn_without_path == deploy.arn_without_path:
                same = "is" if a.arn == deploy.arn else f"names the same role as {deploy.arn},"
                yield env.problem(self.code, f"{a.arn} {same} the deploy role, which is always a cluster admin",
                                  where, hint="Remove this entry.")
            elif a.arn_without_path in seen:
                first = seen[a.arn_without_path]
                how = "is listed more than once" if first == a.arn else (
                    f"names the same {a.kind} as {first} (IAM names are unique in an account, whatever the path)")
                yield env.problem(self.code, f"{a.arn} {how}", where)
            seen.setdefault(a.arn_without_path, a.arn)
