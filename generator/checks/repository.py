"""Checks across environments."""

from __future__ import annotations

from generator import codes
from generator.checks import EnvContext, RepositoryCheck, register


@register
class UniqueStackNames(RepositoryCheck):
    """Stack names are unique per account and region; since the stack's node role
    takes a fixed name from the stack and IAM names are global to an account (and
    case-insensitive), the name must in fact be unique per account."""

    code = codes.HG204

    def check(self, envs: list[EnvContext]):
        owners: dict[tuple[str, str], EnvContext] = {}
        # The first environment (in the order given: folder order from `validate`, an unwritten
        # candidate last from `validate_candidate`) owns the name; later ones are reported.
        for env in envs:
            m = env.model
            key = (m.account_id, m.cluster.stack_name.lower())
            first = owners.setdefault(key, env)
            if first is env:
                continue
            if first.model.region == m.region:
                msg = (f"stack '{m.cluster.stack_name}' in {m.account_id}/{m.region} is already deployed by "
                       f"environment '{first.folder}' ({first.paths.spec})")
            else:
                msg = (f"stack '{m.cluster.stack_name}' of environment '{first.folder}' ({first.model.region}) "
                       f"has the same name in account {m.account_id}: both stacks would create the IAM role "
                       f"'{m.node_role_name}', and IAM names are global to an account")
            yield env.problem(self.code, msg, ("cluster", "stackName"))
