// The VS Code client of `novac lsp`: starts the server over stdio for .nov files.
// Needs `vscode-languageclient` (npm install in this folder before packaging
// with `vsce package`; nothing is installed to keep the folder in the repo).
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("novac");
  const command = config.get("path", "novac");
  const args = ["lsp", ...config.get("args", [])];
  const serverOptions = {
    run: { command, args, transport: TransportKind.stdio },
    debug: { command, args, transport: TransportKind.stdio },
  };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "nova" }, { scheme: "untitled", language: "nova" }],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/novac.toml") },
  };
  client = new LanguageClient("novac", "NOVA (novac lsp)", serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
