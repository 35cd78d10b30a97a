#!/usr/bin/env node
// A small MCP client built on the official TypeScript SDK 2.x (`@modelcontextprotocol/client`),
// driven by Weir's end-to-end tests against the gateway (or directly against a fixture server).
//
// Usage:
//   node client-2026.mjs --url URL --key KEY --mode 2026-07-28|auto|legacy
//        [--list] [--call TOOL [--args JSON]]... [--listen-tools]
//
// --mode 2026-07-28  pins revision 2026-07-28 (server/discover must offer it; no initialize)
// --mode auto        the SDK's negotiation: probe server/discover, fall back to initialize
// --mode legacy      the plain 2025-11-25 initialize handshake
//
// Connects over Streamable HTTP with `Authorization: Bearer KEY`. Declares the sampling,
// elicitation (form) and roots capabilities with canned handlers; on 2026-07-28 the SDK fulfils
// a server's input_required results through them and retries the call, on 2025-11-25 they
// answer the server's own requests. Prints one JSON line per step to stdout:
//   {"step":"connected","protocolVersion":...,"era":"modern"|"legacy"}
//   {"step":"list","tools":[names]}                                   (--list)
//   {"step":"call","tool":...,"result":<CallToolResult>}              (per --call)
//   {"step":"call","tool":...,"error":{"code":..,"message":..,"data"?:..}}  (MCP error)
//   {"step":"listening"} then {"step":"event","method":...} or {"step":"no-event"}  (--listen-tools)
// and exits 0; an unexpected failure prints {"step":"fatal","error":"..."} and exits 1.
//
// --listen-tools, after the calls: on 2026-07-28 opens subscriptions/listen for tool list
// changes; on a 2025-era connection (no subscriptions/listen there) it waits for the
// unsolicited notification on the session's GET stream instead. Then waits up to 10 s for one
// notifications/tools/list_changed.

import { Client, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const LISTEN_TIMEOUT_MS = 10_000;

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function fatal(err) {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  emit({ step: 'fatal', error: message });
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { url: undefined, key: undefined, mode: undefined, calls: [], list: false, listenTools: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--url':
        opts.url = value();
        break;
      case '--key':
        opts.key = value();
        break;
      case '--mode':
        opts.mode = value();
        break;
      case '--call':
        opts.calls.push({ tool: value(), args: {} });
        break;
      case '--args': {
        const last = opts.calls.at(-1);
        if (!last) throw new Error('--args must follow a --call');
        const parsed = JSON.parse(value());
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw new Error('--args must be a JSON object');
        }
        last.args = parsed;
        break;
      }
      case '--list':
        opts.list = true;
        break;
      case '--listen-tools':
        opts.listenTools = true;
        break;
      default:
        throw new Error(`unknown argument: ${a}`);
    }
  }
  if (!opts.url) throw new Error('--url is required');
  if (opts.key === undefined) throw new Error('--key is required');
  if (!['2026-07-28', 'auto', 'legacy'].includes(opts.mode)) {
    throw new Error(`--mode must be 2026-07-28, auto or legacy (got ${opts.mode})`);
  }
  return opts;
}

function versionNegotiation(mode) {
  if (mode === 'legacy') return { mode: 'legacy' };
  if (mode === 'auto') return { mode: 'auto' };
  return { mode: { pin: mode } };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));

  const client = new Client(
    { name: 'weir-e2e-ts-client', version: '1.0.0' },
    {
      capabilities: { sampling: {}, elicitation: { form: {} }, roots: {} },
      versionNegotiation: versionNegotiation(opts.mode),
    },
  );

  client.setRequestHandler('sampling/createMessage', async () => ({
    role: 'assistant',
    content: { type: 'text', text: 'sampled by the ts client' },
    model: 'ts',
    stopReason: 'endTurn',
  }));
  client.setRequestHandler('elicitation/create', async () => ({
    action: 'accept',
    content: { username: 'ts', email: 'ts@example.com', color: 'red', name: 'ts', ok: true },
  }));
  client.setRequestHandler('roots/list', async () => ({
    roots: [{ uri: 'file:///srv/ts', name: 'ts' }],
  }));

  // Registered before connecting: on 2026-07-28 the subscriptions/listen stream dispatches to
  // it, on a 2025 session the GET stream does.
  let onToolsChanged;
  const toolsChanged = new Promise((resolve) => {
    onToolsChanged = resolve;
  });
  client.setNotificationHandler('notifications/tools/list_changed', (n) => onToolsChanged(n.method));

  const transport = new StreamableHTTPClientTransport(new URL(opts.url), {
    requestInit: { headers: { Authorization: `Bearer ${opts.key}` } },
  });

  await client.connect(transport);
  emit({
    step: 'connected',
    protocolVersion: client.getNegotiatedProtocolVersion() ?? null,
    era: client.getProtocolEra() ?? null,
  });

  if (opts.list) {
    const { tools } = await client.listTools();
    emit({ step: 'list', tools: tools.map((t) => t.name) });
  }

  for (const { tool, args } of opts.calls) {
    try {
      const result = await client.callTool({ name: tool, arguments: args });
      emit({ step: 'call', tool, result });
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      const error = { code: err.code, message: err.message };
      if (err.data !== undefined) error.data = err.data;
      emit({ step: 'call', tool, error });
    }
  }

  if (opts.listenTools) {
    let subscription;
    if (client.getProtocolEra() === 'modern') {
      subscription = await client.listen({ toolsListChanged: true });
    }
    emit({ step: 'listening' });
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(undefined), LISTEN_TIMEOUT_MS);
    });
    const method = await Promise.race([toolsChanged, timeout]);
    clearTimeout(timer);
    emit(method ? { step: 'event', method } : { step: 'no-event' });
    if (subscription) await subscription.close().catch(() => {});
  }

  await client.close().catch(() => {});
}

main().then(
  () => process.exit(0),
  (err) => fatal(err),
);
