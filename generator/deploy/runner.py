"""The deploy steps, in order. Everything AWS goes through :class:`generator.deploy.client.Aws`.

0. Require the deploy's inputs (spec, generated files, stack template) to be committed (HG607; ``--allow-dirty``
   deploys them anyway, each reported as a warning).
1. Validate the environment (schema + semantic checks) and require its generated files to be up to date.
2. Read the committed parameter file, the template configuration's tags and the template.
3. Check the credentials' account against the spec; look at the stack; decide CREATE or UPDATE (or refuse).
4. Create a change set (template inline, or uploaded to S3 when larger than CloudFormation's inline limit),
   wait for it, print it. "No changes" is success. ``--dry-run`` stops here and deletes the change set.
5. Execute it and follow the stack events until the stack settles; on failure report each failing
   resource with CloudFormation's reason.

Stacks are never deleted by hubgen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from generator import codes
from generator.deploy import committed
from generator.deploy import inputs as deploy_inputs
from generator.deploy import plan
from generator.deploy.client import Aws, AwsError
from generator.deploy.inputs import DeployInputs
from generator.generate import plan as render_plan
from generator.paths import CLUSTER_TEMPLATE, RepoPaths
from generator.problems import Location, Problem, Severity, has_errors
from generator.validate.environments import UsageError, check_env_names
from generator.writer import drift_problems, repo_lock

#: How often a change set is polled while CloudFormation computes it (seconds, at most).
CHANGE_SET_POLL = 2.0


@dataclass
class DeployOptions:
    environment: str
    dry_run: bool = False
    template_bucket: str | None = None
    endpoint_url: str | None = None
    timeout: float = 3600.0  # seconds
    poll_interval: float = 10.0  # seconds between DescribeStackEvents calls
    adopt: bool = False
    #: Deploy inputs that differ from git's HEAD are warnings instead of errors (HG607).
    allow_dirty: bool = False


@dataclass
class DeployOutcome:
    problems: list[Problem] = field(default_factory=list)
    #: The machine-readable record (``--format json``: the "deploy" member).
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems)


class Progress:
    """Human progress output; silent when ``console`` is None (quiet, or JSON on stdout)."""

    def __init__(self, console: Console | None):
        self.console = console

    def line(self, text: str) -> None:
        if self.console:
            self.console.print(text)

    def change_set(self, name: str, kind: str, changes: list[plan.Change]) -> None:
        if not self.console:
            return
        self.console.print(f"change set [bold]{escape(name)}[/] ({kind}): {len(changes)} resource change(s)")
        if not changes:
            return
        table = Table(show_edge=True, header_style="bold")
        for col in ("Action", "LogicalResourceId", "ResourceType", "Replacement"):
            table.add_column(col)
        styles = {"Add": "green", "Remove": "red", "Modify": "yellow"}
        for c in changes:
            style = styles.get(c.action, "")
            replacement = f"[bold red]{c.replacement}[/]" if c.replacement == "True" else escape(c.replacement)
            table.add_row(f"[{style}]{escape(c.action)}[/]" if style else escape(c.action), escape(c.logical_id),
                          escape(c.resource_type), replacement)
        self.console.print(table)

    def parameters(self, changes: list[plan.ParameterChange]) -> None:
        if not self.console or not changes:
            return
        self.console.print(f"parameter changes: {len(changes)}")
        for c in changes:
            old = "(none)" if c.old is None else repr(c.old)
            new = "(removed)" if c.new is None else repr(c.new)
            self.console.print(f"  {escape(c.key)}: {escape(old)} -> {escape(new)}")

    def event(self, e: plan.Event) -> None:
        if not self.console:
            return
        style = "red" if e.failed or "ROLLBACK" in e.status else "green" if e.status.endswith("_COMPLETE") else "yellow"
        reason = f"  {escape(e.reason)}" if e.reason else ""
        self.console.print(f"  {e.timestamp.astimezone(timezone.utc):%H:%M:%S}  [{style}]{escape(e.status)}[/]  "
                           f"{escape(e.logical_id)} ({escape(e.resource_type)}){reason}")

    def outputs(self, outputs: dict[str, str]) -> None:
        if not self.console or not outputs:
            return
        self.console.print("outputs:")
        for k, v in sorted(outputs.items()):
            self.console.print(f"  {escape(k)}: {escape(v)}")


class _Context:
    """What the steps share: the environment, where its spec says things, and the record being built."""

    def __init__(self, repo: RepoPaths, opts: DeployOptions, progress: Progress):
        self.repo = repo
        self.opts = opts
        self.env = opts.environment
        self.progress = progress
        self.outcome = DeployOutcome(record={
            "environment": opts.environment, "dryRun": opts.dry_run, "result": None, "stack": None,
            "region": None, "account": None, "action": None, "changeSet": None, "parameterChanges": [],
            "templateUrl": None, "stackStatus": None, "stackStatusReason": None, "events": [], "failures": [],
            "outputs": {}, "allowDirty": opts.allow_dirty, "uncommitted": [],
        })
        self.loaded = None
        self.inputs: DeployInputs | None = None

    @property
    def record(self) -> dict[str, Any]:
        return self.outcome.record

    def spec_location(self, *path: str) -> Location:
        spec = self.repo.env(self.env).spec
        if self.loaded is None:
            return Location(spec)
        line, col = self.loaded.locate(path)
        return Location(spec, line, col)

    def problem(self, code: codes.Code, message: str, location: Location | None = None, hint: str | None = None
                ) -> None:
        self.outcome.problems.append(code.problem(message, location or self.spec_location("cluster", "stackName"),
                                                  environment=self.env,
                                                  hint=code.hint.replace("<env>", self.env) if hint is None else hint))

    def finish(self, result: str) -> DeployOutcome:
        self.record["result"] = result
        return self.outcome


def deploy(repo: RepoPaths, opts: DeployOptions, console: Console | None) -> DeployOutcome:
    """Run a deploy. Raises UsageError for what the caller asked wrongly (exit 2); everything else is problems."""
    ctx = _Context(repo, opts, Progress(console))
    if not _prepare(ctx):
        return ctx.outcome
    assert ctx.inputs is not None
    try:
        return _deploy(ctx, ctx.inputs)
    except AwsError as e:
        code = codes.HG601 if e.operation.startswith("cloudformation:") and "ChangeSet" in e.operation else codes.HG605
        ctx.problem(code, f"{e.operation} failed: {e.code + ': ' if e.code else ''}{e.message}")
        return ctx.finish("failed")
    except KeyboardInterrupt:
        ctx.problem(codes.HG606, "interrupted while waiting; the stack operation (if one started) continues in "
                                 "CloudFormation")
        return ctx.finish("interrupted")


def _committed(ctx: _Context) -> bool:
    """Step 0: the inputs are what git has at HEAD (or --allow-dirty says to deploy them anyway, loudly)."""
    env, allow = ctx.env, ctx.opts.allow_dirty
    status = committed.uncommitted(ctx.repo, committed.deploy_inputs(ctx.repo, env))
    if status.clean:
        return True
    severity = Severity.WARNING if allow else Severity.ERROR
    spec = ctx.repo.env(env).spec
    if status.unknown is not None:
        ctx.record["uncommitted"] = [{"path": ".", "state": status.unknown}]
        message = (f"deploying {env} although {status.unknown} (--allow-dirty)" if allow else
                   f"cannot deploy {env}: {status.unknown}; `hubgen deploy` deploys committed files only")
        hint = ("Deploy from a git checkout, so the stack matches a commit." if allow else
                "Deploy from a git checkout (clone the repository and commit the change), or pass --allow-dirty "
                "to deploy these files as they are.")
        ctx.outcome.problems.append(codes.HG607.problem(message, Location(spec), environment=env, hint=hint,
                                                        severity=severity))
    else:
        ctx.record["uncommitted"] = [{"path": d.path, "state": d.state} for d in status.dirty]
        paths = " ".join(d.path for d in status.dirty)
        for d in status.dirty:
            if allow:
                message = (f"{d.path} is {d.state}: deployed anyway (--allow-dirty), so the stack will match no "
                           "commit")
                hint = f"Commit it (`git add {paths} && git commit`) so the stack matches a commit."
            else:
                message = f"{d.path} is {d.state}: `hubgen deploy {env}` deploys committed files only"
                hint = (f"Commit the change (`git add {paths} && git commit`) and deploy again, or pass "
                        "--allow-dirty to deploy the working tree as it is.")
            ctx.outcome.problems.append(codes.HG607.problem(message, Location(d.path), environment=env, hint=hint,
                                                            severity=severity))
    shown = status.unknown or ", ".join(f"{d.path} ({d.state})" for d in status.dirty)
    if allow:
        ctx.progress.line(f"[bold yellow]warning:[/] deploying uncommitted changes of {escape(env)} "
                          f"(--allow-dirty): {escape(shown)}")
        return True
    ctx.progress.line(f"[red]refusing to deploy {escape(env)}[/]: uncommitted changes ({escape(shown)}); commit "
                      "them, or pass --allow-dirty")
    ctx.finish("uncommitted")
    return False


def _prepare(ctx: _Context) -> bool:
    """Steps 0 to 2: committed inputs, validation, freshness of the generated files, the inputs themselves."""
    env = ctx.env
    check_env_names(ctx.repo, [env])  # UsageError for unknown environments, before anything else
    if not _committed(ctx):
        return False
    with repo_lock(ctx.repo, shared=True):
        rendered = render_plan(ctx.repo, [env])
        result = rendered.validation.environments.get(env)
        if result is not None and result.loaded is not None:
            ctx.loaded = result.loaded
        # Warnings (e.g. an open load balancer that is acknowledged) are shown but do not stop a deploy.
        ctx.outcome.problems.extend(rendered.problems)
        if not rendered.ok:
            ctx.finish("invalid")
            return False
        stale = [replace(p, hint=f"Run `hubgen render {env}`, commit the result, and deploy again.")
                 for change in rendered.changes for p in drift_problems(change)]
        if stale:
            ctx.outcome.problems.extend(stale)
            ctx.progress.line(f"[red]refusing to deploy {escape(env)}[/]: its generated files are not what "
                              f"{escape(ctx.repo.env(env).spec)} renders to; run `hubgen render {escape(env)}` "
                              "and commit")
            ctx.finish("stale")
            return False
        model = result.context.model  # type: ignore[union-attr]
        ctx.record.update(stack=model.cluster.stack_name, region=model.region, account=model.account_id)
        loaded_inputs, problems = deploy_inputs.load(ctx.repo, env)
    if problems or loaded_inputs is None:
        ctx.outcome.problems.extend(problems)
        ctx.finish("invalid")
        return False
    ctx.inputs = loaded_inputs
    template = loaded_inputs.template
    if plan.needs_upload(template.size):
        if template.size > plan.URL_TEMPLATE_LIMIT:
            ctx.problem(codes.HG601, f"{template.path} is {template.size:,} bytes; CloudFormation accepts at most "
                                     f"{plan.URL_TEMPLATE_LIMIT:,} bytes even from S3",
                        Location(template.path), hint="Split the template (nested stacks) or shorten it.")
            ctx.finish("invalid")
            return False
        if not ctx.opts.template_bucket:
            raise UsageError(
                f"{template.path} is {template.size:,} bytes, more than the {plan.INLINE_TEMPLATE_LIMIT:,} bytes "
                "CloudFormation accepts inline; give an S3 bucket in the stack's region for it with "
                "--template-bucket BUCKET (or HUBGEN_TEMPLATE_BUCKET)")
    return True


def _deploy(ctx: _Context, inputs: DeployInputs) -> DeployOutcome:
    opts, env, rec = ctx.opts, ctx.env, ctx.record
    stack_name, region, account = rec["stack"], rec["region"], rec["account"]
    aws = Aws(region, opts.endpoint_url)

    # Step 3: right account, stack state, create or update.
    caller = aws.account_id()
    if caller != account:
        ctx.problem(codes.HG604, f"the AWS credentials in use belong to account {caller}, but environment {env} "
                                 f"deploys to account {account}", ctx.spec_location("aws", "accountId"))
        return ctx.finish("refused")
    stack = aws.stack(stack_name)
    decision = plan.decide(stack, env, region, adopt=opts.adopt)
    if stack is not None:
        rec.update(stackStatus=stack.status, stackStatusReason=stack.status_reason or None)
    if decision.action is None:
        assert stack is not None
        ctx.problem(codes.get(decision.code), decision.refusal, hint=decision.hint)
        if decision.show_failures:
            events, _ = aws.events_page(stack.stack_id)
            _report_failures(ctx, inputs, plan.failures(plan.last_operation(events)))
        return ctx.finish("refused")
    rec["action"] = decision.action
    verb = "creating" if decision.action == plan.CREATE else "updating"
    ctx.progress.line(f"deploy [bold]{escape(env)}[/]: {verb} stack [bold]{escape(stack_name)}[/] in "
                      f"{escape(account)}/{escape(region)}"
                      + (" (dry run)" if opts.dry_run else ""))
    if stack is not None and decision.action == plan.UPDATE:
        pchanges = plan.parameter_changes(stack.parameters, inputs.parameter_values)
        rec["parameterChanges"] = [c.to_dict() for c in pchanges]
        ctx.progress.parameters(pchanges)

    # Step 4: the change set.
    request: dict[str, Any] = {
        "StackName": stack_name,
        "ChangeSetName": plan.change_set_name(env, datetime.now(timezone.utc)),
        "ChangeSetType": decision.action,
        "Parameters": inputs.parameters,
        "Capabilities": plan.capabilities(inputs.template.has_transform),
        "Tags": plan.tag_list(inputs.tags),
        "Description": f"hubgen deploy {env}",
    }
    template = inputs.template
    if plan.needs_upload(template.size):
        bucket = opts.template_bucket or ""
        key = plan.template_key(template.sha256, CLUSTER_TEMPLATE.rsplit("/", 1)[-1])
        aws.upload_template(bucket, key, template.body)
        request["TemplateURL"] = rec["templateUrl"] = plan.template_url(bucket, key, region)
        ctx.progress.line(f"template uploaded to s3://{escape(bucket)}/{escape(key)}")
    else:
        request["TemplateBody"] = template.body.decode("utf-8")
    try:
        change_set_id, stack_id = aws.create_change_set(**request)
    except AwsError as e:
        if plan.is_no_change(e.message):
            return _no_changes(ctx, stack_name)
        raise
    rec["changeSet"] = {"name": request["ChangeSetName"], "id": change_set_id, "type": decision.action,
                        "status": None, "statusReason": None, "changes": []}
    deadline = time.monotonic() + opts.timeout
    described = _wait_change_set(ctx, aws, change_set_id, deadline)
    if described is None:
        return ctx.finish("timeout")
    status, reason = described.get("Status", ""), described.get("StatusReason", "") or ""
    rec["changeSet"].update(status=status, statusReason=reason or None)
    if plan.change_set_outcome(status) == "failed":
        _delete_quietly(aws, change_set_id)
        if plan.is_no_change(reason):
            return _no_changes(ctx, stack_name)
        ctx.problem(codes.HG601, f"change set {request['ChangeSetName']} {status}: {reason or 'no reason given'}")
        return ctx.finish("failed")
    changes = plan.changes(described.get("Changes") or [])
    rec["changeSet"]["changes"] = [c.to_dict() for c in changes]
    ctx.progress.change_set(request["ChangeSetName"], decision.action, changes)
    if opts.dry_run:
        aws.delete_change_set(change_set_id)
        if decision.action == plan.CREATE:
            ctx.progress.line(f"dry run: change set deleted; nothing created (CloudFormation keeps the empty stack "
                              f"record {escape(stack_name)} in REVIEW_IN_PROGRESS until the first deploy)")
        else:
            ctx.progress.line(f"dry run: change set deleted; stack {escape(stack_name)} unchanged")
        return ctx.finish("dry-run")

    # Step 5: execute and follow the events.
    baseline, _ = aws.events_page(stack_id)
    seen = {e.event_id for e in baseline}
    since = max((e.timestamp for e in baseline), default=None)
    ctx.progress.line(f"executing change set {escape(request['ChangeSetName'])} ...")
    observed: list[plan.Event] = []
    try:
        aws.execute_change_set(change_set_id)
    except AwsError as e:
        ctx.problem(codes.HG601, f"executing change set {request['ChangeSetName']} failed: "
                                 f"{e.code + ': ' if e.code else ''}{e.message}")
        observed = aws.new_events(stack_id, seen, since)
        for ev in observed:
            ctx.progress.event(ev)
        rec["events"] = [ev.to_dict() for ev in observed]
        _report_failures(ctx, inputs, plan.failures(observed))
        final = aws.stack(stack_id)
        if final is not None:
            rec.update(stackStatus=final.status, stackStatusReason=final.status_reason or None)
        return ctx.finish("failed")
    final = _wait_stack(ctx, aws, stack_id, seen, since, deadline, observed)
    rec["events"] = [ev.to_dict() for ev in observed]
    if isinstance(final, str):
        return ctx.finish(final)
    rec.update(stackStatus=final.status, stackStatusReason=final.status_reason or None, outputs=final.outputs)
    if plan.outcome(final.status) == "succeeded":
        ctx.progress.outputs(final.outputs)
        ctx.progress.line(f"[green]deploy {escape(env)}: stack {escape(stack_name)} {escape(final.status)}[/]")
        return ctx.finish("created" if decision.action == plan.CREATE else "updated")
    failed = plan.failures(observed)
    ctx.problem(codes.HG601, f"stack {stack_name} ended in {final.status}"
                             + (f": {final.status_reason}" if final.status_reason else ""),
                hint=_after_failure_hint(final.status, stack_name, region, env))
    _report_failures(ctx, inputs, failed)
    return ctx.finish("failed")


def _after_failure_hint(status: str, stack_name: str, region: str, env: str) -> str:
    if status == "ROLLBACK_COMPLETE":
        return (f"The creation failed and was rolled back; fix the cause, delete the empty stack by hand "
                f"(`aws cloudformation delete-stack --stack-name {stack_name} --region {region}`) and deploy again. "
                "hubgen never deletes stacks.")
    if status == "UPDATE_ROLLBACK_COMPLETE":
        return (f"The update was rolled back and the stack runs the previous version; fix the cause, run "
                f"`hubgen render {env}`, commit, and deploy again.")
    return codes.HG601.hint.replace("<env>", env)


def _no_changes(ctx: _Context, stack_name: str) -> DeployOutcome:
    ctx.progress.line(f"deploy {escape(ctx.env)}: no changes; stack {escape(stack_name)} is up to date")
    return ctx.finish("no-changes")


def _delete_quietly(aws: Aws, change_set_id: str) -> None:
    try:
        aws.delete_change_set(change_set_id)
    except AwsError:
        pass  # a failed change set is harmless; CloudFormation drops it with the next executed one


def _report_failures(ctx: _Context, inputs: DeployInputs, failed: list[plan.Event]) -> None:
    """One HG601 per root cause, at the resource in the template. Resources CloudFormation only cancelled
    because of them are named in the first cause's message (all are in the JSON record)."""
    ctx.record["failures"] = [e.to_dict() for e in failed]
    causes = [e for e in failed if not plan.is_cancelled(e)]
    cancelled = [e for e in failed if plan.is_cancelled(e)]
    if not causes:
        causes, cancelled = cancelled, []
    for i, e in enumerate(causes):
        message = f"{e.logical_id} ({e.resource_type}) {e.status}: {e.reason or 'no reason given'}"
        if i == 0 and cancelled:
            names = ", ".join(dict.fromkeys(c.logical_id for c in cancelled))
            message += f" (CloudFormation cancelled {len(cancelled)} other resource operation(s): {names})"
        ctx.problem(codes.HG601, message, inputs.template.locate(e.logical_id))


