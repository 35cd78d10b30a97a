#!/usr/bin/env node
// Backend MCP server for protocol revision 2026-07-28 (stateless: no initialize, a `_meta`
// envelope on every request, server/discover, subscriptions/listen, input_required results,
// ttlMs/cacheScope, the MCP-Protocol-Version / Mcp-Method / Mcp-Name headers), built on the
// TypeScript SDK 2.x (`@modelcontextprotocol/server`). It implements what the server
// scenarios of `@modelcontextprotocol/conformance --requirements 2026-07-28` expect,
// including the unscored ones: the tasks extension (io.modelcontextprotocol/tasks, SEP-2663)
// and an `x-mcp-header` tool for the Mcp-Param-* header checks (SEP-2243).
//
// Requests without the 2026-07-28 envelope (2025-11-25 clients) are served too, by
// stateful sessions (initialize, Mcp-Session-Id, GET stream, DELETE, resumable SSE) over the
// SDK's Streamable HTTP transport; `--modern-only` refuses them instead. The same tool
// definitions serve both eras: a tool that returns an input_required result is retried by
// a 2026-07-28 client with `inputResponses`, while for a 2025 session the SDK sends the
// embedded requests (sampling, elicitation, roots) to the client itself.
//
// Usage: node fixture-server-2026.mjs [--port N] [--modern-only] [--bench]   (or PORT=N; 0 picks a free port)
// Prints one line `listening http://127.0.0.1:<port>/mcp` once it accepts connections.

import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  CLIENT_CAPABILITIES_META_KEY,
  McpServer,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  ResourceTemplate,
  WebStandardStreamableHTTPServerTransport,
  acceptedContent,
  createMcpHandler,
  createRequestStateCodec,
  fromJsonSchema,
  hostHeaderValidationResponse,
  inputRequired,
  isLegacyRequest,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  originValidationResponse,
} from '@modelcontextprotocol/server';
// The data the conformance scenarios dictate, shared by both fixtures.
import * as scenario from './scenario-data.mjs';

const { sleep, text } = scenario;

const objectSchema = (properties = {}, required) =>
  fromJsonSchema({ type: 'object', properties, ...(required ? { required } : {}) });
const NO_ARGS = objectSchema();

// requestState is echoed by the client, so it is HMAC-sealed when minted and verified
// before a handler sees it (a tampered or expired state is answered -32602 by the SDK).
// Every round of a flow reaches this one process, so a per-process key suffices.
const requestStateCodec = createRequestStateCodec({ key: randomBytes(32), ttlSeconds: 600 });
const mintState = (payload) => requestStateCodec.mint({ ...payload, nonce: randomUUID() });

// Elicitation forms, shared by the tools that ask for them.
const NAME_FORM = {
  message: 'What is your name?',
  requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
};
const CONFIRM_FORM = {
  message: 'Please confirm',
  requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
};

// The raw elicitation result for `key` (action and content), whatever the action.
function elicitResult(ctx, key) {
  const r = ctx.mcpReq.inputResponses?.[key];
  return r && typeof r === 'object' && typeof r.action === 'string' ? r : undefined;
}

function samplingText(response) {
  const content = response?.content;
  if (content?.type === 'text' && typeof content.text === 'string') return content.text;
  return JSON.stringify(content ?? null);
}

// Set once the HTTP handler exists; the list-change trigger tools publish through it.
let mcpHandler;

