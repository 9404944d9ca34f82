"""Bad-input cases: plain scalars that YAML 1.1 and YAML 1.2 read differently (HG010). Concatenated into
test_bad_inputs.CASES.

hubgen reads unquoted values by the YAML 1.2 core schema (what editors and yaml-language-server show) and
refuses every one that a YAML 1.1 reader (PyYAML, Helm's go-yaml) would read as something else, at the value.
"""

from __future__ import annotations


from .badinput import Case, Expect, at, chain, dev, insert_after, sub

DESCRIPTION = "description: ASF JupyterHub development environment (values from the original operations guide).\n"

CASES: list[Case] = [
    Case("ambiguous-yes-in-a-string-field", dev(sub(DESCRIPTION, "description: yes\n")),
         (Expect("HG010", at("yes", within="description: yes\n"),
                 contains=("string 'yes'", "boolean true", '"yes"')),), subprocess=True),
    Case("ambiguous-on-off-booleans", dev(chain(sub("    public: true\n", "    public: on\n"),
                                                sub("      enabled: true\n", "      enabled: Off\n"))),
         (Expect("HG010", at("on", within="    public: on\n"), contains=("write true",)),
          Expect("HG010", at("Off", within="      enabled: Off\n"), contains=("write false",)))),
    Case("ambiguous-y-and-n-in-a-flow-list", dev(sub("      admins:\n        - admin\n",
                                                     "      admins: [admin, y, n]\n")),
         (Expect("HG010", at("y", within="admins: [admin, y, n]"), contains=("string 'y'",)),
          Expect("HG010", at("n", within="admins: [admin, y, n]", occurrence=3), contains=("boolean false",)))),
    Case("ambiguous-octal-tag-value", dev(sub("  project: asf-jupyter-hub\n", "  project: 072600\n")),
         (Expect("HG010", at("072600"), contains=("integer 72600", "integer 30080", '"072600"')),),
         subprocess=True),
    Case("ambiguous-sexagesimal", dev(sub("        tag: build.23\n", "        tag: 1:20\n")),
         (Expect("HG010", at("1:20"), contains=("integer 80", '"1:20"')),)),
    Case("ambiguous-underscore-number", dev(sub("      timeout: 3600\n", "      timeout: 3_600\n")),
         (Expect("HG010", at("3_600"), contains=("write 3600",)),)),
    Case("ambiguous-exponent-and-0o-octal", dev(chain(sub("      every: 600\n", "      every: 6e2\n"),
                                                      sub("      diskSize: 100\n", "      diskSize: 0o144\n"))),
         (Expect("HG010", at("6e2"), contains=("number 600.0", "string '6e2'")),
          Expect("HG010", at("0o144"), contains=("integer 100", "string '0o144'")))),
    Case("ambiguous-key", dev(insert_after("tags:\n", "  on: x\n")),
         (Expect("HG010", at("on: x"), contains=("boolean true",)),)),
]
