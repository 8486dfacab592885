"""The language server (`homogc lsp`) through a real client session: pygls' LanguageClient starts
the server as a subprocess and talks LSP to it over stdin and stdout."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from homog.runtime.lsp import completions, enclosing_blocks

ROOT = Path(__file__).parent.parent
QUICKSTART = (ROOT / "specs" / "quickstart.homog").read_text()


async def _session(path: Path, steps) -> None:
    """Start `homogc lsp`, initialize, open `path`, run `steps(client, uri, published)`, shut down."""
    client = LanguageClient("homogc-test", "1")
    published: asyncio.Queue[types.PublishDiagnosticsParams] = asyncio.Queue()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def _diagnostics(params: types.PublishDiagnosticsParams) -> None:
        published.put_nowait(params)

    await client.start_io(sys.executable, "-m", "homog.runtime", "lsp")
    try:
        await asyncio.wait_for(
            client.initialize_async(
                types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=path.parent.as_uri())
            ),
            60,
        )
        client.initialized(types.InitializedParams())
        uri = path.as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id="homog", version=1, text=path.read_text())
            )
        )
        await steps(client, uri, published)
    finally:
        await asyncio.wait_for(client.shutdown_async(None), 30)
        client.exit(None)
        await asyncio.wait_for(client.stop(), 30)


def _position(text: str, needle: str, offset: int = 0) -> types.Position:
    index = text.index(needle) + offset
    line = text.count("\n", 0, index)
    return types.Position(line, index - (text.rfind("\n", 0, index) + 1))


def test_diagnostics_as_you_type_completion_and_hover(tmp_path):
    spec = tmp_path / "quick.homog"
    spec.write_text(QUICKSTART)
    broken = QUICKSTART.replace("epochs     = 10", "epochs     = ten")

    async def steps(client: LanguageClient, uri: str, published: asyncio.Queue) -> None:
        # A clean spec: no diagnostics.
        first = await asyncio.wait_for(published.get(), 60)
        assert first.uri == uri and not first.diagnostics

        # Typing an error: E212 at the word that is wrong, with its hint.
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                [types.TextDocumentContentChangeWholeDocument(text=broken)],
            )
        )
        second = await asyncio.wait_for(published.get(), 60)
        (diagnostic,) = second.diagnostics
        start = _position(broken, "= ten", 2)
        assert diagnostic.code == "E212" and diagnostic.source == "homogc"
        assert diagnostic.severity == types.DiagnosticSeverity.Error
        assert (diagnostic.range.start, diagnostic.range.end) == (
            start,
            types.Position(start.line, start.character + 3),
        )
        assert (
            "'epochs' expects an integer" in diagnostic.message
            and "hint: write an integer" in diagnostic.message
        )

        # Completion of a registry name after `arch =`.
        at = _position(broken, "arch  = mlp", len("arch  = "))
        result = await asyncio.wait_for(
            client.text_document_completion_async(
                types.CompletionParams(types.TextDocumentIdentifier(uri=uri), at)
            ),
            60,
        )
        labels = [item.label for item in result.items]
        assert {"mlp", "cnn", "sklearn.logistic_regression"} <= set(labels)
        assert "adam" not in labels and "accuracy" not in labels  # only architectures

        # Hover over an architecture: the reference's text for it.
        hover = await asyncio.wait_for(
            client.text_document_hover_async(
                types.HoverParams(types.TextDocumentIdentifier(uri=uri), _position(broken, "mlp(hidden", 1))
            ),
            60,
        )
        assert hover is not None and hover.contents.kind == types.MarkupKind.Markdown
        assert "a multilayer perceptron" in hover.contents.value and "hidden = [128]" in hover.contents.value

        # Fixing it clears the diagnostics.
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=3),
                [types.TextDocumentContentChangeWholeDocument(text=QUICKSTART)],
            )
        )
        assert not (await asyncio.wait_for(published.get(), 60)).diagnostics

    asyncio.run(_session(spec, steps))


def test_completion_knows_the_block_it_is_in():
    text = 'experiment "x" {\n  seed = 0\n}\n\nmodel m {\n  \n}\n\nmetrics {\n  \n}\n'
    assert enclosing_blocks(text, 5, 2) == ["model"]
    top = {item.label for item in completions(text, 3, 0)}
    assert {"experiment", "dataset", "model", "fusion", "metrics", "report"} <= top and "condition" not in top
    inside_model = {item.label for item in completions(text, 5, 2)}
    assert inside_model == {"input", "arch", "train", "init"}
    metrics = {item.label for item in completions(text, 9, 2)}
    assert {"accuracy", "agreement", "cka"} <= metrics and "mlp" not in metrics
    modality = "modality m {\n  type = \n}\n"
    assert {item.label for item in completions(modality, 1, 9)} == {"image", "sequence", "vector", "text"}
    train = "train {\n  optimizer = \n}\n"
    assert {"adam", "sgd"} <= {item.label for item in completions(train, 1, 14)}
