"""The only module of hubgen that talks to AWS: a thin boto3 wrapper returning :mod:`generator.deploy.plan` types.

Credentials come from the standard boto3 chain (environment, AWS_PROFILE, SSO, web identity / OIDC in
CI, instance roles); the region is the environment's (``aws.region`` in the spec), never the caller's
default. ``endpoint_url`` points every client at an emulator. Every botocore failure is raised as
:class:`AwsError` so callers never see a traceback.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any, Callable, TypeVar

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.loaders import Loader
from botocore.parsers import ResponseParserError

from generator import __version__
from generator.deploy.plan import Event, Stack, select_new

T = TypeVar("T")


class AwsError(Exception):
    """An AWS API call failed; ``code`` is AWS's error code ("" for client-side failures)."""

    def __init__(self, operation: str, code: str, message: str):
        super().__init__(f"{operation}: {code + ': ' if code else ''}{message}")
        self.operation = operation
        self.code = code
        self.message = message


def _aws_call(operation: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> T:
            try:
                return fn(*args, **kwargs)
            except ClientError as e:
                err = e.response.get("Error", {})
                raise AwsError(operation, str(err.get("Code", "")), str(err.get("Message", "")) or str(e)) from None
            except (BotoCoreError, ResponseParserError) as e:
                raise AwsError(operation, "", " ".join(str(e).split())) from None

        return inner

    return wrap


def _event(raw: dict) -> Event:
    ts = raw.get("Timestamp")
    if not isinstance(ts, datetime):
        ts = datetime.fromtimestamp(0, timezone.utc)
    return Event(str(raw.get("EventId", "")), ts, str(raw.get("LogicalResourceId", "")),
                 str(raw.get("ResourceType", "")), str(raw.get("ResourceStatus", "")),
                 str(raw.get("ResourceStatusReason", "") or ""), str(raw.get("PhysicalResourceId", "") or ""))


_LOADER: Loader | None = None


def _new_session(region: str) -> boto3.session.Session:
    """A fresh session (credentials resolved anew) sharing one model loader per process, so that the large
    service models are parsed once however many deploys a process runs."""
    global _LOADER
    core = botocore.session.get_session()
    if _LOADER is None:
        _LOADER = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _LOADER)
    return boto3.session.Session(botocore_session=core, region_name=region)


class Aws:
    def __init__(self, region: str, endpoint_url: str | None = None):
        self._endpoint_url = endpoint_url
        self._config = Config(user_agent_extra=f"hubgen/{__version__}", connect_timeout=15, read_timeout=60)
        self._clients: dict[str, Any] = {}
        try:
            self._session = _new_session(region)
        except BotoCoreError as e:
            raise AwsError("configure", "", " ".join(str(e).split())) from None

    def _client(self, service: str) -> Any:
        """A client for ``service``, created on first use (a deploy that needs no S3 never loads its model)."""
        if service not in self._clients:
            config = self._config
            if service == "s3" and self._endpoint_url:
                config = config.merge(Config(s3={"addressing_style": "path"}))  # emulators: no bucket DNS names
            try:
                self._clients[service] = self._session.client(service, endpoint_url=self._endpoint_url,
                                                              config=config)
            except (BotoCoreError, ValueError) as e:
                raise AwsError("configure", "", " ".join(str(e).split())) from None
        return self._clients[service]

    @property
    def _cfn(self) -> Any:
        return self._client("cloudformation")

    @property
    def _sts(self) -> Any:
        return self._client("sts")

    @property
    def _s3(self) -> Any:
        return self._client("s3")

    # --- identity and templates ---------------------------------------------------------------------------------

    @_aws_call("sts:GetCallerIdentity")
    def account_id(self) -> str:
        return str(self._sts.get_caller_identity()["Account"])

    @_aws_call("s3:PutObject")
    def upload_template(self, bucket: str, key: str, body: bytes) -> None:
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-yaml")

    # --- stacks ------------------------------------------------------------------------------------------------

    def stack(self, name_or_id: str) -> Stack | None:
        """The stack, or None when it does not exist."""
        try:
            return self._describe_stack(name_or_id)
        except AwsError as e:
            if e.code == "ValidationError" and "does not exist" in e.message:
                return None
            raise

    @_aws_call("cloudformation:DescribeStacks")
    def _describe_stack(self, name_or_id: str) -> Stack | None:
        stacks = self._cfn.describe_stacks(StackName=name_or_id).get("Stacks") or []
        if not stacks:
            return None
        s = stacks[0]
        return Stack(
            name=s["StackName"], stack_id=s["StackId"], status=s["StackStatus"],
            status_reason=s.get("StackStatusReason", "") or "",
            tags={t["Key"]: t["Value"] for t in s.get("Tags") or []},
            parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in s.get("Parameters") or []},
            outputs={o["OutputKey"]: o.get("OutputValue", "") for o in s.get("Outputs") or []},
        )

    @_aws_call("cloudformation:DescribeStackEvents")
    def events_page(self, stack_id: str, token: str | None = None) -> tuple[list[Event], str | None]:
        kwargs = {"StackName": stack_id, **({"NextToken": token} if token else {})}
        resp = self._cfn.describe_stack_events(**kwargs)
        return [_event(e) for e in resp.get("StackEvents") or []], resp.get("NextToken")

    def new_events(self, stack_id: str, seen: set[str], since: datetime | None) -> list[Event]:
        """Events not in ``seen`` and not older than ``since``, oldest first (reads as many pages as needed)."""
        out: list[Event] = []
        token = None
        while True:
            page, token = self.events_page(stack_id, token)
            fresh, stopped = select_new(page, seen, since)
            out = fresh + out
            if stopped or not token:
                return out

    # --- change sets -------------------------------------------------------------------------------------------

    @_aws_call("cloudformation:CreateChangeSet")
    def create_change_set(self, **kwargs: Any) -> tuple[str, str]:
        resp = self._cfn.create_change_set(**kwargs)
        return str(resp["Id"]), str(resp["StackId"])

    @_aws_call("cloudformation:DescribeChangeSet")
    def describe_change_set(self, change_set_id: str) -> dict:
        """The change set with every page of its Changes."""
        resp = self._cfn.describe_change_set(ChangeSetName=change_set_id)
        changes = list(resp.get("Changes") or [])
        token = resp.get("NextToken")
        while token:
            page = self._cfn.describe_change_set(ChangeSetName=change_set_id, NextToken=token)
            changes.extend(page.get("Changes") or [])
            token = page.get("NextToken")
        resp["Changes"] = changes
        return resp

    @_aws_call("cloudformation:DeleteChangeSet")
    def delete_change_set(self, change_set_id: str) -> None:
        self._cfn.delete_change_set(ChangeSetName=change_set_id)

    @_aws_call("cloudformation:ExecuteChangeSet")
    def execute_change_set(self, change_set_id: str) -> None:
        self._cfn.execute_change_set(ChangeSetName=change_set_id)
