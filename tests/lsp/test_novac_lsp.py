"""`novac lsp` driven over stdio by a real LSP client (pytest-lsp, on pygls).

The server is the debug binary: ``$NOVAC_BIN``, else
``$CARGO_TARGET_DIR/debug/novac``, else ``target/debug/novac``
(``scripts/test.sh`` builds it first). Every capability the server
announces is exercised, then the hostile inputs: a half-typed rule, a 10 MB
file, non-ASCII text (UTF-16 positions), garbage JSON-RPC and a closed pipe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = Path(__file__).resolve().parents[2]
_target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
NOVAC = Path(os.environ.get("NOVAC_BIN", _target / "debug" / "novac"))
WORKSPACE = Path(__file__).resolve().parent / "workspace"

RULE = """rule Injection : attack
{
    meta:
        author = "sec team"
    keywords:
        $ignore = "ignore previous"
        $unused = "never"
    semantics:
        $intent = "override the rules" (0.7)
    llm:
        $judge = "Is this an attack?" (0.2)
    condition:
        $ignore AND $ignre or semantics.$intent or llm.$judge
}
"""


def uri_of(name: str) -> str:
    return (WORKSPACE / name).as_uri()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[str(NOVAC), "lsp"]))
async def client(lsp_client: LanguageClient):
    params = t.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=WORKSPACE.as_uri(),
        workspace_folders=[t.WorkspaceFolder(uri=WORKSPACE.as_uri(), name="ws")],
    )
    result = await lsp_client.initialize_session(params)
    lsp_client.server_caps = result.capabilities
    yield
    await lsp_client.shutdown_session()


async def open_doc(client: LanguageClient, name: str, text: str) -> list[t.Diagnostic]:
    uri = uri_of(name)
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(
            text_document=t.TextDocumentItem(uri=uri, language_id="nova", version=1, text=text)
        )
    )
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics.get(uri, []))


def pos_of(text: str, needle: str, nth: int = 0, delta: int = 1) -> t.Position:
    """The position (UTF-16) `delta` characters into the nth occurrence of needle."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    index += delta
    line = text.count("\n", 0, index)
    start = text.rfind("\n", 0, index) + 1
    col = len(text[start:index].encode("utf-16-le")) // 2
    return t.Position(line=line, character=col)


def check_json(path: Path) -> list[dict]:
    out = subprocess.run(
        [str(NOVAC), "check", "--format", "json", "--config", str(WORKSPACE / "novac.toml"), str(path)],
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)["diagnostics"]


@pytest.mark.asyncio
async def test_capabilities(client: LanguageClient):
    caps = client.server_caps
    assert caps.hover_provider and caps.definition_provider and caps.references_provider
    assert caps.rename_provider and caps.document_symbol_provider and caps.workspace_symbol_provider
    assert caps.completion_provider and caps.document_formatting_provider
    assert caps.document_range_formatting_provider and caps.code_action_provider
    assert caps.semantic_tokens_provider


@pytest.mark.asyncio
async def test_diagnostics_match_novac_check(client: LanguageClient, tmp_path: Path):
    diags = await open_doc(client, "a.nov", RULE)
    got = sorted((d.code, d.range.start.line + 1, d.range.start.character + 1) for d in diags)
    path = tmp_path / "a.nov"
    path.write_text(RULE)
    want = sorted((d["code"], d["span"]["line"], d["span"]["column"]) for d in check_json(path))
    assert got == want
    e101 = next(d for d in diags if d.code == "E101")
    assert "help: did you mean `$ignore`?" in e101.message
    assert e101.severity == t.DiagnosticSeverity.Error


@pytest.mark.asyncio
async def test_diagnostics_on_change(client: LanguageClient):
    await open_doc(client, "b.nov", RULE)
    fixed = RULE.replace("$ignre", "$ignore").replace("AND", "and")
    fixed = fixed.replace('        $unused = "never"\n', "")
    fixed = fixed.replace('author = "sec team"', 'uuid = "8e6f1b8a-2b1c-4a8e-9c1d-0a1b2c3d4e5f"')
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri_of("b.nov"), version=2),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[uri_of("b.nov")]) == []