function registerTools(server, era, subscriptions) {
  const tool = (name, description, inputSchema, cb) => server.registerTool(name, { description, inputSchema }, cb);

  // --- content types -------------------------------------------------------------------
  const fixedResult = (name, description) =>
    tool(name, description, NO_ARGS, async () => scenario.TOOL_RESULTS[name]());
  fixedResult('test_simple_text', 'Returns a simple text content block');
  fixedResult('test_image_content', 'Returns an image content block');
  fixedResult('test_audio_content', 'Returns an audio content block');
  fixedResult('test_embedded_resource', 'Returns an embedded resource content block');
  fixedResult('test_multiple_content_types', 'Returns text, image and embedded resource content blocks');
  fixedResult('test_error_handling', 'Always fails with a tool error result');
  tool(
    'json_schema_2020_12_tool',
    'Tool with JSON Schema 2020-12 features',
    fromJsonSchema(scenario.JSON_SCHEMA_2020_12_INPUT),
    async (args) => scenario.TOOL_RESULTS.json_schema_2020_12_tool(args),
  );
  // SEP-2243: `region` must be mirrored into an `Mcp-Param-Region` header (the SDK checks
  // the header against the argument before the handler runs).
  tool(
    'test_mcp_param_header',
    'Echoes its region argument, which clients mirror into the Mcp-Param-Region header',
    objectSchema({
      region: { type: 'string', description: 'Mirrored into Mcp-Param-Region', 'x-mcp-header': 'Region' },
      level: { type: 'integer', description: 'Not mirrored' },
    }),
    async (args) => ({ content: [text(`region=${args.region ?? '<none>'}`)] }),
  );

  // --- notifications during a call -----------------------------------------------------
  // Log messages go out only at or above the level the request asked for: on 2026-07-28
  // `_meta["io.modelcontextprotocol/logLevel"]`, none without it; on 2025 logging/setLevel.
  tool('test_tool_with_logging', 'Emits three log notifications while running', NO_ARGS, async (_args, ctx) =>
    scenario.TOOL_RESULTS.test_tool_with_logging((data) => ctx.mcpReq.log('info', data, 'fixture')),
  );
  tool('test_logging_tool', 'Logs one message (delivered only when the request set a log level)', NO_ARGS, async (_args, ctx) => {
    await ctx.mcpReq.log('info', 'test_logging_tool ran', 'fixture');
    return { content: [text('Logged through the request-scoped channel')] };
  });
  tool('test_tool_with_progress', 'Reports progress 0, 50 and 100 of 100 while running', NO_ARGS, async (_args, ctx) =>
    scenario.TOOL_RESULTS.test_tool_with_progress(ctx.mcpReq._meta?.progressToken, (n) => ctx.mcpReq.notify(n)),
  );
  tool('test_streaming_elicitation', 'Answers with a plain result: no server-to-client request on the stream', NO_ARGS, async () => ({
    content: [text('Result only; nothing but this response on the stream')],
  }));

  // 2025 sessions only (SEP-1699): closes the call's SSE stream mid-call; the result
  // reaches the client after it resumes with Last-Event-ID. A 2026-07-28 call has no
  // stream to close and just completes.
  tool('test_reconnection', 'Closes its SSE stream mid-call; the result arrives after the client resumes', NO_ARGS, async (_args, ctx) => {
    ctx.http?.closeSSE?.();
    await sleep(100);
    return scenario.TOOL_RESULTS.test_reconnection();
  });

  // --- list-change triggers -------------------------------------------------------------
  // 2026-07-28: publish the event to the open subscriptions/listen streams that asked for
  // it. 2025 sessions: send the notification on the session's GET stream (resources/updated
  // only for a URI the session subscribed to).
  const changed = (kind, uri) => {
    if (era === 'modern') {
      if (kind === 'tools') mcpHandler.notify.toolsChanged();
      else if (kind === 'prompts') mcpHandler.notify.promptsChanged();
      else if (kind === 'resources') mcpHandler.notify.resourcesChanged();
      else mcpHandler.notify.resourceUpdated(uri);
    } else if (kind === 'tools') server.sendToolListChanged();
    else if (kind === 'prompts') server.sendPromptListChanged();
    else if (kind === 'resources') server.sendResourceListChanged();
    else if (subscriptions.has(uri)) server.server.sendResourceUpdated({ uri }).catch(() => {});
  };
  tool('test_trigger_tool_change', 'Sends notifications/tools/list_changed', NO_ARGS, async () => {
    changed('tools');
    return { content: [text('tools/list_changed sent')] };
  });
  tool('test_trigger_prompt_change', 'Sends notifications/prompts/list_changed', NO_ARGS, async () => {
    changed('prompts');
    return { content: [text('prompts/list_changed sent')] };
  });
  tool('test_trigger_resource_change', 'Sends notifications/resources/list_changed', NO_ARGS, async () => {
    changed('resources');
    return { content: [text('resources/list_changed sent')] };
  });
  tool(
    'test_trigger_resource_updated',
    'Sends notifications/resources/updated for a URI to the clients subscribed to it',
    objectSchema({ uri: { type: 'string', description: 'The updated resource (default test://watched-resource)' } }),
    async (args) => {
      const uri = args.uri ?? 'test://watched-resource';
      changed('updated', uri);
      return { content: [text(`resources/updated sent for ${uri}`)] };
    },
  );

  // --- input from the client (input_required results) ----------------------------------
  // Each returns inputRequired(...) until the retried request carries the responses it
  // needs. On 2025-era calls the SDK obtains them with real server-to-client requests.
  tool(
    'test_sampling',
    'Asks the client for an LLM completion (sampling/createMessage)',
    objectSchema({ prompt: { type: 'string', description: 'The prompt to send to the LLM' } }, ['prompt']),
    async (args, ctx) => {
      const answer = ctx.mcpReq.inputResponses?.llm_answer;
      if (answer === undefined) {
        return inputRequired({
          inputRequests: {
            llm_answer: inputRequired.createMessage({
              messages: [{ role: 'user', content: text(String(args.prompt ?? '')) }],
              maxTokens: 100,
            }),
          },
        });
      }
      return scenario.TOOL_RESULTS.test_sampling(samplingText(answer));
    },
  );
  tool(
    'test_elicitation',
    'Asks the client for user input (elicitation/create)',
    objectSchema({ message: { type: 'string', description: 'The message to show the user' } }, ['message']),
    async (args, ctx) => {
      const result = elicitResult(ctx, 'user_input');
      if (!result) {
        return inputRequired({
          inputRequests: {
            user_input: inputRequired.elicit(scenario.userInputForm(String(args.message ?? ''))),
          },
        });
      }
      return scenario.TOOL_RESULTS.test_elicitation(result);
    },
  );
  tool('test_elicitation_sep1034_defaults', 'Elicits a form whose primitive fields all carry defaults (SEP-1034)', NO_ARGS, async (_args, ctx) => {
    const result = elicitResult(ctx, 'form');
    if (!result) return inputRequired({ inputRequests: { form: inputRequired.elicit(scenario.DEFAULTS_FORM) } });
    return scenario.TOOL_RESULTS.test_elicitation_sep1034_defaults(result);
  });
  tool('test_elicitation_sep1330_enums', 'Elicits a form with every enum variant (SEP-1330)', NO_ARGS, async (_args, ctx) => {
    const result = elicitResult(ctx, 'form');
    if (!result) return inputRequired({ inputRequests: { form: inputRequired.elicit(scenario.ENUMS_FORM) } });
    return scenario.TOOL_RESULTS.test_elicitation_sep1330_enums(result);
  });
  // Needs sampling: a request whose envelope does not declare it is refused by the SDK
  // with -32021 (MissingRequiredClientCapability) before anything reaches the client.
  tool('test_missing_capability', 'Requires the sampling client capability (asks for an LLM completion)', NO_ARGS, async (_args, ctx) => {
    if (ctx.mcpReq.inputResponses?.llm_answer === undefined) {
      return inputRequired({
        inputRequests: {
          llm_answer: inputRequired.createMessage({
            messages: [{ role: 'user', content: text('Reply with the single word: pong') }],
            maxTokens: 16,
          }),
        },
      });
    }
    return { content: [text(`Sampling answered: ${samplingText(ctx.mcpReq.inputResponses.llm_answer)}`)] };
  });
  // Anything without an accepted `user_name` (missing, wrong keys, malformed, declined) is
  // answered with a fresh input_required result asking again.
  tool('test_input_required_result_elicitation', 'Asks for the caller name (elicitation)', NO_ARGS, async (_args, ctx) => {
    const name = acceptedContent(ctx.mcpReq.inputResponses, 'user_name')?.name;
    if (typeof name !== 'string') {
      return inputRequired({ inputRequests: { user_name: inputRequired.elicit(NAME_FORM) } });
    }
    return { content: [text(`Hello, ${name}!`)] };
  });
  tool('test_input_required_result_sampling', 'Asks for an LLM completion (sampling)', NO_ARGS, async (_args, ctx) => {
    const answer = ctx.mcpReq.inputResponses?.capital_question;
    if (answer === undefined) {
      return inputRequired({
        inputRequests: {
          capital_question: inputRequired.createMessage({
            messages: [{ role: 'user', content: text('What is the capital of France?') }],
            maxTokens: 100,
          }),
        },
      });
    }
    return { content: [text(`Sampling response: ${samplingText(answer)}`)] };
  });
  tool('test_input_required_result_list_roots', 'Asks for the client roots (roots/list)', NO_ARGS, async (_args, ctx) => {
    const roots = ctx.mcpReq.inputResponses?.client_roots?.roots;
    if (!Array.isArray(roots)) {
      return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
    }
    return { content: [text(`Client roots (${roots.length}): ${roots.map((r) => r?.uri).join(', ')}`)] };
  });
  tool('test_input_required_result_request_state', 'Round-trips a sealed requestState with a confirmation', NO_ARGS, async (_args, ctx) => {
    const state = ctx.mcpReq.requestState();
    const confirmed = acceptedContent(ctx.mcpReq.inputResponses, 'confirm');
    if (state?.tool !== 'request_state' || confirmed === undefined) {
      return inputRequired({
        inputRequests: { confirm: inputRequired.elicit(CONFIRM_FORM) },
        requestState: await mintState({ tool: 'request_state' }),
      });
    }
    return { content: [text(`state-ok: requestState verified, ok=${JSON.stringify(confirmed.ok)}`)] };
  });
  tool('test_input_required_result_multiple_inputs', 'Asks for elicitation, sampling and roots in one round', NO_ARGS, async (_args, ctx) => {
    const responses = ctx.mcpReq.inputResponses;
    const name = acceptedContent(responses, 'user_name')?.name;
    const greeting = responses?.greeting;
    const roots = responses?.client_roots?.roots;
    if (ctx.mcpReq.requestState()?.tool !== 'multiple_inputs' || typeof name !== 'string' || greeting === undefined || !Array.isArray(roots)) {
      return inputRequired({
        inputRequests: {
          user_name: inputRequired.elicit(NAME_FORM),
          greeting: inputRequired.createMessage({
            messages: [{ role: 'user', content: text('Generate a greeting') }],
            maxTokens: 50,
          }),
          client_roots: inputRequired.listRoots(),
        },
        requestState: await mintState({ tool: 'multiple_inputs' }),
      });
    }
    return { content: [text(`${samplingText(greeting)} ${name} (${roots.length} root(s))`)] };
  });
  // The round lives in the sealed requestState: round 1 asks for a name, round 2 for a
  // colour, round 3 completes.
  tool('test_input_required_result_multi_round', 'Two elicitation rounds with evolving requestState', NO_ARGS, async (_args, ctx) => {
    const state = ctx.mcpReq.requestState();
    const round = state?.tool === 'multi_round' ? state.round : 0;
    if (round === 1) {
      const name = acceptedContent(ctx.mcpReq.inputResponses, 'step1')?.name;
      if (typeof name === 'string') {
        return inputRequired({
          inputRequests: {
            step2: inputRequired.elicit({
              message: 'Step 2: What is your favorite color?',
              requestedSchema: { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] },
            }),
          },
          requestState: await mintState({ tool: 'multi_round', round: 2, name }),
        });
      }
    }
    if (round === 2) {
      const color = acceptedContent(ctx.mcpReq.inputResponses, 'step2')?.color;
      if (typeof color === 'string') {
        return { content: [text(`Multi-round complete: ${state.name} likes ${color}`)] };
      }
    }
    return inputRequired({
      inputRequests: { step1: inputRequired.elicit({ ...NAME_FORM, message: 'Step 1: What is your name?' }) },
      requestState: await mintState({ tool: 'multi_round', round: 1 }),
    });
  });
  // A retry whose requestState fails verification never reaches this handler (-32602).
  tool('test_input_required_result_tampered_state', 'Rejects a retry whose requestState was altered', NO_ARGS, async (_args, ctx) => {
    if (ctx.mcpReq.requestState()?.tool === 'tampered_state' && acceptedContent(ctx.mcpReq.inputResponses, 'confirm')) {
      return { content: [text('integrity-ok: requestState verified')] };
    }
    return inputRequired({
      inputRequests: { confirm: inputRequired.elicit(CONFIRM_FORM) },
      requestState: await mintState({ tool: 'tampered_state' }),
    });
  });
  // Asks only for the kinds of input the request's envelope declares the client supports.
  tool('test_input_required_result_capabilities', 'Asks only for input the declared client capabilities cover', NO_ARGS, async (_args, ctx) => {
    if (ctx.mcpReq.inputResponses !== undefined) {
      return { content: [text(`Received input for: ${Object.keys(ctx.mcpReq.inputResponses).join(', ') || 'nothing'}`)] };
    }
    const declared = ctx.mcpReq.envelope?.[CLIENT_CAPABILITIES_META_KEY] ?? {};
    const inputRequests = {};
    if (declared.elicitation !== undefined) inputRequests.user_name = inputRequired.elicit(NAME_FORM);
    if (declared.sampling !== undefined) {
      inputRequests.greeting = inputRequired.createMessage({
        messages: [{ role: 'user', content: text('Generate a short greeting') }],
        maxTokens: 50,
      });
    }
    if (declared.roots !== undefined) inputRequests.client_roots = inputRequired.listRoots();
    if (Object.keys(inputRequests).length === 0) {
      return { content: [text('The client declared no capability that input can be asked through')] };
    }
    return inputRequired({ inputRequests });
  });
}

