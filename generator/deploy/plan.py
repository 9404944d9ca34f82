"""Deploy decisions in plain Python: no AWS calls here, only data in and decisions out.

The client (:mod:`generator.deploy.client`) turns API responses into the small types below; the runner
asks this module what to do with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

#: CloudFormation's limit for TemplateBody; larger templates must come from S3 (TemplateURL).
INLINE_TEMPLATE_LIMIT = 51_200
#: CloudFormation's limit for a template given by TemplateURL.
URL_TEMPLATE_LIMIT = 1_000_000

#: The tag hubgen's renderer puts on every stack (generator.render.cloudformation): which environment owns it.
OWNER_TAG = "hubgen:environment"

CREATE, UPDATE = "CREATE", "UPDATE"

#: What CloudFormation says when a change set or update would change nothing.
_NO_CHANGE_MARKERS = (
    "didn't contain changes",  # FAILED change set: "The submitted information didn't contain changes. ..."
    "no updates are to be performed",  # ValidationError of UpdateStack (and of some emulators' CreateChangeSet)
)


def is_no_change(message: str | None) -> bool:
    """Whether an error message or change set status reason means "nothing to change"."""
    text = (message or "").lower()
    return any(marker in text for marker in _NO_CHANGE_MARKERS)


# --- stacks -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    name: str
    stack_id: str
    status: str
    status_reason: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)


#: Stack states CloudFormation accepts an UPDATE change set in.
UPDATABLE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE",
                       "IMPORT_ROLLBACK_COMPLETE"})
#: Final states of a successful operation.
SUCCEEDED = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})


@dataclass(frozen=True)
class Decision:
    """CREATE or UPDATE, or a refusal (``code`` is HG602 or HG603) with a message and a fix."""

    action: str | None
    refusal: str = ""
    hint: str = ""
    code: str = ""
    #: Whether the refusal follows a failed operation whose failing resources are worth showing.
    show_failures: bool = False


def _refuse(code: str, message: str, hint: str, show_failures: bool = False) -> Decision:
    return Decision(None, message, hint, code, show_failures)


def decide(stack: Stack | None, environment: str, region: str, *, adopt: bool = False) -> Decision:
    """What to do with the environment's stack in its current state."""
    if stack is None or stack.status == "DELETE_COMPLETE":
        return Decision(CREATE)
    name, status = stack.name, stack.status
    if status == "REVIEW_IN_PROGRESS":
        # Created by a CREATE change set that was never executed (e.g. `hubgen deploy --dry-run`): it holds no
        # resources, so there is nothing to clobber, and the next change set is still a create.
        return Decision(CREATE)
    owner = stack.tags.get(OWNER_TAG)
    if owner is not None and owner != environment:
        return _refuse("HG603", f"stack {name} belongs to environment '{owner}' (tag {OWNER_TAG}={owner}), not "
                                f"'{environment}'; deploying would clobber it",
                       "Give one of the environments another `cluster.stackName` (stack names must be unique per "
                       "account and region).")
    if owner is None and not adopt:
        return _refuse("HG603", f"stack {name} exists but was not created by hubgen (no {OWNER_TAG} tag); "
                                "deploying would take it over",
                       "If this is the stack the environment replaces, run again with `--adopt`; otherwise choose "
                       "another `cluster.stackName`.")
    delete_cmd = f"aws cloudformation delete-stack --stack-name {name} --region {region}"
    if status in UPDATABLE:
        return Decision(UPDATE)
    if status == "ROLLBACK_COMPLETE":
        return _refuse("HG602", f"stack {name} is in ROLLBACK_COMPLETE: its creation failed and was rolled back, and "
                                "CloudFormation cannot update a stack in this state",
                       f"Read the reasons reported with it, fix the cause, delete the empty stack by hand "
                       f"(`{delete_cmd}`), then "
                       f"run `hubgen deploy {environment}` again. hubgen never deletes stacks.", show_failures=True)
    if status in ("ROLLBACK_FAILED", "DELETE_FAILED"):
        return _refuse("HG602", f"stack {name} is in {status} and cannot be updated",
                       f"Clean up the resources named below and delete the stack by hand (`{delete_cmd}`, with "
                       "--retain-resources for resources that cannot be deleted), then deploy again. hubgen never "
                       "deletes stacks.", show_failures=True)
    if status in ("UPDATE_ROLLBACK_FAILED", "IMPORT_ROLLBACK_FAILED"):
        return _refuse("HG602", f"stack {name} is in {status}: a rollback could not finish",
                       "Fix the resources named below, then run `aws cloudformation continue-update-rollback "
                       f"--stack-name {name} --region {region}` (skipping resources that cannot roll back) and "
                       "deploy again.", show_failures=True)
    if status in ("CREATE_FAILED", "UPDATE_FAILED"):
        return _refuse("HG602", f"stack {name} is in {status} with rollback disabled",
                       f"Roll it back by hand (`aws cloudformation rollback-stack --stack-name {name} --region "
                       f"{region}`) or finish the operation, then deploy again.", show_failures=True)
    if status.endswith("_IN_PROGRESS"):
        return _refuse("HG602", f"stack {name} is busy: another operation is in progress ({status})",
                       "Wait until it has finished, then deploy again.")
    return _refuse("HG602", f"stack {name} is in {status}, which hubgen does not deploy over",
                   "Bring the stack into a *_COMPLETE state by hand, then deploy again.")


