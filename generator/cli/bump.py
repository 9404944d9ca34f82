"""`hubgen bump`: newer chart, Kubernetes and image versions written into the specs, rendered and checked; a
summary fit for a pull request's body."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from generator.cli.base import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, Format, app, complete_environments, state, \
    usage_error

if TYPE_CHECKING:
    from generator.bump.run import BumpRun


class BumpFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


class Tier(str, Enum):
    staging = "staging"
    production = "production"


class Kind(str, Enum):
    charts = "charts"
    kubernetes = "kubernetes"
    images = "images"


@app.command("bump", short_help="Newer chart, EKS and image versions into the specs (comments kept), rendered and "
                                 "checked, with a summary for a pull request; --check exits 1 when out of date.")
def bump_command(
    ctx: typer.Context,
    environments: Optional[List[str]] = typer.Argument(None, metavar="ENV",
                                                      help="Environments to bump (default: all).",
                                                      autocompletion=complete_environments),
    tier: Optional[Tier] = typer.Option(None, "--tier", help="Only environments of this tier (the spec's `tier`)."),
    only: Optional[List[Kind]] = typer.Option(
        None, "--only", help="Only these kinds of pins (repeatable): charts (the JupyterHub chart and the platform "
                             "charts), kubernetes (cluster.kubernetesVersion), images (needs --image-tags)."),
    follow: Optional[Tier] = typer.Option(
        None, "--follow", metavar="TIER",
        help="Never propose a version newer than what the environments of TIER pin now (production follows "
             "staging)."),
    image_tags: Optional[List[str]] = typer.Option(
        None, "--image-tags", metavar="FILE",
        help="Tags that exist, one `repository:tag` per line (repeatable); bumps singleuser and profile images to "
             "the newest tag of the same shape."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 when something is out of date."),
    format: Optional[BumpFormat] = typer.Option(
        None, "--format", "-f", help="text, markdown (a pull request body) or json. Default: the global --format."),
    summary_file: Optional[Path] = typer.Option(
        None, "--summary-file", metavar="FILE", help="Also write the markdown summary to FILE."),
) -> None:
    """Find newer versions of what each environment pins -- each hub's JupyterHub chart and the platform charts
    hubgen renders (from their Helm repository indexes, like `hubgen lint` fetches charts: HUBGEN_CHART_REPOSITORY,
    HUBGEN_CHART_MIRRORS), the next EKS Kubernetes version (hubgen's calendar), image tags (--image-tags) -- and
    write them into the specs, keeping comments and formatting. Then render the bumped environments (as `hubgen
    render`) and check them: validation and each hub's values against its new chart's schema. Prints what changed,
    the upgrade notes crossed and the checks' result (docs/bump.md).

    Exit 0 bumped or nothing to bump; 1 the bumped environments fail their checks (the files are still written),
    or with --check something is out of date; 2 usage error or a version source that cannot be read (nothing
    written)."""
    from generator.bump import KINDS
    from generator.bump.run import run
    from generator.validate.environments import UsageError
    from generator.writer import WriteError

    st = state(ctx)
    fmt = format.value if format is not None else ("json" if st.format is Format.json else "text")
    if fmt == "json":
        st.format = Format.json
    elif format is not None:
        st.format = Format.text
    if follow is not None and tier is not None and follow is tier:
        usage_error(f"--follow {follow.value} with --tier {tier.value}: an environment cannot follow its own tier")
    kinds = tuple(k.value for k in only) if only else KINDS
    try:
        result = run(st.repo, environments, tier=tier.value if tier else None, kinds=kinds,
                     follow=follow.value if follow else None, image_tags=[Path(f) for f in image_tags or ()], check=check)
    except UsageError as e:
        usage_error(str(e))
    except WriteError as e:
        typer.echo(f"hubgen: error: {e}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    _output(st, result, fmt)
    if result.fatal:
        raise typer.Exit(EXIT_USAGE)
    if summary_file is not None:
        _write_summary(summary_file, result)
    if check:
        out_of_date = any(e.bumps for e in result.environments)
        raise typer.Exit(EXIT_PROBLEMS if out_of_date or _failed(result) else EXIT_OK)
    raise typer.Exit(EXIT_PROBLEMS if _failed(result) else EXIT_OK)


def _failed(result: BumpRun) -> bool:
    from generator.problems import has_errors

    return has_errors(result.problems)


def _problems(result: BumpRun) -> list:
    """What is reported: the run's problems and, for `--check`, each newer version (HG804) at its pin."""
    from generator import codes
    from generator.bump.sources import where
    from generator.problems import Location

    out = list(result.problems)
    if result.check:
        for env in result.environments:
            for b in env.bumps:
                out.append(codes.HG804.problem(
                    f"{b.pin.label}: {where(b.pin.path)} {b.pin.current} -> {b.new} is available",
                    env.locations.get(b.pin.path, Location(env.spec)), environment=env.environment,
                    path="/" + "/".join(str(p) for p in b.pin.path)))
    return out


def _output(st, result: BumpRun, fmt: str) -> None:
    from generator.bump import summary
    from generator.output import console, escape, report

    command = "bump --check" if result.check else "bump"
    envs = [e.environment for e in result.environments]
    problems = _problems(result)
    if fmt == "json":
        report(problems, "json", command=command, environments=envs, extra={"bump": summary.to_dict(result)})
        return
    if fmt == "markdown":
        if result.fatal:
            report(result.fatal, "text", command=command, environments=envs, out=sys.stderr)
            return
        sys.stdout.write(summary.markdown(result))
        return
    report(problems, "text", command=command, environments=envs, quiet=True)
    if st.quiet:
        return
    c = console()
    for line in summary.text(result):
        c.print(escape(line))
    bumped = [e for e in result.environments if e.bumps]
    written = f", {len(result.written)} spec(s) written" if result.written else ""
    c.print(f"{command}: {len(envs)} environment(s), {len(bumped)} with newer versions{written}")


def _write_summary(path: Path, result: BumpRun) -> None:
    """The markdown summary into ``path`` (the caller's file, e.g. in the CI runner's temporary folder)."""
    from generator.bump import summary

    try:
        path.write_text(summary.markdown(result), encoding="utf-8")
    except OSError as e:
        typer.echo(f"hubgen: error: cannot write the summary to {path}: {e.strerror or e}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
