"""Bad-input cases of the notifications checks (see tests/core/badinput.py): HG250-HG252, and HG305 for a
notifier's Secret. The prod example has a github and a slack notifier, dev a github one; their Secrets are in
environments/<env>/secrets/notifications.secret.yaml."""

from __future__ import annotations

from .badinput import Case, Expect, at, dev, dev_text, sub
from .specs import REPO_ROOT, example_text, replace_once, spec_path

PROD = spec_path("prod")
DEV_NOTIFICATIONS_SECRET = "environments/dev/secrets/notifications.secret.yaml"  # pragma: allowlist secret
SLACK_CHANNEL = '    channel: "#jupyter-ops"\n'
REPOSITORY = "    repository: https://github.com/asfadmin/jupyter-hubs\n"


def prod(mutate):
    return lambda: {PROD: mutate(example_text("prod"))}


def dev_repository(url: str):
    """dev's github notifier reporting to ``url`` (dev comes first in folder order: prod is the one reported)."""
    return dev(lambda text: replace_once(text, REPOSITORY, f"    repository: {url}\n"))


def dev_notifier_secret(name: str):
    """dev's github notifier reading Secret ``name``, which its (otherwise unchanged) secret file defines: only
    the spec's own problem is left (the Secret's name is readable in a sops file and outside the MAC)."""
    def files():
        secret = (REPO_ROOT / DEV_NOTIFICATIONS_SECRET).read_text(encoding="utf-8")
        return {spec_path("dev"): replace_once(dev_text(), REPOSITORY, REPOSITORY + f"    secret: {name}\n"),
                DEV_NOTIFICATIONS_SECRET: replace_once(secret, "name: github-commit-status", f"name: {name}")}
    return files


CASES: list[Case] = [
    Case("notifier-slack-and-webhook-one-secret",
         prod(sub(SLACK_CHANNEL, SLACK_CHANNEL + "  webhook:\n    secret: slack-webhook\n")),
         (Expect("HG250", at("slack-webhook"), file=PROD,
                 contains=("notifications.webhook reads key 'address' of Secret flux-system/slack-webhook",)),)),
    Case("notifier-secret-is-the-age-key", dev_notifier_secret("sops-age"),
         (Expect("HG251", at("secret: sops-age", shift=8), contains=("age key", "dev-secrets would replace it")),)),
    Case("notifier-secret-is-the-bootstrap-git-credentials", dev_notifier_secret("flux-system"),
         (Expect("HG251", at("secret: flux-system", shift=8), contains=("git credentials",)),)),
    Case("notifier-secret-not-in-the-secrets-folder",
         dev(sub(REPOSITORY, REPOSITORY + "    secret: deploy-status\n")),
         (Expect("HG305", at("deploy-status"),
                 contains=("Secret flux-system/deploy-status key 'token'",
                           "notifications.secret.yaml does not define a Secret 'deploy-status'",
                           "hubgen secrets create dev --notifications --from-stdin")),), files_only=True),
    Case("environments-report-to-different-repositories",
         dev_repository("https://github.com/asfadmin/jupyter-hubs-staging"),
         (Expect("HG252", at("https://github.com/asfadmin/jupyter-hubs"), file=PROD,
                 contains=("environment 'dev'", "jupyter-hubs-staging")),), warning_only=True),
]
