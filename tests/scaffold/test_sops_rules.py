"""The .sops.yaml text edit of `hubgen new` (generator.secrets.sops.add_environment_rule): a copy of the model rule,
placed where sops picks it, every other byte of the file kept. The CLI tests are in test_new_from.py."""

from __future__ import annotations

import pytest

from generator.secrets.sops import SopsConfigError, add_environment_rule, creation_rules, first_match

QA = ["environments/qa/secrets/qa.secret.yaml"]
DEV = "environments/dev/secrets/dev.secret.yaml"


def add(text: str, *, source: str | None = "dev", existing=(), append: bool = False):
    rules = creation_rules(text)
    model = first_match(rules, DEV) if source else next(r for r in rules if r.recipients)
    return add_environment_rule(text, "qa", QA, model=model, model_env=source, existing_files=list(existing),
                                origin="the keys of dev", append=append)


def picked(text: str, path: str):
    return first_match(creation_rules(text), path)


def test_the_copy_keeps_key_groups_and_every_setting_verbatim():
    text = ("creation_rules:\n"
            "  - path_regex: environments/dev/secrets/   # no anchors\n"
            "    shamir_threshold: 2\n"
            "    key_groups:\n"
            "      - age:\n"
            "          - age1aaa\n"
            "        kms:\n"
            "          - arn: arn:aws:kms:us-east-1:1:key/a\n"
            "            role: arn:aws:iam::1:role/sops\n"
            "      - pgp: [FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4]\n"
            "\n"
            "# the end\n")
    edit = add(text)
    expected_block = ("  # qa: the keys of dev\n"
                      + text[text.index("  - path_regex"):text.index("\n\n# the end")].replace("dev/", "qa/") + "\n")
    assert edit.text == text.replace("\n\n# the end", "\n" + expected_block.rstrip("\n") + "\n\n# the end")
    rule = picked(edit.text, QA[0])
    assert rule.recipients == picked(text, DEV).recipients and rule.data["shamir_threshold"] == 2


def test_crlf_and_a_missing_final_newline_are_kept():
    text = "creation_rules:\r\n  - path_regex: ^environments/dev/\r\n    age: age1abc"
    edit = add(text)
    assert edit.text == text + "\r\n  # qa: the keys of dev\r\n  - path_regex: ^environments/qa/\r\n    age: age1abc\r\n"


def test_a_model_without_path_regex_gets_one_with_its_keys_aligned():
    text = ("creation_rules:\n"
            "  # q environments\n"
            "  - path_regex: ^environments/q\n"
            "    age: age1zzz\n"
            "  -   age: age1abc  # trailing\n"
            "      encrypted_regex: ^(data|stringData)$\n")
    edit = add(text)
    assert edit.text == ("creation_rules:\n"
                         "  # qa: the keys of dev\n"
                         "  -   path_regex: '^environments/qa/secrets/.*\\.secret\\.yaml$'\n"
                         "      age: age1abc  # trailing\n"
                         "      encrypted_regex: ^(data|stringData)$\n"
                         + text[len("creation_rules:\n"):])
    assert "which would otherwise match first" in edit.note
    assert picked(edit.text, QA[0]).data["age"] == "age1abc" and picked(edit.text, DEV).data["age"] == "age1abc"


def test_a_rule_already_covering_the_new_files_with_the_same_keys_means_no_edit():
    text = "creation_rules:\n  - path_regex: ^environments/[^/]+/secrets/\n    age: age1abc\n"
    edit = add(text)
    assert edit.text is None and "nothing to add" in edit.note


def test_recipient_lists_compare_as_sets():
    text = ("creation_rules:\n"
            "  - path_regex: ^environments/dev/\n    age: age1b,age1a\n"
            "  - path_regex: ^environments/\n    age: 'age1a, age1b'\n")
    assert add(text).text is None  # the catch-all has the same two recipients


def test_append_goes_after_the_last_rule_unless_a_rule_would_match_first():
    text = "creation_rules:\n  - path_regex: ^environments/dev/\n    age: age1abc\n  - path_regex: ^environments/prod/\n    age: age1abc\n"
    edit = add(text, source=None, append=True)
    assert edit.text.endswith("  - path_regex: ^environments/prod/\n    age: age1abc\n  # qa: the keys of dev\n"
                              "  - path_regex: '^environments/qa/secrets/.*\\.secret\\.yaml$'\n    age: age1abc\n")
    catch_all = text + "  - age: age1other\n"
    edit = add(catch_all, source=None, append=True)
    assert edit.text.index("environments/qa/") < edit.text.index("age1other")


def test_flow_style_is_explained_not_edited():
    text = "creation_rules: [{path_regex: ^environments/dev/, age: age1abc}, {path_regex: ^environments/, age: z}]\n"
    with pytest.raises(SopsConfigError, match="(?s)flow style.*add this rule.*path_regex: \\^environments/qa/"):
        add(text)


def test_an_edit_that_would_change_an_existing_file_rule_is_refused():
    text = ("creation_rules:\n  - path_regex: ^environments/dev/\n    age: age1abc\n"
            "  - path_regex: ^environments/\n    age: age1other\n")
    # A file already under environments/qa/ (say, left by a removed environment) is encrypted by the catch-all:
    # the new rule would take it over, so hubgen refuses and shows the rule to add by hand.
    with pytest.raises(SopsConfigError, match="would also match environments/qa/secrets/old.secret.yaml"):
        add(text, existing=["environments/qa/secrets/old.secret.yaml"])


@pytest.mark.parametrize("text, message", [
    ("creation_rules: {a: 1}\n", "has no creation_rules list"),
    ("- a\n", "is not a YAML mapping"),
    ("creation_rules:\n  - just a string\n", "creation rule #1 (line 2) is not a mapping"),
    ("creation_rules:\n\t- x\n", "is not valid YAML at line 2, column 1"),
])
def test_malformed_files_say_what_is_wrong(text, message):
    with pytest.raises(SopsConfigError, match=message.replace("(", "\\(").replace(")", "\\)")):
        creation_rules(text)
