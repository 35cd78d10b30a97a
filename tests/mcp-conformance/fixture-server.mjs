#!/usr/bin/env node
// Backend MCP server (Streamable HTTP, stateful sessions) implementing everything the
// server scenarios of @modelcontextprotocol/conformance expect: the tools, resources,
// prompts and completions they name, logging, progress, server-to-client requests,
// resumable SSE streams, session termination and DNS-rebinding protection.
//
// Usage: node fixture-server.mjs [--port N]   (or PORT=N; 0 picks a free port)
// Prints one line `listening http://127.0.0.1:<port>/mcp` once it accepts connections.

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
// The data the conformance scenarios dictate, shared by both fixtures.
import * as scenario from './scenario-data.mjs';

const EMPTY_INPUT = { type: 'object', properties: {} };

const TOOLS = [
  { name: 'test_simple_text', description: 'Returns a simple text content block', inputSchema: EMPTY_INPUT },
  { name: 'test_image_content', description: 'Returns an image content block', inputSchema: EMPTY_INPUT },
  { name: 'test_audio_content', description: 'Returns an audio content block', inputSchema: EMPTY_INPUT },
  { name: 'test_embedded_resource', description: 'Returns an embedded resource content block', inputSchema: EMPTY_INPUT },
  {
    name: 'test_multiple_content_types',
    description: 'Returns text, image and embedded resource content blocks',
    inputSchema: EMPTY_INPUT,
  },
  { name: 'test_tool_with_logging', description: 'Emits three log notifications while running', inputSchema: EMPTY_INPUT },
  {
    name: 'test_tool_with_progress',
    description: 'Reports progress 0, 50 and 100 of 100 while running',
    inputSchema: EMPTY_INPUT,
  },
  { name: 'test_error_handling', description: 'Always fails with a tool error result', inputSchema: EMPTY_INPUT },
  {
    name: 'test_sampling',
    description: 'Asks the client for an LLM completion (sampling/createMessage)',
    inputSchema: {
      type: 'object',
      properties: { prompt: { type: 'string', description: 'The prompt to send to the LLM' } },
      required: ['prompt'],
    },
  },
  {
    name: 'test_elicitation',
    description: 'Asks the client for user input (elicitation/create)',
    inputSchema: {
      type: 'object',
      properties: { message: { type: 'string', description: 'The message to show the user' } },
      required: ['message'],
    },
  },
  {
    name: 'test_elicitation_sep1034_defaults',
    description: 'Elicits a form whose primitive fields all carry defaults (SEP-1034)',
    inputSchema: EMPTY_INPUT,
  },
  {
    name: 'test_elicitation_sep1330_enums',
    description: 'Elicits a form with every enum variant (SEP-1330)',
    inputSchema: EMPTY_INPUT,
  },
  {
    name: 'test_reconnection',
    description: 'Closes its SSE stream mid-call; the result arrives after the client resumes (SEP-1699)',
    inputSchema: EMPTY_INPUT,
  },
  {
    name: 'json_schema_2020_12_tool',
    description: 'Tool with JSON Schema 2020-12 features',
    inputSchema: scenario.JSON_SCHEMA_2020_12_INPUT,
  },
];

const RESOURCES = [
  {
    uri: 'test://static-text',
    name: 'static-text',
    description: 'A static text resource',
    mimeType: 'text/plain',
  },
  {
    uri: 'test://static-binary',
    name: 'static-binary',
    description: 'A static binary resource (PNG image)',
    mimeType: 'image/png',
  },
  {
    uri: 'test://watched-resource',
    name: 'watched-resource',
    description: 'A resource clients can subscribe to',
    mimeType: 'text/plain',
  },
];

const RESOURCE_TEMPLATES = [
  {
    uriTemplate: 'test://template/{id}/data',
    name: 'template-data',
    description: 'Data for an id, substituted into the URI',
    mimeType: 'application/json',
  },
];

const PROMPTS = [
  { name: 'test_simple_prompt', description: 'A prompt without arguments' },
  {
    name: 'test_prompt_with_arguments',
    description: 'A prompt with two required arguments',
    arguments: [
      { name: 'arg1', description: 'First test argument', required: true },
      { name: 'arg2', description: 'Second test argument', required: true },
    ],
  },
  {
    name: 'test_prompt_with_embedded_resource',
    description: 'A prompt that embeds a resource',
    arguments: [{ name: 'resourceUri', description: 'URI of the resource to embed', required: true }],
  },
  { name: 'test_prompt_with_image', description: 'A prompt with image content' },
];

