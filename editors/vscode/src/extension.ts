// Tandem for VS Code: starts `tandem serve` over stdio (or connects to one over TCP) and
// lets vscode-languageclient show its textDocument/inlineCompletion answers as ghost text.
// Every bit of intelligence lives in the server; this file only wires it up.
//
// vscode-languageclient 10 registers textDocument/inlineCompletion itself, and VS Code 1.139
// (code-server 4.139.1) asks that provider: with the provider of our own that version 9
// needed taken out, tests/editors/test_vscode.py still sees the ghost text and accepts it.
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  StreamInfo,
} from "vscode-languageclient/node";

const SECTION = "tandem";
const MAX_RESTARTS = 3; // a server that keeps crashing is left down, with a message
const CONNECT_ATTEMPTS = 5; // TCP: tries, with a doubling pause from 500 ms

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel;
let statusItem: vscode.StatusBarItem;
let restarts = 0;
let serverKeys: string[] = []; // camelCase, from package.json at activation

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

/** How to reach the server: a TCP address, or a command to spawn. */
function serverOptions(): ServerOptions {
  const address = config().get<string>("server.address", "").trim();
  if (address) {
    const match = /^(.+):(\d+)$/.exec(address);
    if (!match) {
      throw new Error(`tandem.server.address must be host:port, got "${address}"`);
    }
    return () => connect(match[1], Number(match[2]));
  }
  const python = config().get<string>("server.python", "").trim();
  const path = config().get<string>("server.path", "").trim() || "tandem";
  const args = config().get<string[]>("server.args", []);
  return python
    ? { command: python, args: ["-m", "lsp_server", "serve", ...args] }
    : { command: path, args: ["serve", ...args] };
}

/** Connect with retries and backoff, so a server still starting in a container is waited for. */
async function connect(host: string, port: number): Promise<StreamInfo> {
  let pause = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      const socket = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(port, host, () => resolve(s));
        s.once("error", reject);
      });
      return { reader: socket, writer: socket };
    } catch (error) {
      output.appendLine(`Tandem: no server at ${host}:${port} (attempt ${attempt}): ${error}`);
      if (attempt >= CONNECT_ATTEMPTS) {
        throw new Error(`nobody listens on ${host}:${port}; is \`tandem serve --tcp\` running there?`);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause *= 2;
    }
  }
}

/** The access token of a server reached over TCP, sent as initializationOptions.token: from
 * the file tandem.server.tokenFile names, else TANDEM_TOKEN in VS Code's environment. */
function accessToken(): string | undefined {
  if (!config().get<string>("server.address", "").trim()) {
    return undefined; // a server of our own over stdio needs none
  }
  const file = config().get<string>("server.tokenFile", "").trim().replace(/^~(?=$|\/)/, os.homedir());
  const token = file ? fs.readFileSync(file, "utf8").trim() : (process.env.TANDEM_TOKEN ?? "").trim();
  return token || undefined;
}

/** The extension's own settings, never sent to the server. */
function vscodeOnly(key: string): boolean {
  return key.startsWith("server.") || key.startsWith("trace.") || key === "enable";
}

/** The `tandem` section as the server reads it: every `tandem.*` setting this extension
 * declares in its package.json (generated from the server's schema) but its own ones. A
 * setting the user has not set goes as null, which the server reads as "its own starting
 * value": a server started with flags (a dev container's TANDEM_* variables, a team's
 * remoteUrl) keeps them, instead of this extension's defaults undoing them. */
function serverSettings(): Record<string, unknown> {
  const all = config();
  return Object.fromEntries(serverKeys.map((key) => [key, userSet(all, key) ? all.get(key) : null]));
}

function userSet(all: vscode.WorkspaceConfiguration, key: string): boolean {
  const seen = all.inspect(key);
  return seen !== undefined && [seen.globalValue, seen.workspaceValue, seen.workspaceFolderValue,
    seen.globalLanguageValue, seen.workspaceLanguageValue, seen.workspaceFolderLanguageValue]
    .some((value) => value !== undefined);
}

function clientOptions(): LanguageClientOptions {
  return {
    documentSelector: [{ language: "python" }],
    outputChannel: output,
    initializationOptions: { tandem: serverSettings(), token: accessToken() },
    middleware: {
      // tandem.enable (Toggle Inline Completions) silences the ghost text without a request.
      provideInlineCompletionItems: (document, position, context, token, next) =>
        config().get<boolean>("enable", true) ? next(document, position, context, token) : undefined,
      // Settings reach the server live as the `tandem` section it expects.
      workspace: {
        configuration: (params) => params.items.map((item) =>
          item.section === SECTION ? serverSettings() : vscode.workspace.getConfiguration(item.section).get("")),
      },
    },
    errorHandler: {
      error: () => ({ action: ErrorAction.Continue }),
      closed: () => {
        restarts += 1;
        if (restarts > MAX_RESTARTS) {
          void vscode.window.showErrorMessage(
            `Tandem: the server stopped ${restarts} times; not restarting it. See "Tandem: Show Log".`);
          return { action: CloseAction.DoNotRestart, handled: true };
        }
        return { action: CloseAction.Restart };
      },
    },
  };
}

