"""Property tests of the front end and the compiler.

For generated valid specs, formatting keeps the syntax tree and is idempotent.
For random bytes and random mutations of the shipped specs, `homogc check`
only ever reports diagnostics: never an unhandled exception. Byte, token and
line mutations, and valid specs generated from the language (which compile
cleanly, reaching every pass and the graph), go through `compile_text`.

CI runs 5,000 fuzz cases, twice HOMOG_FUZZ_EXAMPLES (2,500 in CI): half of it
each for the two `homogc check` tests, a quarter each for the four
`compile_text` tests. tests/bench/fuzz_bench.py runs the same cases at scale.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homog.compiler import compile_text
from homog.dsl.formatter import format_document, quote
from homog.dsl.parser import parse

from .bench import fuzz_bench
from .conftest import run_cli

SPECS = fuzz_bench.SPECS
# CI runs at least 5,000 fuzz cases; a quick local run may lower this.
FUZZ_EXAMPLES = int(os.environ.get("HOMOG_FUZZ_EXAMPLES", "2500"))
CHECK_EXAMPLES = max(1, FUZZ_EXAMPLES // 2)  # each of the two `homogc check` tests
COMPILE_EXAMPLES = max(1, FUZZ_EXAMPLES // 4)  # each of the four compile_text tests

names = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True).filter(lambda n: n not in ("true", "false"))


def _float_text(value: float, exponent: bool) -> str:
    return f"{value:.2e}" if exponent else f"{value:.3f}"


scalars = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.builds(_float_text, st.floats(-1e4, 1e4, allow_nan=False), st.booleans()),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12).map(quote),
    st.sampled_from(["true", "false"]),
    st.lists(names, min_size=1, max_size=3).map(".".join),
    st.tuples(st.integers(0, 20), st.integers(0, 20)).map(lambda r: f"{r[0]}..{r[1]}"),
)


@st.composite
def calls(draw, values):
    callee = ".".join(draw(st.lists(names, min_size=1, max_size=2)))
    positional = draw(st.lists(values, max_size=2))
    keywords = draw(st.dictionaries(names, values, max_size=3))
    args = positional + [f"{key} = {value}" for key, value in keywords.items()]
    return f"{callee}(" + ", ".join(args) + ")"


values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        calls(inner),
    ),
    max_leaves=8,
)


@st.composite
def bodies(draw, depth: int):
    members = []
    for key, value in draw(st.dictionaries(names, values, max_size=4)).items():
        members.append(f"{key} = {value}")
    members += draw(st.lists(values, max_size=2))
    if depth > 0:
        members += draw(st.lists(blocks(depth - 1), max_size=2))
    members = draw(st.permutations(members))
    layout = []
    for member in members:
        comment = draw(st.sampled_from(["", "", "  # note"]))
        blank = draw(st.sampled_from(["", "", "\n"]))
        indent = " " * draw(st.integers(0, 4))
        layout.append(f"{blank}{indent}{member}{comment}\n")
    return "".join(layout)


@st.composite
def blocks(draw, depth: int = 1):
    kind = draw(names.filter(lambda n: n != "experiment"))
    label = draw(st.one_of(st.just(""), names, st.text("abc-", max_size=5).map(quote)))
    header = f"{kind} {label}".rstrip()
    return f"{header} {{\n{draw(bodies(depth))}}}"


specs = st.lists(blocks(), min_size=1, max_size=4).map(lambda bs: "\n\n".join(bs) + "\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_format_keeps_the_tree_and_is_idempotent(spec):
    parsed = parse(spec)
    assert parsed.ok, parsed.diagnostics
    formatted = format_document(parsed.document)
    reparsed = parse(formatted)
    assert reparsed.ok, (formatted, reparsed.diagnostics)
    assert reparsed.document == parsed.document
    assert format_document(reparsed.document) == formatted


def _check_never_crashes(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.getbasetemp() / "fuzz.homog"
    path.write_bytes(data)
    result = run_cli("check", str(path))
    assert result.status in (0, 1, 2), result.stderr
    assert "internal error" not in result.stderr


@settings(max_examples=CHECK_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=300))
def test_check_reports_random_bytes_without_crashing(tmp_path_factory, data):
    _check_never_crashes(tmp_path_factory, data)


@st.composite
def mutated_specs(draw):
    text = draw(st.sampled_from(SPECS)).read_text()
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if action == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 8)) :]
        elif action == "insert":
            snippet = draw(
                st.sampled_from([*list('{}[](),="=.. \n#x0.5-'), "true", "experiment {", "..", "\\"])
            )
            text = text[:position] + snippet + text[position:]
        else:
            text = text[:position] + text[position : position + 20] + text[position:]
    return text.encode("utf-8")


@settings(max_examples=CHECK_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated_specs())
def test_check_reports_mutated_specs_without_crashing(tmp_path_factory, data):
    _check_never_crashes(tmp_path_factory, data)


def _compiles_without_crashing(text: str | bytes) -> None:
    """What `homogc check` does with the text: decode, then compile; an exception is exit 3."""
    decoded = fuzz_bench.decode(text)
    if decoded is not None:
        compile_text(decoded, "fuzz.homog")


def _base(rng) -> str:
    return rng.choice(fuzz_bench._TEXTS) if rng.random() < 0.7 else fuzz_bench.valid_spec(rng)


_FUZZ = settings(max_examples=COMPILE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@_FUZZ
@given(st.randoms(use_true_random=False))
def test_compile_survives_byte_mutations(rng):
    _compiles_without_crashing(fuzz_bench.byte_mutation(rng, _base(rng)))


@_FUZZ
@given(st.randoms(use_true_random=False))
def test_compile_survives_token_mutations(rng):
    _compiles_without_crashing(fuzz_bench.token_mutation(rng, _base(rng)))


@_FUZZ
@given(st.randoms(use_true_random=False))
def test_compile_survives_line_mutations(rng):
    _compiles_without_crashing(fuzz_bench.line_mutation(rng, _base(rng)))


@_FUZZ
@given(st.randoms(use_true_random=False))
def test_generated_valid_specs_compile_cleanly(rng):
    spec = fuzz_bench.valid_spec(rng)
    compilation = compile_text(spec, "generated.homog")
    assert compilation.ok, (spec, compilation.diagnostics)
    assert compilation.graph is not None and compilation.graph.nodes