@pytest.mark.asyncio
async def test_hover_variable_and_rule(client: LanguageClient):
    await open_doc(client, "c.nov", RULE)
    uri = t.TextDocumentIdentifier(uri=uri_of("c.nov"))
    hover = await client.text_document_hover_async(
        t.HoverParams(text_document=uri, position=pos_of(RULE, "$intent", 1, 2))
    )
    assert "override the rules" in hover.contents.value
    assert "threshold: 0.7" in hover.contents.value
    assert "line 13" in hover.contents.value
    hover = await client.text_document_hover_async(
        t.HoverParams(text_document=uri, position=pos_of(RULE, "$judge"))
    )
    assert "temperature: 0.2" in hover.contents.value
    hover = await client.text_document_hover_async(
        t.HoverParams(text_document=uri, position=pos_of(RULE, "Injection"))
    )
    assert "author: sec team" in hover.contents.value


@pytest.mark.asyncio
async def test_definition_references_rename(client: LanguageClient):
    text = RULE.replace("$ignre", "$ignore")
    await open_doc(client, "d.nov", text)
    uri = t.TextDocumentIdentifier(uri=uri_of("d.nov"))
    use = pos_of(text, "$ignore", 1)
    loc = await client.text_document_definition_async(
        t.DefinitionParams(text_document=uri, position=use)
    )
    loc = loc[0] if isinstance(loc, list) else loc
    assert loc.range.start == pos_of(text, "$ignore", 0, 0)
    refs = await client.text_document_references_async(
        t.ReferenceParams(
            text_document=uri, position=use, context=t.ReferenceContext(include_declaration=True)
        )
    )
    assert len(refs) == 3
    prep = await client.text_document_prepare_rename_async(
        t.PrepareRenameParams(text_document=uri, position=use)
    )
    assert prep is not None
    edit = await client.text_document_rename_async(
        t.RenameParams(text_document=uri, position=use, new_name="$skip")
    )
    edits = edit.changes[uri.uri]
    assert len(edits) == 3 and all(e.new_text == "$skip" for e in edits)
    edit = await client.text_document_rename_async(
        t.RenameParams(text_document=uri, position=pos_of(text, "Injection"), new_name="Renamed")
    )
    assert [e.new_text for e in edit.changes[uri.uri]] == ["Renamed"]


@pytest.mark.asyncio
async def test_symbols(client: LanguageClient):
    await open_doc(client, "e.nov", RULE)
    symbols = await client.text_document_document_symbol_async(
        t.DocumentSymbolParams(text_document=t.TextDocumentIdentifier(uri=uri_of("e.nov")))
    )
    assert [s.name for s in symbols] == ["Injection"]
    sections = [s.name for s in symbols[0].children]
    assert sections == ["meta", "keywords", "semantics", "llm", "condition"]
    assert [v.name for v in symbols[0].children[1].children] == ["$ignore", "$unused"]
    found = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="onDisk"))
    names = sorted(s.name for s in found)
    assert names == ["OnDiskRule"], names


@pytest.mark.asyncio
async def test_completion(client: LanguageClient):
    text = RULE.replace("    condition:\n        $ignore AND $ignre or semantics.$intent or llm.$judge\n", "    condition:\n        keywords.$\n")
    await open_doc(client, "f.nov", text)
    uri = t.TextDocumentIdentifier(uri=uri_of("f.nov"))
    at = pos_of(text, "keywords.$", 0, len("keywords.$"))
    items = await client.text_document_completion_async(t.CompletionParams(text_document=uri, position=at))
    labels = [i.label for i in (items.items if hasattr(items, "items") else items)]
    assert labels == ["ignore", "unused"]
    text2 = text.replace("keywords.$", "")
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri.uri, version=2),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text=text2)],
        )
    )
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    at = pos_of(text2, "condition:\n        ", 0, len("condition:\n        "))
    items = await client.text_document_completion_async(t.CompletionParams(text_document=uri, position=at))
    labels = {i.label for i in (items.items if hasattr(items, "items") else items)}
    for want in ["$ignore", "$intent", "$judge", "any of keywords.*", "all of semantics.*",
                 "N of keywords.*", "keywords.$", "condition:", "meta:"]:
        assert want in labels, (want, labels)
    at = pos_of(text2, "    meta:\n", 0, len("    meta:\n"))
    items = await client.text_document_completion_async(t.CompletionParams(text_document=uri, position=at))
    labels = {i.label for i in (items.items if hasattr(items, "items") else items)}
    assert "uuid" in labels  # from workspace/novac.toml [check.metadata]