def _sleep_until(deadline: float, interval: float) -> bool:
    """Sleep ``interval`` (or until the deadline); False when the deadline has passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    time.sleep(min(interval, remaining))
    return True


def _wait_change_set(ctx: _Context, aws: Aws, change_set_id: str, deadline: float) -> dict | None:
    interval = min(ctx.opts.poll_interval, CHANGE_SET_POLL)
    while True:
        described = aws.describe_change_set(change_set_id)
        if plan.change_set_outcome(str(described.get("Status", ""))) != "running":
            return described
        if not _sleep_until(deadline, interval):
            ctx.problem(codes.HG606, f"change set still {described.get('Status')} after "
                                     f"{ctx.opts.timeout:.0f} s")
            return None


def _wait_stack(ctx: _Context, aws: Aws, stack_id: str, seen: set[str], since: datetime | None, deadline: float,
                observed: list[plan.Event]) -> plan.Stack | str:
    """The stack once its operation has ended, or the result ("failed", "timeout") when it cannot be followed."""
    while True:
        stack = aws.stack(stack_id)
        # Events after the status: everything up to the status we act on has been printed.
        fresh = aws.new_events(stack_id, seen, since)
        for ev in fresh:
            seen.add(ev.event_id)
            ctx.progress.event(ev)
        observed.extend(fresh)
        if stack is None:
            ctx.problem(codes.HG601, f"stack {ctx.record['stack']} disappeared while it was being deployed")
            return "failed"
        if plan.outcome(stack.status) != "running":
            return stack
        if not _sleep_until(deadline, ctx.opts.poll_interval):
            ctx.record.update(stackStatus=stack.status)
            ctx.problem(codes.HG606, f"stack {stack.name} still {stack.status} after {ctx.opts.timeout:.0f} s; "
                                     "CloudFormation continues the operation")
            return "timeout"
