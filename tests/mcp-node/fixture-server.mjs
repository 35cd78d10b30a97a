// A small MCP server, written with the official TypeScript SDK, for what the published servers
// do not let a test observe: whether a cancellation reached the server, what headers it was
// sent, log messages at every level (filtered by the level the client set), a tool list that
// changes on request, tools with path arguments for authorization rules, numbered messages on
// a call's stream and on the session's own, (over HTTP) sessions forgotten on request, and
// messages too large for a gateway: a result of any size, and a message that never ends (an
// SSE event over HTTP, a line over stdio), written until the gateway hangs up.
//
//   node fixture-server.mjs stdio
//   node fixture-server.mjs http PORT        (Streamable HTTP on 127.0.0.1:PORT/mcp)

import http from "node:http";
import { createHash, randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { InMemoryEventStore } from "@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js";
import {
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

// Calls started and cancelled, and how often this process was asked for its tools.
const counters = { started: 0, cancelled: 0, tools_lists: 0 };

/// Connects a server to a transport, counting the `tools/list` requests that come through it.
async function serve(transport) {
  await build().connect(transport);
  const deliver = transport.onmessage;
  transport.onmessage = (msg, extra) => {
    if (msg?.method === "tools/list") counters.tools_lists += 1;
    deliver?.(msg, extra);
  };
}
// The calls of the file and deploy tools this process served, for authorization tests.
const served = [];
const LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

function text(t) {
  return { content: [{ type: "text", text: t }] };
}

function build() {
  const server = new McpServer(
    { name: "weir-fixture", version: "1.0.0" },
    { capabilities: { logging: {}, tools: { listChanged: true }, resources: {}, prompts: {}, completions: {} } },
  );

  // 23 resources, 5 to a page, so that paging through the aggregate can be checked.
  const items = Array.from({ length: 23 }, (_, i) => ({ uri: `fixture://item/${i}`, name: `item ${i}`, mimeType: "text/plain" }));
  server.server.setRequestHandler(ListResourcesRequestSchema, async (req) => {
    const start = Number(req.params?.cursor ?? 0);
    const next = start + 5;
    return { resources: items.slice(start, next), ...(next < items.length ? { nextCursor: String(next) } : {}) };
  });

  // Reading any URI, getting a prompt, completing and a method of its own are served (and
  // recorded in `served`), so that a test can tell what reached the server.
  server.server.setRequestHandler(ReadResourceRequestSchema, async (req) => {
    served.push({ tool: "resources/read", args: { uri: req.params.uri } });
    return { contents: [{ uri: req.params.uri, mimeType: "text/plain", text: `contents of ${req.params.uri}` }] };
  });
  server.server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: [
      { uriTemplate: "file:///srv/data/{name}", name: "data file" },
      { uriTemplate: "file:///etc/{name}", name: "system file" },
    ],
  }));
  server.server.setRequestHandler(ListPromptsRequestSchema, async () => ({
    prompts: [
      { name: "summarize", description: "Summarizes a file.", arguments: [{ name: "path", required: true }] },
      { name: "exfiltrate", description: "A prompt no agent should get.", arguments: [] },
    ],
  }));
  server.server.setRequestHandler(GetPromptRequestSchema, async (req) => {
    served.push({ tool: "prompts/get", args: { name: req.params.name, ...(req.params.arguments ?? {}) } });
    return { messages: [{ role: "user", content: { type: "text", text: `prompt ${req.params.name} ${JSON.stringify(req.params.arguments ?? {})}` } }] };
  });
  server.server.setRequestHandler(CompleteRequestSchema, async (req) => {
    served.push({ tool: "completion/complete", args: { ref: req.params.ref, argument: req.params.argument.name } });
    return { completion: { values: ["/srv/data/a.txt", "/srv/data/b.txt"], total: 2, hasMore: false } };
  });
  server.server.setRequestHandler(z.object({ method: z.literal("fixture/custom"), params: z.optional(z.object({}).passthrough()) }), async (req) => {
    served.push({ tool: "fixture/custom", args: req.params ?? {} });
    return { custom: true };
  });

  server.registerTool(
    "wait_for_cancel",
    { description: "Waits until the call is cancelled (or 60 s pass)." },
    async (extra) =>
      new Promise((resolve) => {
        counters.started += 1;
        const timer = setTimeout(() => resolve(text("not cancelled")), 60_000);
        extra.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          counters.cancelled += 1;
          resolve(text("cancelled"));
        });
      }),
  );

  server.registerTool("cancellations", { description: "How many calls started and were cancelled." }, async () =>
    text(JSON.stringify(counters)),
  );

  server.registerTool(
    "add_tool",
    { description: "Adds a tool named `name` (the server announces the list change).", inputSchema: { name: z.string() } },
    async ({ name }) => {
      server.registerTool(name, { description: "Added at run time." }, async () => text(`I am ${name}`));
      return text(`added ${name}`);
    },
  );

  server.registerTool("log_each_level", { description: "Logs one message at every level." }, async (extra) => {
    for (const level of LEVELS) {
      await server.sendLoggingMessage({ level, logger: "fixture", data: `a ${level} message` }, extra.sessionId);
    }
    return text("logged");
  });

  server.registerTool(
    "progress",
    { description: "Reports `steps` progress notifications, then answers.", inputSchema: { steps: z.number() } },
    async ({ steps }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        if (token !== undefined) {
          await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: i, total: steps } });
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return text(`${steps} steps done`);
    },
  );

  server.registerTool(
    "interrupted",
    { description: "Reports progress, ends the response stream early (over HTTP), then answers." },
    async (extra) => {
      const token = extra._meta?.progressToken;
      if (token !== undefined) {
        await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: 1, total: 2 } });
      }
      extra.closeSSEStream?.();
      await new Promise((r) => setTimeout(r, 150));
      if (token !== undefined) {
        await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: 2, total: 2 } });
      }
      return text(`finished after ${extra.closeSSEStream ? "a" : "no"} resumption`);
    },
  );

  server.registerTool(
    "announce",
    {
      description: "Answers at once, then sends `count` log messages tagged `tag`, `delay_ms` apart, on the session's own stream.",
      inputSchema: { count: z.number(), delay_ms: z.number(), tag: z.string() },
    },
    async ({ count, delay_ms, tag }) => {
      (async () => {
        for (let i = 1; i <= count; i++) {
          await new Promise((r) => setTimeout(r, delay_ms));
          await server.server.notification({ method: "notifications/message", params: { level: "info", logger: "announce", data: `${tag} ${i}` } });
        }
      })().catch(() => {});
      return text(`announcing ${count}`);
    },
  );

  server.registerTool(
    "chatty",
    {
      description: "Sends `count` log messages tagged `tag`, `delay_ms` apart, on the call's own stream, then answers.",
      inputSchema: { count: z.number(), delay_ms: z.number(), tag: z.string() },
    },
    async ({ count, delay_ms, tag }, extra) => {
      for (let i = 1; i <= count; i++) {
        await extra.sendNotification({ method: "notifications/message", params: { level: "info", logger: "chatty", data: `${tag} ${i}` } });
        await new Promise((r) => setTimeout(r, delay_ms));
      }
      return text(`said ${count}`);
    },
  );

  server.registerTool("served", { description: "The file and deploy calls this server has served." }, async () =>
    text(JSON.stringify(served)),
  );

  server.registerTool("roots", { description: "Asks the client for its roots and returns them." }, async () => {
    const { roots } = await server.server.listRoots();
    return text(JSON.stringify(roots));
  });

  server.registerTool(
    "big",
    { description: "Returns a text of `bytes` bytes.", inputSchema: { bytes: z.number() } },
    async ({ bytes }) => text("x".repeat(bytes)),
  );

  server.registerTool(
    "endless",
    {
      description:
        "Starts a message that never ends and writes it until the reader hangs up: over stdio a line on standard output, " +
        "over HTTP an SSE event (written by the HTTP layer, which GET /endless reports on).",
    },
    async () => {
      if (mode === "stdio") {
        await writeUntilClosed(process.stdout, "");
      }
      return text("ended");
    },
  );

  server.registerTool(
    "echo",
    { description: "Returns its text.", inputSchema: { text: z.string() } },
    async ({ text: t }) => text(t),
  );

  server.registerTool("meta", { description: "The request's params._meta as this server received it." }, async (extra) =>
    text(JSON.stringify(extra._meta ?? {})),
  );

  // Each value comes with its SHA-256 too: a gateway that keeps secrets from its clients shows
  // an echoed credential as redacted, and the digest still tells what arrived.
  server.registerTool("headers", { description: "The HTTP headers this server received with the call." }, async (extra) =>
    text(JSON.stringify(withDigests(extra.requestInfo?.headers ?? {}))),
  );

  server.registerTool(
    "read_file",
    { description: "Pretends to read a file.", inputSchema: { path: z.string() } },
    async (args) => {
      served.push({ tool: "read_file", args });
      return text(`contents of ${args.path}`);
    },
  );

  server.registerTool(
    "write_file",
    { description: "Pretends to write a file.", inputSchema: { path: z.string(), content: z.string() } },
    async (args) => {
      served.push({ tool: "write_file", args });
      return text(`wrote ${args.path}`);
    },
  );

  server.registerTool(
    "deploy",
    { description: "Pretends to deploy.", inputSchema: { env: z.string() } },
    async (args) => {
      served.push({ tool: "deploy", args });
      return text(`deployed to ${args.env}`);
    },
  );

  return server;
}

