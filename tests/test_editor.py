"""The editor folder (dsl/editor/vscode): a VS Code extension whose TextMate grammar highlights
specs. The grammar is run here by a small engine with TextMate's rule (of the patterns that match,
the one that starts first wins; ties go to the one listed first) over the quickstart spec."""

from __future__ import annotations

import json
import re
from pathlib import Path

from homog.compiler.blocks import BLOCK_KINDS
from homog.runtime.cli import main

ROOT = Path(__file__).parent.parent
EXTENSION = ROOT / "dsl" / "editor" / "vscode"
GRAMMAR = json.loads((EXTENSION / "syntaxes" / "homog.tmLanguage.json").read_text())


def test_the_extension_declares_the_language_its_grammar_and_the_server():
    package = json.loads((EXTENSION / "package.json").read_text())
    (language,) = package["contributes"]["languages"]
    assert language["extensions"] == [".homog"]
    assert json.loads((EXTENSION / language["configuration"]).read_text())["comments"]["lineComment"] == "#"
    (grammar,) = package["contributes"]["grammars"]
    assert grammar["scopeName"] == GRAMMAR["scopeName"] == "source.homog"
    assert (EXTENSION / grammar["path"]).is_file()
    assert (EXTENSION / package["main"]).is_file()
    assert '["lsp"]' in (EXTENSION / package["main"]).read_text()  # it starts `homogc lsp`
    assert "vscode-languageclient" in package["dependencies"]


def test_the_grammar_knows_every_block_kind():
    pattern = GRAMMAR["repository"]["block"]["match"]
    kinds = re.search(r"\(([a-z|]+)\)", pattern).group(1).split("|")
    assert sorted(kinds) == sorted(BLOCK_KINDS)


def _rules(patterns: list[dict]) -> list[dict]:
    out = []
    for pattern in patterns:
        if "include" in pattern:
            out += _rules([GRAMMAR["repository"][pattern["include"][1:]]])
        elif "patterns" in pattern and "begin" not in pattern:
            out += _rules(pattern["patterns"])
        else:
            out.append(pattern)
    return out


def tokens(line: str) -> list[tuple[str, str]]:
    """(text, scope) of each token TextMate would scope on a line (single-line rules only)."""
    rules = _rules(GRAMMAR["patterns"])
    found, position = [], 0
    while position < len(line):
        best = None
        for rule in rules:
            match = re.compile(rule.get("match") or rule["begin"]).search(line, position)
            if match and (best is None or match.start() < best[1].start()):
                best = (rule, match)
        if best is None:
            break
        rule, match = best
        if "begin" in rule:  # a string: to its end on this line
            end = re.compile(rule["end"]).search(line, match.end())
            found.append((line[match.start() : end.end()], rule["name"]))
            position = end.end()
            continue
        if "captures" in rule:
            found += [
                (match.group(int(i)), c["name"]) for i, c in rule["captures"].items() if match.group(int(i))
            ]
        else:
            found.append((match.group(), rule["name"]))
        position = max(match.end(), position + 1)
    return found


def test_the_grammar_scopes_the_quickstart_as_a_reader_expects():
    scoped: dict[str, set[str]] = {}
    for line in (ROOT / "specs" / "quickstart.homog").read_text().splitlines():
        for text, scope in tokens(line):
            scoped.setdefault(text, set()).add(scope.removesuffix(".homog"))
    assert scoped["experiment"] == {"keyword.other.block"}
    assert scoped['"quickstart"'] == {"entity.name.section"}
    assert scoped["model"] == {"keyword.other.block"} and scoped["mlp"] >= {"entity.name.section"}
    assert scoped["seed"] == {"variable.other.property"} and scoped["="] == {"keyword.operator.assignment"}
    assert "entity.name.function" in scoped["sklearn.logistic_regression"]
    assert scoped["adam"] == {"entity.name.function"} and scoped["1e-3"] == {"constant.numeric"}
    assert scoped[".."] == {"keyword.operator.range"} and scoped["2"] == {"constant.numeric"}
    assert scoped["true"] == {"constant.language"}
    assert scoped["digits.image"] == {"variable.other"}
    assert any(
        text.startswith("# Quickstart") for text in scoped if "comment.line.number-sign" in scoped[text]
    )
    assert scoped['"Seeds of an MLP and a logistic regression on 8x8 digits"'] == {"string.quoted.double"}


def test_lsp_command_is_there():
    # `homogc lsp --help` (the server itself is tested through a client session in test_lsp.py).
    try:
        main(["lsp", "--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
