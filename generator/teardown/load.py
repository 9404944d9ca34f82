"""Reading a repository's files into the plan's :class:`~generator.teardown.compute.Inputs` (read-only).

The environment's committed manifests (generated folders and ``extra/``), the cluster template and the two
other templates of ``manifests/cloudformation/``, the environment's sops files and its ``.sops.yaml`` creation
rule. Files are read without following symbolic links out of the repository (:func:`generator.safefs.read_file`);
nothing is written.
"""

from __future__ import annotations

from generator.model import Environment
from generator.paths import CLUSTER_TEMPLATE, RepoPaths
from generator.safefs import Refused, read_file
from generator.teardown.compute import SIDE_TEMPLATES, Inputs, template_sha256
from generator.teardown.manifests import NotRendered, read_manifests
from generator.teardown.template import read_template

#: The keys of a sops creation rule that name who can decrypt (sops' own names), in the order shown.
SOPS_KEY_TYPES = ("kms", "age", "pgp", "gcp_kms", "azure_keyvault", "hc_vault_transit_uri")


def _read(repo: RepoPaths, relpath: str) -> bytes | None:
    try:
        return read_file(repo.root, relpath)
    except (Refused, OSError):
        return None


def sops_keys(repo: RepoPaths, environment: str, secret_files: list[str]) -> tuple[tuple[str, str], ...]:
    """(key type, key) of the creation rule sops applies to the environment's secret files (empty when there is
    no usable .sops.yaml: the plan then names no key)."""
    from generator.secrets.sops import SopsConfigError, creation_rules, first_match, read_sops_config

    probe = secret_files[0] if secret_files else f"{repo.env(environment).secrets_dir}/x.secret.yaml"
    try:
        rule = first_match(creation_rules(read_sops_config(repo.root)), probe)
    except SopsConfigError:
        return ()
    if rule is None:
        return ()
    out = []
    for kind in SOPS_KEY_TYPES:
        value = rule.data.get(kind)
        items = value if isinstance(value, list) else str(value or "").split(",")
        out.extend((kind, str(v).strip()) for v in items if str(v).strip())
    return tuple(out)


def load_inputs(repo: RepoPaths, environment: str, model: Environment) -> Inputs:
    """Everything the plan reads for ``environment`` (``model``: its validated spec). Raises NotRendered when
    its generated files are missing or unreadable."""
    from generator.generate import render_in
    from generator.secrets.files import secret_file_paths
    from generator.writer import plan_environment

    files: dict[str, bytes] = {}
    for relpath in [*repo.generated_files_on_disk(environment), *repo.extra_manifests(environment)]:
        content = _read(repo, relpath)
        if content is None:
            raise NotRendered(f"cannot read {relpath}")
        files[relpath] = content
    manifests = read_manifests(environment, files)
    template = _read(repo, CLUSTER_TEMPLATE)
    secrets = secret_file_paths(repo.root, repo.env(environment).secrets_dir)
    drift = not plan_environment(repo, environment, render_in(repo, environment, model)).empty
    return Inputs(
        manifests=manifests,
        template=read_template(template, model, CLUSTER_TEMPLATE),
        template_sha256=template_sha256(template),
        side_templates={p: facts for p in SIDE_TEMPLATES
                        if (facts := read_template(_read(repo, p), model, p)).readable},
        secret_files=tuple(secrets),
        sops_keys=sops_keys(repo, environment, secrets),
        drift=drift,
    )