function registerResources(server) {
  server.registerResource(
    'static-text',
    'test://static-text',
    {
      description: 'A static text resource',
      mimeType: 'text/plain',
      // Never changes: cacheable by anyone for a minute (resources/read ttlMs/cacheScope).
      cacheHint: { ttlMs: 60000, cacheScope: 'public' },
    },
    async (uri) => scenario.RESOURCE_CONTENTS['static-text'](uri.href),
  );
  server.registerResource(
    'static-binary',
    'test://static-binary',
    { description: 'A static binary resource (PNG image)', mimeType: 'image/png' },
    async (uri) => scenario.RESOURCE_CONTENTS['static-binary'](uri.href),
  );
  server.registerResource(
    'watched-resource',
    'test://watched-resource',
    { description: 'A resource clients can subscribe to (test_trigger_resource_updated)', mimeType: 'text/plain' },
    async (uri) => scenario.RESOURCE_CONTENTS['watched-resource'](uri.href),
  );
  server.registerResource(
    'template-data',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { description: 'Data for an id, substituted into the URI', mimeType: 'application/json' },
    async (uri, { id }) => scenario.RESOURCE_CONTENTS['template-data'](uri.href, id),
  );
}

function registerPrompts(server) {
  server.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' }, async () =>
    scenario.PROMPT_MESSAGES.test_simple_prompt(),
  );
  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with two required arguments',
      argsSchema: objectSchema(
        {
          arg1: { type: 'string', description: 'First test argument' },
          arg2: { type: 'string', description: 'Second test argument' },
        },
        ['arg1', 'arg2'],
      ),
    },
    async (args) => scenario.PROMPT_MESSAGES.test_prompt_with_arguments(args.arg1, args.arg2),
  );
  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      description: 'A prompt that embeds a resource',
      argsSchema: objectSchema({ resourceUri: { type: 'string', description: 'URI of the resource to embed' } }, [
        'resourceUri',
      ]),
    },
    async (args) => scenario.PROMPT_MESSAGES.test_prompt_with_embedded_resource(args.resourceUri),
  );
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with image content' }, async () =>
    scenario.PROMPT_MESSAGES.test_prompt_with_image(),
  );
  // prompts/get may answer input_required too: the prompt needs a context first. A prompt
  // without argsSchema gets the request context as its only argument.
  server.registerPrompt(
    'test_input_required_result_prompt',
    { description: 'A prompt that asks the user for context (elicitation) before rendering' },
    async (ctx) => {
      const context = acceptedContent(ctx.mcpReq.inputResponses, 'user_context')?.context;
      if (typeof context !== 'string') {
        return inputRequired({
          inputRequests: {
            user_context: inputRequired.elicit({
              message: 'What context should the prompt use?',
              requestedSchema: { type: 'object', properties: { context: { type: 'string' } }, required: ['context'] },
            }),
          },
        });
      }
      return { messages: [{ role: 'user', content: text(`Use the following context: ${context}`) }] };
    },
  );
}

