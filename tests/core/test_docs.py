"""docs/checks.md and the code catalogue agree, and every check code is exercised by a bad-input case.

docs/checks.md is generated: `hubgen checks --markdown > docs/checks.md`.
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
