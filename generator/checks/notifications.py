"""Notification checks (spec ``notifications``): what the schema cannot say about where Flux reports.

* HG250: the Slack and the webhook notifier read the same Secret value (both read key ``address``);
* HG251: a notifier's Secret would replace one Flux itself reads in flux-system;
* HG252: environments of one repository set commit statuses in different GitHub repositories.

Whether each notifier's Secret exists, encrypted, with its key, is HG304/HG305
(:mod:`generator.secrets.inventory`).
"""

from __future__ import annotations

from generator import codes
from generator.checks import EnvContext, EnvironmentCheck, RepositoryCheck, register
from generator.render.flux import AGE_KEY_REF, FLUX_NAMESPACE

#: Secrets of flux-system that Flux itself reads: name -> what it holds.
FLUX_OWN_SECRETS = {
    FLUX_NAMESPACE: "the git credentials `flux bootstrap` created for the flux-system GitRepository",
    AGE_KEY_REF: "the age key kustomize-controller decrypts sops files with",
}


def _secret_path(env: EnvContext, kind: str) -> tuple:
    """The spec path of a notifier's ``secret``, or of the notifier when the default name is used."""
    block = env.spec.get("notifications", {}).get(kind, {})
    return ("notifications", kind, "secret") if "secret" in block else ("notifications", kind)


@register
class NotifiersShareAValue(EnvironmentCheck):
    code = codes.HG250

    def check(self, env: EnvContext):
        readers: dict[tuple[str, str], str] = {}
        for n in env.model.notifiers:
            first = readers.setdefault((n.secret, n.secret_key), n.kind)
            if first != n.kind:
                yield env.problem(self.code, f"notifications.{n.kind} reads key '{n.secret_key}' of Secret "
                                             f"flux-system/{n.secret}, as notifications.{first} does: both would "
                                             "post to the same address", _secret_path(env, n.kind))


@register
class NotifierSecretIsFlux(EnvironmentCheck):
    code = codes.HG251

    def check(self, env: EnvContext):
        for n in env.model.notifiers:
            if n.secret in FLUX_OWN_SECRETS:
                yield env.problem(self.code, f"notifications.{n.kind}.secret '{n.secret}' names the Secret "
                                             f"flux-system/{n.secret}, {FLUX_OWN_SECRETS[n.secret]}; "
                                             f"{env.model.name}-secrets would replace it",
                                  _secret_path(env, n.kind))


@register
class OneGitHubRepository(RepositoryCheck):
    """The first environment (folder order) with a github notifier names the repository; the others must agree
    (compared case-insensitively, as GitHub compares owner and repository names)."""

    code = codes.HG252

    def check(self, envs: list[EnvContext]):
        first: EnvContext | None = None
        for env in envs:
            github = next((n for n in env.model.notifiers if n.kind == "github"), None)
            if github is None:
                continue
            if first is None:
                first, address = env, github.address
                continue
            if github.address.lower() != address.lower():
                yield env.problem(self.code, f"notifications.github.repository is {github.address}, but environment "
                                             f"'{first.folder}' ({first.paths.spec}) reports to {address}; both are "
                                             "applied from this one repository",
                                  ("notifications", "github", "repository"))