// --- Tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`), 2026-07-28 only ------------
// A client that declares the extension in its request's clientCapabilities gets a task
// (CreateTaskResult, resultType "task") from a task-supporting tool and follows it with
// tasks/get, tasks/update (input for a task in input_required) and tasks/cancel. Without
// the declaration, task-supporting tools run synchronously and task-required tools are
// refused with -32021. Tasks live in this process for TASK_TTL_MS.

const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
const TASK_TTL_MS = 5 * 60 * 1000;
const TASK_POLL_INTERVAL_MS = 200;
const TASK_REQUIRED_TOOLS = new Set(['failing_job', 'test_tool_with_task']);
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const tasks = new Map();

const declaresTasks = (ctx) =>
  ctx.mcpReq.envelope?.[CLIENT_CAPABILITIES_META_KEY]?.extensions?.[TASKS_EXTENSION] !== undefined;

function requireTasksExtension(ctx) {
  if (!declaresTasks(ctx)) {
    throw new MissingRequiredClientCapabilityError(
      { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
      `Missing required client capability: extensions["${TASKS_EXTENSION}"]`,
    );
  }
}

function setTaskStatus(task, status, fields = {}) {
  if (TERMINAL.has(task.status)) return;
  Object.assign(task, fields, { status, lastUpdatedAt: new Date().toISOString() });
}

// Creates a task running `work(io)` in the background and returns its CreateTaskResult once
// tasks/get can see it. `io.sleep` and `io.input` reject when the task is cancelled;
// `io.input(key, request)` parks the task in input_required until tasks/update answers `key`.
function startTask(work) {
  const now = new Date().toISOString();
  const task = {
    taskId: randomUUID(),
    status: 'working',
    createdAt: now,
    lastUpdatedAt: now,
    ttlMs: TASK_TTL_MS,
    pollIntervalMs: TASK_POLL_INTERVAL_MS,
    pending: new Map(),
    abort: new AbortController(),
  };
  tasks.set(task.taskId, task);
  setTimeout(() => tasks.delete(task.taskId), TASK_TTL_MS).unref();
  const { signal } = task.abort;
  const cancelled = () => new Error('task cancelled');
  const io = {
    sleep: (ms) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        signal.addEventListener('abort', () => (clearTimeout(timer), reject(cancelled())), { once: true });
      }),
    input: (key, request) =>
      new Promise((resolve, reject) => {
        task.pending.set(key, { request, resolve });
        setTaskStatus(task, 'input_required');
        signal.addEventListener('abort', () => reject(cancelled()), { once: true });
      }),
  };
  Promise.resolve()
    .then(() => work(io))
    .then(
      (result) => setTaskStatus(task, 'completed', { result }),
      (e) =>
        setTaskStatus(task, 'failed', {
          error: { code: typeof e?.code === 'number' ? e.code : -32603, message: String(e?.message ?? e) },
        }),
    );
  return {
    resultType: 'task',
    taskId: task.taskId,
    status: task.status,
    createdAt: task.createdAt,
    lastUpdatedAt: task.lastUpdatedAt,
    ttlMs: task.ttlMs,
    pollIntervalMs: task.pollIntervalMs,
  };
}