def outcome(status: str) -> str:
    """``running``, ``succeeded`` or ``failed`` for a stack status seen while waiting for an operation."""
    if status.endswith("_IN_PROGRESS"):
        return "running"
    return "succeeded" if status in SUCCEEDED else "failed"


def change_set_outcome(status: str) -> str:
    """``running``, ``ready`` or ``failed`` for a change set status."""
    if status in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
        return "running"
    return "ready" if status == "CREATE_COMPLETE" else "failed"


# --- requests -----------------------------------------------------------------------------------------------------


def capabilities(has_transform: bool) -> list[str]:
    """The template names IAM roles; a Transform (macros, SAM, LanguageExtensions) needs AUTO_EXPAND too."""
    return ["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"] if has_transform else ["CAPABILITY_NAMED_IAM"]


def needs_upload(size: int) -> bool:
    return size > INLINE_TEMPLATE_LIMIT


_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def valid_bucket_name(bucket: str) -> bool:
    return bool(_BUCKET_RE.match(bucket)) and ".." not in bucket


def template_key(sha256: str, filename: str = "cluster.yaml") -> str:
    """Content-addressed S3 key: the same template is uploaded once, a changed one never overwrites another."""
    return f"hubgen/cloudformation/{sha256}/{filename}"


def template_url(bucket: str, key: str, region: str) -> str:
    """The S3 URL CloudFormation reads a template from (virtual-hosted style; path style for dotted names)."""
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    if "." in bucket:
        return f"https://s3.{region}.{domain}/{bucket}/{key}"
    return f"https://{bucket}.s3.{region}.{domain}/{key}"


def change_set_name(environment: str, now: datetime) -> str:
    """Unique per run and readable in the console: ``hubgen-<env>-<UTC timestamp>``."""
    return f"hubgen-{environment}-{now:%Y%m%d-%H%M%S}"


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


# --- change sets --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    action: str
    logical_id: str
    resource_type: str
    replacement: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"action": self.action, "logicalResourceId": self.logical_id, "resourceType": self.resource_type,
                "replacement": self.replacement}


def changes(raw: Iterable[dict]) -> list[Change]:
    """The resource changes of a DescribeChangeSet response, in CloudFormation's order."""
    out = []
    for item in raw:
        rc = item.get("ResourceChange") if isinstance(item, dict) else None
        if not isinstance(rc, dict):
            continue
        out.append(Change(str(rc.get("Action", "")), str(rc.get("LogicalResourceId", "")),
                          str(rc.get("ResourceType", "")), str(rc.get("Replacement", "") or "")))
    return out


@dataclass(frozen=True)
class ParameterChange:
    key: str
    old: str | None  # None: the stack does not have the parameter yet
    new: str | None  # None: the parameter is no longer passed

    def to_dict(self) -> dict:
        return {"key": self.key, "old": self.old, "new": self.new}


def parameter_changes(old: dict[str, str], new: dict[str, str]) -> list[ParameterChange]:
    """Parameters whose value differs between the deployed stack and the committed parameter file.

    NoEcho values come back masked ("****") and cannot be compared; they are left out.
    """
    out = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == "****" or before == after:
            continue
        out.append(ParameterChange(key, before, after))
    return out


# --- events -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    event_id: str
    timestamp: datetime
    logical_id: str
    resource_type: str
    status: str
    reason: str = ""
    physical_id: str = ""

    @property
    def failed(self) -> bool:
        return self.status.endswith("_FAILED")

    @property
    def is_stack(self) -> bool:
        return self.resource_type == "AWS::CloudFormation::Stack"

    def to_dict(self) -> dict:
        return {"timestamp": self.timestamp.isoformat(), "logicalResourceId": self.logical_id,
                "resourceType": self.resource_type, "status": self.status, "reason": self.reason}


def select_new(newest_first: Iterable[Event], seen: set[str], since: datetime | None) -> tuple[list[Event], bool]:
    """New events from one page of DescribeStackEvents (newest first), oldest first.

    Stops at the first event already seen or older than ``since`` (the newest event before this run);
    the flag says whether it stopped (no need to read older pages).
    """
    fresh = []
    for event in newest_first:
        if event.event_id in seen or (since is not None and event.timestamp < since):
            return list(reversed(fresh)), True
        fresh.append(event)
    return list(reversed(fresh)), False


_CANCELLED = re.compile(r"\b(cancelled|canceled)\b", re.IGNORECASE)


def is_cancelled(event: Event) -> bool:
    """A resource CloudFormation stopped because another one failed ("Resource creation cancelled")."""
    return bool(_CANCELLED.search(event.reason))


def last_operation(newest_first: Iterable[Event]) -> list[Event]:
    """The events of the stack's most recent operation (from its "User Initiated" start), oldest first."""
    out = []
    for event in newest_first:
        out.append(event)
        if event.is_stack and event.status.endswith("_IN_PROGRESS") and event.reason == "User Initiated":
            break
    return list(reversed(out))


def failures(events: Iterable[Event]) -> list[Event]:
    """Failed resource events, root causes first (CloudFormation marks the rest "... cancelled")."""
    failed = [e for e in events if e.failed and not e.is_stack]
    failed.sort(key=lambda e: e.timestamp)
    return [e for e in failed if not is_cancelled(e)] + [e for e in failed if is_cancelled(e)]