@pytest.mark.asyncio
async def test_formatting(client: LanguageClient):
    messy = 'rule  A{\n  keywords:\n   $a="x"\n  condition:\n     $a\n}\n'
    await open_doc(client, "g.nov", messy)
    uri = t.TextDocumentIdentifier(uri=uri_of("g.nov"))
    opts = t.FormattingOptions(tab_size=4, insert_spaces=True)
    edits = await client.text_document_formatting_async(
        t.DocumentFormattingParams(text_document=uri, options=opts)
    )
    assert edits[0].new_text.startswith("rule A\n{\n    keywords:\n        $a = \"x\"")
    edits = await client.text_document_range_formatting_async(
        t.DocumentRangeFormattingParams(
            text_document=uri,
            range=t.Range(start=t.Position(line=2, character=0), end=t.Position(line=2, character=3)),
            options=opts,
        )
    )
    assert len(edits) == 1 and edits[0].new_text.endswith("}")


@pytest.mark.asyncio
async def test_code_actions(client: LanguageClient):
    diags = await open_doc(client, "h.nov", RULE)
    uri = t.TextDocumentIdentifier(uri=uri_of("h.nov"))
    whole = t.Range(start=t.Position(line=0, character=0), end=t.Position(line=20, character=0))
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(text_document=uri, range=whole, context=t.CodeActionContext(diagnostics=diags))
    )
    titles = {a.title for a in actions}
    assert "Write `and`" in titles
    assert "Replace with `$ignore`" in titles
    assert "Remove unused variable `$unused`" in titles
    assert "Add meta `uuid`" in titles, titles  # required by workspace/novac.toml
    remove = next(a for a in actions if a.title.startswith("Remove"))
    (edit,) = remove.edit.changes[uri.uri]
    assert edit.new_text == "" and edit.range.start.line == 6 and edit.range.end.line == 7


@pytest.mark.asyncio
async def test_semantic_tokens(client: LanguageClient):
    text = "// comment\n" + RULE
    await open_doc(client, "i.nov", text)
    tokens = await client.text_document_semantic_tokens_full_async(
        t.SemanticTokensParams(text_document=t.TextDocumentIdentifier(uri=uri_of("i.nov")))
    )
    legend = client.server_caps.semantic_tokens_provider.legend.token_types
    data = tokens.data
    assert len(data) % 5 == 0 and len(data) > 20
    first = [legend[data[i + 3]] for i in range(0, 15, 5)]
    assert first == ["comment", "keyword", "class"]


@pytest.mark.asyncio
async def test_utf16_positions(client: LanguageClient):
    # "😀" is two UTF-16 code units, "é" one; the undefined $y must be found after them.
    text = 'rule U\n{\n    keywords:\n        $x = "😀é"\n    condition:\n        ($x) or $y\n}\n'
    text = text.replace("($x) or $y", "$x or $y")
    text = text.replace('"😀é"', '"😀é"')
    diags = await open_doc(client, "u.nov", text)
    e101 = next(d for d in diags if d.code == "E101")
    assert e101.range.start == pos_of(text, "$y", 0, 0)
    # Hover inside the pattern line with non-ASCII before the cursor.
    hover = await client.text_document_hover_async(
        t.HoverParams(text_document=t.TextDocumentIdentifier(uri=uri_of("u.nov")),
                      position=pos_of(text, "$x", 0, 1))
    )
    assert "😀é" in hover.contents.value