function showState(text: string, tooltip: string): void {
  statusItem.text = `$(sparkle) Tandem: ${text}`;
  statusItem.tooltip = tooltip;
  statusItem.show();
}

async function refreshStatus(): Promise<void> {
  if (!client || client.state !== State.Running) {
    return;
  }
  try {
    const status = await client.sendRequest<any>("tandem/status", {});
    const enabled = config().get<boolean>("enable", true);
    showState(enabled ? status.state : "off", status.error ?? `${status.models?.target?.path ?? ""}`);
  } catch {
    // the next tick tries again
  }
}

async function start(): Promise<void> {
  let options: ServerOptions;
  let clientOpts: LanguageClientOptions;
  try {
    options = serverOptions();
    clientOpts = clientOptions(); // reads tandem.server.tokenFile: a file that cannot be read is said here
  } catch (error) {
    showState("error", String(error));
    void vscode.window.showErrorMessage(`Tandem: ${error instanceof Error ? error.message : error}`);
    return;
  }
  client = new LanguageClient("tandem", "Tandem", options, clientOpts);
  client.onDidChangeState((event) => {
    if (event.newState === State.Starting) {
      showState("loading", "starting the server");
    } else if (event.newState === State.Stopped) {
      showState("stopped", "the server is not running");
    }
  });
  showState("loading", "starting the server");
  try {
    await client.start();
    await refreshStatus();
  } catch (error) {
    showState("error", String(error));
    void vscode.window.showErrorMessage(
      `Tandem: could not start the server (${error instanceof Error ? error.message : error}). ` +
      "Check tandem.server.python / tandem.server.path / tandem.server.address / tandem.server.tokenFile.");
    client = undefined;
  }
}

async function restart(): Promise<void> {
  restarts = 0;
  const old = client;
  client = undefined;
  if (old) {
    await old.stop().catch(() => undefined);
  }
  await start();
}

async function showStatus(): Promise<void> {
  if (!client || client.state !== State.Running) {
    void vscode.window.showWarningMessage("Tandem: the server is not running.");
    return;
  }
  const status = await client.sendRequest<any>("tandem/status", {});
  const stats = status.stats ?? {};
  const models = status.models ?? {};
  void vscode.window.showInformationMessage(
    `Tandem ${status.version}: ${status.state}. Target ${models.target?.path ?? "–"}, draft ` +
    `${models.draft?.path ?? "–"} on ${models.device ?? "–"}/${models.dtype ?? "–"}. ` +
    `Requests ${stats.requests ?? 0}, answered ${stats.answered ?? 0}, type-through ${stats.typeThrough ?? 0}; ` +
    `latency p50 ${stats.latencyMs?.p50 ?? "–"} ms, p95 ${stats.latencyMs?.p95 ?? "–"} ms; ` +
    `acceptance ${stats.acceptanceRate ?? "–"}, KV reuse ${stats.kvReuse ?? "–"}.`);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const declared: Record<string, unknown> = context.extension.packageJSON.contributes.configuration.properties;
  serverKeys = Object.keys(declared).map((key) => key.slice(SECTION.length + 1)).filter((key) => !vscodeOnly(key));
  output = vscode.window.createOutputChannel("Tandem", { log: true }); // what vscode-languageclient 10 writes to
  statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  statusItem.command = "tandem.status";
  const timer = setInterval(() => void refreshStatus(), 3000);
  context.subscriptions.push(
    output, statusItem, { dispose: () => clearInterval(timer) },
    vscode.commands.registerCommand("tandem.restart", restart),
    vscode.commands.registerCommand("tandem.showLog", () => output.show()),
    vscode.commands.registerCommand("tandem.status", showStatus),
    vscode.commands.registerCommand("tandem.toggle", async () => {
      await config().update("enable", !config().get<boolean>("enable", true), vscode.ConfigurationTarget.Global);
      await refreshStatus();
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("tandem.server")) {
        await restart(); // a different server: start it
      } else if (event.affectsConfiguration(SECTION) && client?.state === State.Running) {
        // Model paths, device and the rest reach the running server; a model change
        // reloads the models there, with progress shown.
        await client.sendNotification("workspace/didChangeConfiguration", { settings: { tandem: serverSettings() } });
      }
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
