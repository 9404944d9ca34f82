"""docs/checks.md and the code catalogue agree, and every check code is exercised by a bad-input case; the README's
table of commands is the CLI's.

docs/checks.md is generated: `hubgen checks --markdown > docs/checks.md`; the README's table of commands:
`python -m generator.cli.docs --write`.
"""

from __future__ import annotations

import re

from generator import checks, codes

from .specs import REPO_ROOT
from .test_bad_inputs import CASES, EXERCISED_OUTSIDE_CASES

DOC = REPO_ROOT / "docs" / "checks.md"


def test_docs_checks_md_is_generated_from_the_catalogue(invoke_hubgen) -> None:
    r = invoke_hubgen(["checks", "--markdown"])
    assert r.rc == 0, r
    assert r.stdout == codes.markdown()
    assert DOC.read_text(encoding="utf-8") == r.stdout, (
        "docs/checks.md is out of date: run `.venv/bin/hubgen checks --markdown > docs/checks.md`")


def test_every_code_is_documented_with_its_title() -> None:
    doc = DOC.read_text(encoding="utf-8")
    headings = re.findall(r"^## (HG\d{3})$", doc, re.M)
    assert headings == list(codes.CODES)
    for code in codes.CODES.values():
        assert f"## {code.id}\n\n**{code.title}** ({code.severity.value})" in doc, code.id
        title = code.title.replace("|", "\\|")
        assert f"| [{code.id}](#{code.id.lower()}) | {code.severity.value} | {title} |" in doc, code.id


def test_checks_table_rows_have_four_cells() -> None:
    """A '|' in a title or hint must not split a table row (it is escaped as '\\|')."""
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| [HG")]
    assert len(rows) == len(codes.CODES)
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row)
        assert len(cells) == 6 and cells[0] == cells[-1] == "", row


def test_catalogue_is_well_formed() -> None:
    for cid, code in codes.CODES.items():
        assert re.fullmatch(r"HG[0-9]{3}", cid) and code.id == cid
        assert code.title and code.hint and code.doc, cid
    assert list(codes.CODES) == sorted(codes.CODES), "codes are listed in order"


def test_every_registered_check_has_a_catalogued_code() -> None:
    registered = checks.all_checks()
    assert registered, "no checks registered"
    for check in registered:
        code = type(check).code
        assert code.id in codes.CODES, f"{type(check).__name__}: {code.id} is not in generator/codes.py"
        assert codes.CODES[code.id] is code, type(check).__name__
        assert type(check).__doc__ or code.doc, type(check).__name__


def _exercised() -> set[str]:
    return {e.code for case in CASES for e in case.expect} | set(EXERCISED_OUTSIDE_CASES)


def test_every_semantic_and_secret_code_has_a_bad_input_case() -> None:
    """A new HG2xx/HG3xx code (a new check) without a bad-input case fails here."""
    wanted = {c for c in codes.CODES if c.startswith(("HG2", "HG3"))}
    missing = sorted(wanted - _exercised())
    assert not missing, f"no bad-input case in tests/core/test_bad_inputs.py for: {missing}"


def test_every_registered_check_code_has_a_bad_input_case() -> None:
    registered = {type(c).code.id for c in checks.all_checks()}
    missing = sorted(registered - _exercised())
    assert not missing, f"registered checks without a bad-input case: {missing}"


def test_bad_input_cases_only_use_catalogued_codes() -> None:
    assert _exercised() <= set(codes.CODES)


# ------------------------------------------------------------------ the README's table of commands
README = REPO_ROOT / "README.md"


def test_readme_command_table_is_generated_from_the_cli() -> None:
    from generator.cli import docs

    text = README.read_text(encoding="utf-8")
    assert text.count(docs.BEGIN) == 1 and text.count(docs.END) == 1
    assert docs.replace_section(text, docs.markdown()) == text, (
        "README.md's table of commands is out of date: run `.venv/bin/python -m generator.cli.docs --write`")


def test_command_table_names_every_command_and_its_help() -> None:
    from typer.main import get_command

    from generator.cli import docs
    from generator.cli.app import app
    from generator.cli.base import short_help

    table = docs.markdown()
    commands = get_command(app).commands
    for name, command in commands.items():
        assert f"| `hubgen {name}" in table, name
        assert short_help(command).split("<")[0] in table, name
        for sub in getattr(command, "commands", {}):
            assert sub in table, f"{name} {sub}"
    # Every documentation link points at a page that exists, for a command that exists.
    for name, page in docs.DOCS.items():
        assert name in commands and (REPO_ROOT / page).is_file(), (name, page)
    for name, options in docs.SYNOPSIS_OPTIONS.items():
        known = {o for p in commands[name].params for o in getattr(p, "opts", ())}
        assert set(options) <= known, name
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == len(commands)
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row)
        assert len(cells) == 4 and cells[0] == cells[-1] == "", row