@pytest.mark.asyncio
async def test_half_typed_and_huge_files(client: LanguageClient):
    half = "rule Half\n{\n    keywords:\n        $a = \"unterminated\n    condition:\n        any of ("
    diags = await open_doc(client, "half.nov", half)
    assert any(d.severity == t.DiagnosticSeverity.Error for d in diags)
    uri = t.TextDocumentIdentifier(uri=uri_of("half.nov"))
    for line in range(0, 7):
        for char in (0, 3, 200):
            p = t.Position(line=line, character=char)
            await client.text_document_hover_async(t.HoverParams(text_document=uri, position=p))
            await client.text_document_completion_async(t.CompletionParams(text_document=uri, position=p))
    await client.text_document_semantic_tokens_full_async(t.SemanticTokensParams(text_document=uri))
    # About 10 MB, mostly non-ASCII comments (a debug build checks it in ~10 s).
    line = "// " + "commentaire é 😀 " * 6 + "\n"
    big = line * (10_000_000 // len(line)) + RULE
    assert len(big) > 9_000_000
    await open_doc(client, "big.nov", big)
    found = await client.text_document_document_symbol_async(
        t.DocumentSymbolParams(text_document=t.TextDocumentIdentifier(uri=uri_of("big.nov")))
    )
    assert len(found) > 0


def raw_session(payload: bytes) -> tuple[bytes, bytes, int]:
    proc = subprocess.run([str(NOVAC), "lsp"], input=payload, capture_output=True, timeout=60)
    return proc.stdout, proc.stderr, proc.returncode


def frame(obj) -> bytes:
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_garbage_json_rpc_and_closed_pipe():
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}
    payload = (
        b"this is not a header\r\n\r\n"
        + frame(b"{not json")
        + frame(b"\xff\xfe\x00 invalid utf-8")
        + frame({"jsonrpc": "2.0", "id": 7, "method": "textDocument/hover", "params": {"x": 1}})
        + frame({"jsonrpc": "2.0", "id": 8, "method": "no/such"})
        + frame(init)
        + b"Content-Length: 999999\r\n\r\n{\"truncated"
    )
    out, err, code = raw_session(payload)
    assert b"panicked" not in err, err
    text = out.decode()
    assert text.count('"code":-32700') == 2
    assert '"id":7' in text and '"id":8' in text and '"capabilities"' in text
    # The client went away without `exit`: a clean, non-crash exit code.
    assert code in (0, 1)


def test_shutdown_exit_code():
    msgs = (
        frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}})
        + frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        + frame({"jsonrpc": "2.0", "method": "exit"})
    )
    _, err, code = raw_session(msgs)
    assert code == 0, err


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))


def test_long_chains_and_deep_nesting_never_crash():
    # The parser balances `and`/`or` chains, so 10,000 and 100,000 operators
    # (bare or over parenthesised groups) are analysed in full; nesting beyond
    # 64 levels is refused with E009 at its place instead of a crash.
    def session(condition: str) -> tuple[bytes, bytes]:
        text = 'rule Deep\n{\n    keywords:\n        $a = "x"\n        $b = "y"\n    condition:\n        '
        text += condition + "\n}\n"
        uri = "file:///deep.nov"
        payload = (
            frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}})
            + frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
                "uri": uri, "languageId": "nova", "version": 1, "text": text}}})
            + frame({"jsonrpc": "2.0", "id": 2, "method": "textDocument/semanticTokens/full",
                     "params": {"textDocument": {"uri": uri}}})
        )
        out, err, code = raw_session(payload)
        assert b"overflow" not in err and b"panicked" not in err, err
        assert b'"id":2' in out
        return out, err

    for n in (10_000, 100_000):
        for condition in (
            " or ".join(["$a", "$b"] * (n // 2)),
            " and ".join(["$a", "$b"] * (n // 2)),
            " or ".join(["($a and $b)"] * (n // 2)),
        ):
            out, _ = session(condition)
            assert b'"E009"' not in out
        out, _ = session("(" * n + "$a" + ")" * n)
        assert b'"E009"' in out