function findTask(taskId) {
  const task = tasks.get(taskId);
  if (!task) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown task: ${taskId}`, { taskId });
  return task;
}

// DetailedTask: the result is inlined once completed, the error once failed, the open
// input requests while input_required.
function detailedTask(task) {
  const { taskId, status, createdAt, lastUpdatedAt, ttlMs, pollIntervalMs } = task;
  return {
    taskId,
    status,
    createdAt,
    lastUpdatedAt,
    ttlMs,
    pollIntervalMs,
    ...(status === 'input_required' && {
      inputRequests: Object.fromEntries([...task.pending].map(([key, p]) => [key, p.request])),
    }),
    ...(status === 'completed' && { result: task.result }),
    ...(status === 'failed' && { error: task.error }),
  };
}

function registerTaskMethods(server) {
  const params = (properties = {}) =>
    fromJsonSchema({ type: 'object', properties: { taskId: { type: 'string' }, ...properties }, required: ['taskId'] });
  server.server.setRequestHandler('tasks/get', { params: params() }, async (p, ctx) => {
    requireTasksExtension(ctx);
    return detailedTask(findTask(p.taskId));
  });
  // Answers go to the input requests they name; unknown keys are ignored. The ack is empty.
  // The SDK lifts `inputResponses` out of the params into ctx.mcpReq.inputResponses (keeping
  // only entries shaped like a response), as for any retried request.
  server.server.setRequestHandler('tasks/update', { params: params() }, async (p, ctx) => {
    requireTasksExtension(ctx);
    const task = findTask(p.taskId);
    for (const [key, response] of Object.entries(ctx.mcpReq.inputResponses ?? {})) {
      const waiting = task.pending.get(key);
      if (!waiting) continue;
      task.pending.delete(key);
      waiting.resolve(response);
    }
    if (task.status === 'input_required' && task.pending.size === 0) setTaskStatus(task, 'working');
    return {};
  });
  // Idempotent: cancelling a finished task is acknowledged the same way.
  server.server.setRequestHandler('tasks/cancel', { params: params() }, async (p, ctx) => {
    requireTasksExtension(ctx);
    const task = findTask(p.taskId);
    if (!TERMINAL.has(task.status)) {
      setTaskStatus(task, 'cancelled');
      task.pending.clear();
      task.abort.abort();
    }
    return {};
  });
}

// McpServer turns anything a tool callback throws into an isError result, so the -32021
// refusal of a task-required tool is raised in front of its tools/call handler: the
// handler McpServer installs is wrapped as it is registered.
function interceptTaskRequiredCalls(server) {
  const setRequestHandler = server.server.setRequestHandler.bind(server.server);
  server.server.setRequestHandler = (method, handler, ...rest) => {
    if (method !== 'tools/call' || typeof handler !== 'function') return setRequestHandler(method, handler, ...rest);
    return setRequestHandler(method, (request, ctx) => {
      if (TASK_REQUIRED_TOOLS.has(request.params?.name)) requireTasksExtension(ctx);
      return handler(request, ctx);
    });
  };
}

function registerTaskTools(server) {
  // `taskSupport` only documents the tool here: 2026-07-28 removed Tool.execution, and the
  // SDK strips it from tools/list.
  const tool = (name, description, _taskSupport, inputSchema, cb) => server.registerTool(name, { description, inputSchema }, cb);
  const withTasks = (ctx) => ctx.mcpReq.envelope !== undefined && declaresTasks(ctx);

  tool('greet', 'Greets synchronously (never a task)', undefined, objectSchema({ name: { type: 'string' } }), async (args) => ({
    content: [text(`Hello, ${args.name ?? 'World'}!`)],
  }));
  tool(
    'slow_compute',
    'Sleeps `seconds` then answers; a task when the client supports tasks',
    'optional',
    objectSchema({ seconds: { type: 'number', minimum: 0 }, label: { type: 'string' } }),
    async (args, ctx) => {
      const seconds = Math.min(Math.max(Number(args.seconds ?? 1), 0), 600);
      const label = String(args.label ?? 'slow_compute');
      const answer = () => ({ content: [text(`Computed ${label} after ${seconds}s`)] });
      if (!withTasks(ctx)) {
        await sleep(seconds * 1000);
        return answer();
      }
      return startTask(async (io) => {
        await io.sleep(seconds * 1000);
        return answer();
      });
    },
  );
  // A tool error (isError), not a protocol error: the task completes.
  tool('failing_job', 'Fails with a tool error after about a second (task required)', 'required', NO_ARGS, async (_args, ctx) => {
    const failure = { isError: true, content: [text('failing_job failed, as it always does')] };
    if (!withTasks(ctx)) return failure;
    return startTask(async (io) => {
      await io.sleep(1000);
      return failure;
    });
  });
  // A protocol error: the task fails with an inlined JSON-RPC error.
  tool('protocol_error_job', 'Fails with a protocol error (a failed task)', 'optional', NO_ARGS, async (_args, ctx) => {
    const failure = () => new ProtocolError(ProtocolErrorCode.InternalError, 'protocol_error_job: simulated internal failure');
    if (!withTasks(ctx)) throw failure();
    return startTask(async (io) => {
      await io.sleep(300);
      throw failure();
    });
  });
  const confirmForm = (filename) =>
    inputRequired.elicit({
      message: `Delete ${filename}?`,
      requestedSchema: { type: 'object', properties: { confirm: { type: 'boolean' } }, required: ['confirm'] },
    });
  const deleted = (filename, response) =>
    response?.action === 'accept' && response.content?.confirm !== false
      ? { content: [text(`Deleted ${filename}`)] }
      : { content: [text(`Kept ${filename}`)] };
  // As a task, waits in input_required for the confirmation; otherwise asks for it with an
  // input_required result.
  tool(
    'confirm_delete',
    'Asks for confirmation (elicitation) before "deleting" a file',
    'optional',
    objectSchema({ filename: { type: 'string' } }),
    async (args, ctx) => {
      const filename = String(args.filename ?? 'file.txt');
      if (!withTasks(ctx)) {
        const response = ctx.mcpReq.inputResponses?.confirm;
        if (response === undefined) return inputRequired({ inputRequests: { confirm: confirmForm(filename) } });
        return deleted(filename, response);
      }
      return startTask(async (io) => deleted(filename, await io.input('confirm', confirmForm(filename))));
    },
  );
  // Two input requests open at once; answered in one or two tasks/update calls.
  tool('multi_input', 'Asks for a name and a confirmation at the same time', 'optional', NO_ARGS, async (_args, ctx) => {
    const confirmation = inputRequired.elicit({
      message: 'Proceed?',
      requestedSchema: { type: 'object', properties: { confirm: { type: 'boolean' } }, required: ['confirm'] },
    });
    const finish = (name, confirm) => ({
      content: [text(`name=${JSON.stringify(name?.content?.name ?? null)}, confirm=${JSON.stringify(confirm?.content?.confirm ?? null)}`)],
    });
    if (!withTasks(ctx)) {
      const r = ctx.mcpReq.inputResponses ?? {};
      if (r.user_name === undefined || r.confirmation === undefined) {
        return inputRequired({ inputRequests: { user_name: inputRequired.elicit(NAME_FORM), confirmation } });
      }
      return finish(r.user_name, r.confirmation);
    }
    return startTask(async (io) => {
      const [name, confirm] = await Promise.all([io.input('user_name', inputRequired.elicit(NAME_FORM)), io.input('confirmation', confirmation)]);
      return finish(name, confirm);
    });
  });
  // input_required first (no task yet), then a task once the name is known.
  tool('test_tool_with_task', 'Asks for a name, then greets from a task (task required)', 'required', NO_ARGS, async (_args, ctx) => {
    const name = acceptedContent(ctx.mcpReq.inputResponses, 'user_name')?.name;
    if (typeof name !== 'string') return inputRequired({ inputRequests: { user_name: inputRequired.elicit(NAME_FORM) } });
    if (!withTasks(ctx)) return { content: [text(`Hello, ${name}!`)] };
    return startTask(async (io) => {
      await io.sleep(300);
      return { content: [text(`Hello, ${name}! (from a task)`)] };
    });
  });
}

// A server instance serves one 2026-07-28 request (era 'modern') or one 2025 session (era
// 'legacy'); anything that outlives it (tasks, the requestState key) is module state.
function createServer(era) {
  const subscriptions = new Set();
  const server = new McpServer(
    { name: 'weir-conformance-fixture-2026', version: '1.0.0' },
    {
      capabilities: {
        // No `tools` here: McpServer would install its tools/call handler in the constructor,
        // before interceptTaskRequiredCalls can wrap it. The first registerTool declares
        // tools: { listChanged: true }.
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        completions: {},
        // Deprecated in 2026-07-28 (logging/setLevel is gone there); kept for 2025 clients.
        logging: {},
        ...(era === 'modern' && { extensions: { [TASKS_EXTENSION]: {} } }),
      },
      // Non-default hints, so a client (or a gateway) can tell them from the SDK defaults
      // ({ ttlMs: 0, cacheScope: 'private' }).
      cacheHints: {
        'tools/list': { ttlMs: 30000, cacheScope: 'private' },
        'prompts/list': { ttlMs: 30000, cacheScope: 'private' },
        'resources/list': { ttlMs: 30000, cacheScope: 'private' },
        'resources/templates/list': { ttlMs: 30000, cacheScope: 'private' },
        'server/discover': { ttlMs: 30000, cacheScope: 'public' },
      },
      requestState: { verify: requestStateCodec.verify },
    },
  );
  // --bench: one tool (`greet`) and nothing else, so that a request costs the server little
  // and what a gateway adds to it can be measured (bench/mcp.py --stateless).
  if (BENCH_ONLY) {
    server.registerTool('greet', { description: 'Greets', inputSchema: objectSchema({ name: { type: 'string' } }) }, async (args) => ({
      content: [text(`Hello, ${args.name ?? 'World'}!`)],
    }));
    return server;
  }
  if (era === 'modern') interceptTaskRequiredCalls(server);
  registerTools(server, era, subscriptions);
  registerTaskTools(server);
  registerResources(server);
  registerPrompts(server);
  if (era === 'modern') registerTaskMethods(server);

  // 2025 only: the 2026-07-28 revision removed these methods (subscriptions/listen replaces
  // them), and the SDK answers them -32601 there.
  server.server.setRequestHandler('resources/subscribe', async (req) => {
    subscriptions.add(req.params.uri);
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', async (req) => {
    subscriptions.delete(req.params.uri);
    return {};
  });

  server.server.setRequestHandler('completion/complete', async (req) =>
    scenario.complete(req.params.argument?.name, req.params.argument?.value),
  );
  return server;
}

const MODERN_ONLY = process.argv.includes('--modern-only');
// GET /counters: how many tools/list requests this process was sent.
const counters = { tools_lists: 0 };
const BENCH_ONLY = process.argv.includes('--bench');

const debug = (what, e) => {
  if (process.env.FIXTURE_DEBUG) console.error(`${what}:`, e);
};

// 2026-07-28 traffic (anything carrying the `_meta` envelope claim, or a modern
// MCP-Protocol-Version header): a fresh server per request, subscriptions/listen streams,
// the SDK's validation of envelope, headers and client capabilities. It answers
// 2025-era requests only with --modern-only (an unsupported-protocol-version error);
// otherwise they never reach it.
mcpHandler = createMcpHandler(() => createServer('modern'), {
  legacy: 'reject',
  onerror: (e) => debug('mcp handler', e),
});

// --- 2025-11-25 traffic: stateful sessions ---------------------------------------------
// initialize creates a session (one server and one Streamable HTTP transport); later
// requests name it in Mcp-Session-Id, GET opens its stream, DELETE ends it. Unlike the
// SDK's stateless legacy fallback, a session knows the client's capabilities, so
// input_required results are fulfilled with real server-to-client requests.

const sessions = new Map();

async function isInitializeRequest(request) {
  try {
    const body = await request.clone().json();
    return (Array.isArray(body) ? body : [body]).some((m) => m?.method === 'initialize');
  } catch {
    return false;
  }
}

async function serveLegacy(request) {
  const sessionId = request.headers.get('mcp-session-id');
  if (sessionId !== null) {
    const session = sessions.get(sessionId);
    if (!session) return jsonRpcError(404, -32001, 'Session not found');
    return session.transport.handleRequest(request);
  }
  if (request.method !== 'POST' || !(await isInitializeRequest(request))) {
    return jsonRpcError(400, -32000, 'Bad Request: no valid session id, and not an initialize request');
  }
  const server = createServer('legacy');
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    // In-memory event log for resuming a closed SSE stream with Last-Event-ID.
    eventStore: scenario.createEventStore(),
    // Clients are asked to wait this long before reconnecting to a stream the server closed.
    retryInterval: 1000,
    onsessioninitialized: (id) => {
      sessions.set(id, { server, transport });
    },
    onsessionclosed: (id) => {
      sessions.delete(id);
    },
  });
  transport.onclose = () => {
    if (transport.sessionId) sessions.delete(transport.sessionId);
    server.close().catch(() => {});
  };
  await server.connect(transport);
  return transport.handleRequest(request);
}

async function serveMcp(request) {
  if (!MODERN_ONLY && (await isLegacyRequest(request))) return serveLegacy(request);
  return mcpHandler.fetch(request);
}

// --- node:http <-> fetch Request/Response ---------------------------------------------

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function toWebRequest(req, signal) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  return new Request(new URL(req.url ?? '/', 'http://127.0.0.1'), {
    method: req.method,
    headers,
    body: hasBody ? await readBody(req) : undefined,
    signal,
  });
}

async function writeWebResponse(response, res) {
  const headers = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  // A client that goes away ends the stream (and with it, e.g., its listen subscription).
  res.on('close', () => reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      res.write(value);
    }
  } catch {
    // Cancelled because the client disconnected.
  }
  res.end();
}

function jsonRpcError(status, code, message) {
  return Response.json({ jsonrpc: '2.0', id: null, error: { code, message } }, { status });
}

async function handle(req, res) {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const request = await toWebRequest(req, controller.signal);
  let response;
  const path = new URL(request.url).pathname;
  if (path === '/counters' && request.method === 'GET') {
    // What a test of a gateway's list caching counts: the lists this process was asked for.
    response = Response.json(counters);
  } else if (path !== '/mcp') {
    response = new Response(null, { status: 404 });
  } else {
    if (request.method === 'POST') {
      const method = await request
        .clone()
        .json()
        .then((m) => m?.method)
        .catch(() => undefined);
      if (method === 'tools/list') counters.tools_lists += 1;
    }
    // Listening on loopback without auth: refuse other Host/Origin values (DNS rebinding).
    response =
      hostHeaderValidationResponse(request, localhostAllowedHostnames()) ??
      originValidationResponse(request, localhostAllowedOrigins()) ??
      (await serveMcp(request));
  }
  await writeWebResponse(response, res);
}

const httpServer = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error('request failed:', e);
    if (!res.headersSent) writeWebResponse(jsonRpcError(500, -32603, 'Internal error'), res).catch(() => res.end());
    else res.end();
  });
});

httpServer.listen(scenario.parsePort(), '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${httpServer.address().port}/mcp`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    mcpHandler.close().catch(() => {});
    for (const { transport } of sessions.values()) transport.close().catch(() => {});
    httpServer.close();
    httpServer.closeAllConnections();
    process.exit(0);
  });
}
