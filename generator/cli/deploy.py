"""`hubgen deploy ENV`: create or update the environment's cluster stack through a CloudFormation change set."""

from __future__ import annotations

import re
from typing import Optional

import typer

from generator.cli.base import EXIT_OK, EXIT_PROBLEMS, Format, app, complete_environments, state, usage_error

_URL_RE = re.compile(r"^https?://[^\s/]+(/\S*)?$")


@app.command("deploy", short_help="Create or update ENV's stack through a CloudFormation change set (--dry-run: "
                                    "create and print it, change nothing).")
def deploy_command(
    ctx: typer.Context,
    environment: str = typer.Argument(..., metavar="ENV",
                                      help="The environment to deploy (a folder under environments/).",
                                      autocompletion=complete_environments),
    dry_run: bool = typer.Option(False, "--dry-run", help="Create and print the change set, then delete it: "
                                                          "nothing is changed."),
    template_bucket: Optional[str] = typer.Option(
        None, "--template-bucket", envvar="HUBGEN_TEMPLATE_BUCKET", show_envvar=True,
        help="S3 bucket (in the stack's region) for templates over CloudFormation's 51,200-byte inline limit; "
             "uploaded under a content-hash key."),
    endpoint_url: Optional[str] = typer.Option(
        None, "--endpoint-url", envvar="HUBGEN_AWS_ENDPOINT_URL", show_envvar=True,
        help="Send every AWS call to this endpoint (an emulator such as moto or LocalStack)."),
    timeout: float = typer.Option(90.0, "--timeout", min=0.1, help="Minutes to wait for the stack operation."),
    poll_interval: float = typer.Option(10.0, "--poll-interval", min=0.1,
                                        help="Seconds between checks for new stack events."),
    adopt: bool = typer.Option(False, "--adopt", help="Take over an existing stack of this name that hubgen did "
                                                      "not create (no hubgen:environment tag)."),
    allow_dirty: bool = typer.Option(False, "--allow-dirty",
                                     help="Deploy even when ENV's spec, generated files or the stack template differ "
                                          "from git's HEAD (or the repository is not a git checkout); each such "
                                          "file is reported as a warning (HG607)."),
) -> None:
    """Create or update ENV's stack through a CloudFormation change set and wait for it (never deletes stacks).

    Deploys the committed generated files: refuses when ENV's spec, generated files or the stack template have
    uncommitted changes (HG607; --allow-dirty overrides it, loudly) and when the generated files are out of
    date. Prints the change set; "no changes" is success; on failure prints each failing resource with its
    reason. Exit 0 deployed or nothing to do, 1 problems or a failed deployment, 2 usage error.
    """
    from generator.deploy.plan import valid_bucket_name
    from generator.deploy.runner import DeployOptions, deploy  # boto3 is loaded for deploys only
    from generator.output import console, report
    from generator.validate.environments import UsageError
    from generator.writer import WriteError

    st = state(ctx)
    repo = st.repo
    if endpoint_url is not None and not _URL_RE.match(endpoint_url):
        usage_error(f"--endpoint-url {endpoint_url!r}: expected an http:// or https:// URL")
    if template_bucket is not None and not valid_bucket_name(template_bucket):
        usage_error(f"--template-bucket {template_bucket!r}: not a valid S3 bucket name")
    opts = DeployOptions(environment, dry_run=dry_run, template_bucket=template_bucket or None,
                         endpoint_url=endpoint_url or None, timeout=timeout * 60, poll_interval=poll_interval,
                         adopt=adopt, allow_dirty=allow_dirty)
    # Progress goes to stdout for people, to stderr when stdout carries JSON; nowhere with --quiet.
    progress = None if st.quiet else console(stderr=st.format is Format.json)
    try:
        outcome = deploy(repo, opts, progress)
    except UsageError as e:
        usage_error(str(e))
    except WriteError as e:
        typer.echo(f"hubgen: error: {e}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    report(outcome.problems, st.format.value, command="deploy", environments=[environment],
           extra={"deploy": outcome.record}, quiet=st.quiet or outcome.ok)
    raise typer.Exit(EXIT_OK if outcome.ok else EXIT_PROBLEMS)