async function callTool(server, name, args, extra) {
  switch (name) {
    case 'test_simple_text':
    case 'test_image_content':
    case 'test_audio_content':
    case 'test_embedded_resource':
    case 'test_multiple_content_types':
    case 'test_error_handling':
      return scenario.TOOL_RESULTS[name]();
    case 'test_tool_with_logging':
      // Sent related to the call, so they ride its POST response stream.
      return scenario.TOOL_RESULTS.test_tool_with_logging((data) =>
        extra.sendNotification({ method: 'notifications/message', params: { level: 'info', logger: 'fixture', data } }),
      );
    case 'test_tool_with_progress':
      return scenario.TOOL_RESULTS.test_tool_with_progress(extra._meta?.progressToken, (n) => extra.sendNotification(n));
    case 'test_sampling': {
      // Sent unrelated to the call, so it travels on the standalone GET stream: the
      // elicitation tools below use the call's own POST stream, and a gateway has to
      // carry server-to-client requests on both.
      const result = await server.request(
        {
          method: 'sampling/createMessage',
          params: {
            messages: [{ role: 'user', content: scenario.text(String(args.prompt ?? '')) }],
            maxTokens: 100,
          },
        },
        CreateMessageResultSchema,
      );
      const reply = result.content?.type === 'text' ? result.content.text : JSON.stringify(result.content);
      return scenario.TOOL_RESULTS.test_sampling(reply);
    }
    case 'test_elicitation':
      return scenario.TOOL_RESULTS.test_elicitation(await elicit(extra, scenario.userInputForm(String(args.message ?? ''))));
    case 'test_elicitation_sep1034_defaults':
      return scenario.TOOL_RESULTS.test_elicitation_sep1034_defaults(await elicit(extra, scenario.DEFAULTS_FORM));
    case 'test_elicitation_sep1330_enums':
      return scenario.TOOL_RESULTS.test_elicitation_sep1330_enums(await elicit(extra, scenario.ENUMS_FORM));
    case 'test_reconnection':
      // The client only learns the result by resuming the stream with Last-Event-ID before
      // it is ready: 100 ms after the stream closes, it goes to the resumed stream or is lost
      // (see droppedWhileDisconnected).
      extra.closeSSEStream?.();
      await scenario.sleep(100);
      return scenario.TOOL_RESULTS.test_reconnection();
    case 'json_schema_2020_12_tool':
      return scenario.TOOL_RESULTS.json_schema_2020_12_tool(args);
    default:
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
  }
}

// Asks for `form` (message and requestedSchema) on the call's own POST stream.
function elicit(extra, form) {
  return extra.sendRequest({ method: 'elicitation/create', params: { mode: 'form', ...form } }, ElicitResultSchema);
}

function readResource(uri) {
  if (uri === 'test://static-text') return scenario.RESOURCE_CONTENTS['static-text'](uri);
  if (uri === 'test://static-binary') return scenario.RESOURCE_CONTENTS['static-binary'](uri);
  if (uri === 'test://watched-resource') return scenario.RESOURCE_CONTENTS['watched-resource'](uri);
  const m = /^test:\/\/template\/([^/]+)\/data$/.exec(uri);
  if (m) return scenario.RESOURCE_CONTENTS['template-data'](uri, decodeURIComponent(m[1]));
  throw new McpError(ErrorCode.InvalidParams, `Resource not found: ${uri}`);
}

