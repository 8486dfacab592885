// Starts `homogc lsp` (stdio) for .homog files: diagnostics as you type, completion and hover.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("homog").get("server.command", "homogc");
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "homog",
    "homog language server",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "homog" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
