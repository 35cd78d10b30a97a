// An MCP server (official TypeScript SDK, stdio) whose tool definitions are read from a JSON
// file at start: for tests of tool scanning and pinning, where a definition must be poisoned or
// change between two runs. Calling a tool answers `called NAME with ARGS`.
//
//   node tools-from-file.mjs TOOLS.json

import { readFileSync } from "node:fs";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const tools = JSON.parse(readFileSync(process.argv[2], "utf8"));
const server = new Server({ name: "weir-tools-from-file", version: "1.0.0" }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
server.setRequestHandler(CallToolRequestSchema, async (req) => {
  if (!tools.some((t) => t.name === req.params.name)) {
    return { content: [{ type: "text", text: `no tool ${req.params.name}` }], isError: true };
  }
  return { content: [{ type: "text", text: `called ${req.params.name} with ${JSON.stringify(req.params.arguments ?? {})}` }] };
});
await server.connect(new StdioServerTransport());
