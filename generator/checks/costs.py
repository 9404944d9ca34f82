"""Checks on cost allocation and the budget (spec `costs`, docs/costs.md).

The cluster template carries the allocation tags to what the stack creates indirectly (instances, root volumes and
network interfaces of the node groups) in MAX_ALLOCATION_TAGS parameter slots, and the values come from `tags`;
the budget's notifications need someone to notify.
"""

from __future__ import annotations

from generator import codes
from generator.checks import EnvContext, EnvironmentCheck, register
from generator.model import MAX_ALLOCATION_TAGS
from generator.render.cloudformation import HUBGEN_TAG_PREFIX

TAGS = ("tags",)
ALLOCATION_TAGS = ("costs", "allocationTags")
BUDGET = ("costs", "budget")


def _listed(keys) -> str:
    return ", ".join(keys) if keys else "none"


@register
class AllocationTagInTags(EnvironmentCheck):
    """HG246: every key `costs.allocationTags` names is a key of `tags`, where its value is."""

    code = codes.HG246

    def check(self, env: EnvContext):
        tags = env.spec.get("tags", {})
        for i, key in enumerate(env.spec.get("costs", {}).get("allocationTags", [])):
            if key in tags:
                continue
            path = ALLOCATION_TAGS + (i,)
            if key.lower().startswith(HUBGEN_TAG_PREFIX):
                yield env.problem(self.code, f"costs.allocationTags names '{key}': hubgen's own tags are not spec "
                                  f"tags (hubgen:environment is always an allocation tag)", path,
                                  hint=f"Remove '{key}' from `costs.allocationTags`.")
            else:
                yield env.problem(self.code, f"costs.allocationTags names '{key}', which `tags` does not have "
                                  f"(its keys: {_listed(list(tags))}), so the tag has no value", path,
                                  hint=f"Add `{key}: <value>` under `tags`, or remove '{key}' from "
                                       "`costs.allocationTags`.")


@register
class AllocationTagSlots(EnvironmentCheck):
    """HG247: more tags than allocation tag slots, and `costs.allocationTags` does not choose."""

    code = codes.HG247

    def check(self, env: EnvContext):
        tags = list(env.spec.get("tags", {}))
        if len(tags) <= MAX_ALLOCATION_TAGS or "allocationTags" in env.spec.get("costs", {}):
            return
        yield env.problem(self.code, f"`tags` has {len(tags)} keys ({_listed(tags)}), and without "
                          f"`costs.allocationTags` all of them would be allocation tags, but the cluster template "
                          f"has {MAX_ALLOCATION_TAGS} slots for them", TAGS, key=True,
                          hint=f"Add `costs: {{allocationTags: [...]}}` naming at most {MAX_ALLOCATION_TAGS} keys of "
                               "`tags` (those your cost reports group by); all tags stay stack tags.")


@register
class BudgetSubscribers(EnvironmentCheck):
    """HG248: a budget notifies `emails` and `snsTopicArn`; with neither, AWS Budgets refuses its notifications."""

    code = codes.HG248

    def check(self, env: EnvContext):
        b = env.model.budget
        if b is None or b.emails or b.sns_topic_arn:
            return
        yield env.problem(self.code, "`costs.budget` has neither `emails` nor `snsTopicArn`: its alerts would "
                          "notify no one, and AWS Budgets refuses a notification without a subscriber", BUDGET,
                          key=True)