// Writes `head`, then "x" without end, to `out` until it closes; resolves with the bytes written.
function writeUntilClosed(out, head) {
  const chunk = "x".repeat(64 * 1024);
  return new Promise((resolve) => {
    let written = 0;
    let closed = false;
    const done = () => {
      if (!closed) {
        closed = true;
        resolve(written);
      }
    };
    out.on("close", done);
    out.on("error", done);
    const pump = () => {
      let more = true;
      if (written === 0) more = out.write(head);
      while (!closed && more) {
        written += chunk.length;
        more = out.write(chunk);
      }
      if (!closed) out.once("drain", pump);
    };
    pump();
  });
}

// The endless SSE events the HTTP layer wrote: how many are still being written, and the bytes
// of each that ended (its reader hung up).
const endless = { open: 0, ended: [] };

function callsTool(body, name) {
  return body?.method === "tools/call" && body.params?.name === name;
}

const [mode, port] = process.argv.slice(2);
if (mode === "stdio") {
  await serve(new StdioServerTransport());
} else if (mode === "http") {
  const sessions = new Map();
  const httpServer = http.createServer(async (req, res) => {
    if (req.url === "/sessions") {
      // The live session ids, so that a test can see a session end.
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify([...sessions.keys()]));
      return;
    }
    if (req.url === "/expire" && req.method === "POST") {
      // Forgets every session, as a server whose sessions expired (or that restarted) would.
      const ended = [...sessions.keys()];
      for (const [id, t] of [...sessions]) {
        sessions.delete(id);
        await t.close().catch(() => {});
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(ended));
      return;
    }
    if (req.url === "/endless") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(endless));
      return;
    }
    if (!req.url.startsWith("/mcp")) {
      res.writeHead(404).end();
      return;
    }
    let body;
    if (req.method === "POST") {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      body = JSON.parse(Buffer.concat(chunks).toString() || "null");
    }
    const sid = req.headers["mcp-session-id"];
    let transport = sid ? sessions.get(sid) : undefined;
    if (!transport) {
      if (sid || req.method !== "POST" || body?.method !== "initialize") {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } }));
        return;
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        // Resumable streams, so that a tool can end its response stream early (SSE polling),
        // clients asked to come back after FIXTURE_RETRY_MS (default 100 ms); or, with
        // FIXTURE_JSON_RESPONSE=1 (benchmarks), every answer as a plain JSON body.
        ...(process.env.FIXTURE_JSON_RESPONSE === "1"
          ? { enableJsonResponse: true }
          : { eventStore: new InMemoryEventStore(), retryInterval: Number(process.env.FIXTURE_RETRY_MS ?? 100) }),
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
      await serve(transport);
    }
    if (callsTool(body, "endless")) {
      // An answer stream whose one event never ends: below the SDK, which writes whole events.
      res.writeHead(200, { "content-type": "text/event-stream", "mcp-session-id": sid });
      endless.open += 1;
      const written = await writeUntilClosed(res, "event: message\ndata: ");
      endless.open -= 1;
      endless.ended.push(written);
      return;
    }
    await transport.handleRequest(req, res, body);
  });
  httpServer.listen(Number(port), "127.0.0.1", () => process.stdout.write(`listening on ${port}\n`));
} else {
  process.stderr.write("usage: fixture-server.mjs stdio | http PORT\n");
  process.exit(2);
}

function withDigests(headers) {
  const sha256 = {};
  for (const [k, v] of Object.entries(headers)) sha256[k] = createHash("sha256").update(String(v)).digest("hex");
  return { ...headers, sha256 };
}
