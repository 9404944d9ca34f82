"""Running the cookiecutter templates shipped in this package, with no side effects elsewhere.

cookiecutter normally reads ``~/.cookiecutterrc`` and writes a replay file to
``~/.cookiecutter_replay/``; hubgen gives it a throw-away configuration instead,
never prompts through it (hubgen asks and validates itself, then passes every
answer as ``extra_context`` with ``no_input=True``) and runs no template hooks.
"""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

#: Template folders under generator/scaffold/templates/.
ENVIRONMENT_TEMPLATE = "environment"
REPOSITORY_TEMPLATE = "repository"


class TemplateError(Exception):
    """A shipped template failed to render (a hubgen bug, never a user error)."""


def run_template(name: str, output_dir: Path, context: dict[str, Any]) -> Path:
    """Render template ``name`` into ``output_dir`` (which must exist); returns the created folder."""
    from cookiecutter.main import cookiecutter

    with tempfile.TemporaryDirectory(prefix="hubgen-cookiecutter-") as scratch, \
            resources.as_file(resources.files("generator.scaffold") / "templates" / name) as template:
        config = Path(scratch) / "config.yaml"
        config.write_text(f"cookiecutters_dir: {Path(scratch, 'templates')}\n"
                          f"replay_dir: {Path(scratch, 'replay')}\n", encoding="utf-8")
        try:
            created = cookiecutter(str(template), no_input=True, extra_context=context, output_dir=str(output_dir),
                                   config_file=str(config), accept_hooks=False)
        except Exception as e:  # noqa: BLE001 - cookiecutter/Jinja raise many types; all mean "did not render"
            raise TemplateError(f"template '{name}' failed: {type(e).__name__}: {e}") from e
    return Path(created)