function getPrompt(name, args) {
  switch (name) {
    case 'test_simple_prompt':
    case 'test_prompt_with_image':
      return scenario.PROMPT_MESSAGES[name]();
    case 'test_prompt_with_arguments':
      return scenario.PROMPT_MESSAGES.test_prompt_with_arguments(args.arg1 ?? '', args.arg2 ?? '');
    case 'test_prompt_with_embedded_resource':
      return scenario.PROMPT_MESSAGES.test_prompt_with_embedded_resource(
        String(args.resourceUri ?? 'test://example-resource'),
      );
    default:
      throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${name}`);
  }
}

function createServer(subscriptions) {
  const server = new Server(
    { name: 'weir-conformance-fixture', version: '1.0.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      },
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) =>
    callTool(server, req.params.name, req.params.arguments ?? {}, extra),
  );
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: RESOURCES }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: RESOURCE_TEMPLATES,
  }));
  server.setRequestHandler(ReadResourceRequestSchema, async (req) => readResource(req.params.uri));
  server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    subscriptions.add(req.params.uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    subscriptions.delete(req.params.uri);
    return {};
  });
  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: PROMPTS }));
  server.setRequestHandler(GetPromptRequestSchema, async (req) => getPrompt(req.params.name, req.params.arguments ?? {}));
  server.setRequestHandler(CompleteRequestSchema, async (req) =>
    scenario.complete(req.params.argument.name, req.params.argument.value),
  );
  return server;
}

// The event log (createEventStore in scenario-data.mjs) keeps what the reference
// everything-server's SDK (1.29) keeps, not what this fixture's SDK would: there a message
// for a request's stream while no connection is open on it (the stream was closed for
// polling, as test_reconnection does, and the client has not reconnected yet) is dropped,
// not stored for replay, so a client that resumes late never gets it. Priming events (empty
// messages) are always kept.
function droppedWhileDisconnected(transport, streamId, message) {
  return Object.keys(message).length > 0 && streamId !== STANDALONE_STREAM_ID && !streamConnected(transport, streamId);
}

// The SDK's name for the session's own (GET) stream, whose messages it always stores.
const STANDALONE_STREAM_ID = '_GET_stream';

// Whether `transport` has a connection open on `streamId`: read from the SDK transport's
// private stream map, as nothing public says it.
function streamConnected(transport, streamId) {
  return transport._webStandardTransport?._streamMapping?.has(streamId) ?? false;
}

const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

function isLocalHost(hostHeader) {
  if (!hostHeader) return false;
  try {
    return LOCAL_HOSTNAMES.has(new URL(`http://${hostHeader}`).hostname);
  } catch {
    return false;
  }
}

function isLocalOrigin(origin) {
  if (origin === undefined) return true;
  try {
    return LOCAL_HOSTNAMES.has(new URL(origin).hostname);
  } catch {
    return false;
  }
}

function sendJsonRpcError(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } }));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function isInitialize(body) {
  const msgs = Array.isArray(body) ? body : [body];
  return msgs.some((m) => m && m.method === 'initialize');
}

const sessions = new Map();

async function handle(req, res) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/mcp') {
    res.writeHead(404).end();
    return;
  }
  // This server listens on loopback without auth: refuse other Host/Origin values so
  // a web page cannot reach it through DNS rebinding.
  if (!isLocalHost(req.headers.host) || !isLocalOrigin(req.headers.origin)) {
    sendJsonRpcError(res, 403, -32000, 'Forbidden: non-local Host or Origin header');
    return;
  }

  let body;
  if (req.method === 'POST') {
    try {
      body = JSON.parse(await readBody(req));
    } catch (e) {
      sendJsonRpcError(res, 400, -32700, `Parse error: ${e.message}`);
      return;
    }
  }

  const sessionId = req.headers['mcp-session-id'];
  if (typeof sessionId === 'string') {
    const transport = sessions.get(sessionId);
    if (!transport) {
      sendJsonRpcError(res, 404, -32001, 'Session not found');
      return;
    }
    await transport.handleRequest(req, res, body);
    return;
  }

  if (req.method === 'POST' && isInitialize(body)) {
    const subscriptions = new Set();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: scenario.createEventStore((streamId, message) => droppedWhileDisconnected(transport, streamId, message)),
      // As the reference everything-server: clients are asked to wait 5 s before they
      // reconnect to a stream the server closed.
      retryInterval: 5000,
      onsessioninitialized: (id) => sessions.set(id, transport),
      onsessionclosed: (id) => sessions.delete(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await createServer(subscriptions).connect(transport);
    await transport.handleRequest(req, res, body);
    return;
  }

  sendJsonRpcError(res, 400, -32000, 'Bad Request: no valid session id, and not an initialize request');
}

const httpServer = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error('request failed:', e);
    if (!res.headersSent) sendJsonRpcError(res, 500, -32603, 'Internal error');
    else res.end();
  });
});

httpServer.listen(scenario.parsePort(), '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${httpServer.address().port}/mcp`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const t of sessions.values()) t.close().catch(() => {});
    httpServer.close();
    httpServer.closeAllConnections();
    process.exit(0);
  });
}
