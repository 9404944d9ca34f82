"""`hubgen verify ENV --kubeconfig F`: is the cluster running what the environment's generated files say?"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from generator.cli.base import EXIT_OK, EXIT_PROBLEMS, Format, app, complete_environments, state, validated_environment

DEFAULT_KUBECONFIG = Path("~/.kube/config")


@app.command("verify", short_help="Check that ENV's cluster runs what its generated files say: every Flux "
                                    "Kustomization and HelmRelease Ready, hubs available, volumes bound, nodePorts.")
def verify_command(
    ctx: typer.Context,
    environment: str = typer.Argument(..., metavar="ENV", help="The environment whose cluster to check.",
                                      autocompletion=complete_environments),
    kubeconfig: Optional[Path] = typer.Option(
        None, "--kubeconfig", metavar="FILE",
        help="The cluster's kubeconfig (default: $KUBECONFIG's first file, else ~/.kube/config); for EKS, "
             "`aws eks update-kubeconfig` writes one."),
    context: Optional[str] = typer.Option(None, "--context", help="The kubeconfig context (default: its current one)."),
    wait: float = typer.Option(0.0, "--wait", min=0.0, metavar="SECONDS",
                               help="Check again until everything is ready or this many seconds have passed "
                                    "(default: check once)."),
    revision: Optional[str] = typer.Option(
        None, "--revision", metavar="COMMIT",
        help="Also require every Kustomization to have applied this git commit (e.g. the commit just merged)."),
) -> None:
    """Check ENV's cluster against ENV's committed, generated files, through the Kubernetes API (read-only).

    Every Flux Kustomization of environments/ENV/cluster/ is Ready (at --revision when given); every
    HelmRelease of platform/ and hubs/ is Ready, its latest release deployed at the pinned chart version;
    each hub's hub and proxy Deployments are available; the hub's database volume is Bound to its
    StorageClass; the proxy's nodePort is the one the stack's load balancer targets; each node group with
    minSize >= 1 has a Ready node with its labels. Exit 0 all ready, 1 something is not (each with its
    reason), 2 usage error.
    """
    from generator import codes
    from generator.e2e import readiness
    from generator.e2e.kubeapi import Client, KubeconfigError, KubeError
    from generator.output import console, escape, report
    from generator.problems import Location

    st = state(ctx)
    repo = st.repo
    name, result = validated_environment(st, environment, "verify", "nothing was checked")
    try:
        exp = readiness.expected(repo, name, result.context.model)
    except readiness.NotRendered as e:
        typer.echo(f"hubgen: error: {e}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)

    path = _kubeconfig_path(kubeconfig)
    cluster = codes.HG707
    try:
        client = Client(path, context)
    except KubeconfigError as e:
        _fail(report, st, name, cluster.problem(str(e), Location(str(path)), environment=name))
    with client:
        try:
            version = client.version()
        except (KubeError, KubeconfigError) as e:
            _fail(report, st, name, cluster.problem(f"cannot reach the cluster {client.server}: {e}",
                                                    Location(str(path)), environment=name))
        progress = None if st.quiet or st.format is not Format.text else console(stderr=True)
        if wait and progress:
            progress.print(f"waiting up to {wait:g} s for {escape(name)}'s cluster ({escape(client.server)}, "
                           f"Kubernetes {escape(str(version.get('gitVersion', '?')))})")
        try:
            results = readiness.wait(client, exp, wait, revision=revision)
        except KubeconfigError as e:
            _fail(report, st, name, cluster.problem(str(e), Location(str(path)), environment=name))

    problems = [codes.get(r.code).problem(f"{r.ref}: {r.detail}", Location(r.source or exp.spec), environment=name)
                for r in results if not r.ok]
    if st.format is Format.text and not st.quiet:
        c = console()
        for r in results:
            mark = "[green]ok[/]     " if r.ok else "[red]NOT OK[/] "
            c.print(f"{mark} {escape(r.check)}: {escape(str(r.ref))}: {escape(r.detail)}")
    report(problems, st.format.value, command="verify", environments=[name], quiet=st.quiet,
           extra={"verify": {"server": client.server, "revision": revision, "checks": [
               {"check": r.check, "object": str(r.ref), "ok": r.ok, "detail": r.detail, "file": r.source,
                "code": None if r.ok else r.code} for r in results]}})
    raise typer.Exit(EXIT_OK if not problems else EXIT_PROBLEMS)


def _kubeconfig_path(option: Optional[Path]) -> Path:
    if option is not None:
        return option.expanduser()
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), None)
    return Path(first).expanduser() if first else DEFAULT_KUBECONFIG.expanduser()


def _fail(report, st, name: str, problem) -> None:
    report([problem], st.format.value, command="verify", environments=[name], quiet=st.quiet)
    raise typer.Exit(EXIT_PROBLEMS)
