// The data the server scenarios of @modelcontextprotocol/conformance dictate (media, the
// JSON Schema 2020-12 tool schema, elicitation forms, what the tools answer, resource
// contents, prompt messages, completions), shared by both fixtures: fixture-server.mjs
// (SDK 1.x, revision 2025-11-25) and fixture-server-2026.mjs (SDK 2.x, revision 2026-07-28).
// Plain values and the functions that build them, no SDK: each fixture serves them through
// its own. Also what both do alike outside their SDK: parse --port, and keep the SSE event
// log a 2025 session resumes a closed stream from (the reconnection scenario, SEP-1699).

export function parsePort() {
  const i = process.argv.indexOf('--port');
  const raw = i >= 0 ? process.argv[i + 1] : process.env.PORT;
  const port = Number(raw ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`invalid port: ${raw}`);
    process.exit(2);
  }
  return port;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const text = (t) => ({ type: 'text', text: t });

// 1x1 red PNG and a minimal (empty) WAV: real media of the declared MIME types.
export const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
export const WAV_BASE64 = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=';

const JSON_SCHEMA_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

// The input schema of json_schema_2020_12_tool: its 2020-12 keywords must reach clients intact.
export const JSON_SCHEMA_2020_12_INPUT = {
  $schema: JSON_SCHEMA_2020_12,
  type: 'object',
  $defs: {
    address: {
      $anchor: 'addressDef',
      type: 'object',
      properties: { street: { type: 'string' }, city: { type: 'string' } },
    },
  },
  properties: {
    name: { type: 'string' },
    address: { $ref: '#/$defs/address' },
    contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' },
    email: { type: 'string' },
  },
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false,
};

// --- elicitation forms (message and requestedSchema) --------------------------------------

// test_elicitation: asks the user the caller's message.
export const userInputForm = (message) => ({
  message,
  requestedSchema: {
    type: 'object',
    properties: {
      username: { type: 'string', description: "User's response" },
      email: { type: 'string', description: "User's email address" },
    },
    required: ['username', 'email'],
  },
});

// test_elicitation_sep1034_defaults: every primitive field carries a default (SEP-1034).
export const DEFAULTS_FORM = {
  message: 'Please review and update the form fields with defaults',
  requestedSchema: {
    type: 'object',
    properties: {
      name: { type: 'string', description: 'User name', default: 'John Doe' },
      age: { type: 'integer', description: 'User age', default: 30 },
      score: { type: 'number', description: 'User score', default: 95.5 },
      status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
      verified: { type: 'boolean', description: 'Verification status', default: true },
    },
    required: [],
  },
};

// test_elicitation_sep1330_enums: every enum variant (SEP-1330).
export const ENUMS_FORM = {
  message: 'Please pick from each kind of enum',
  requestedSchema: {
    type: 'object',
    properties: {
      untitledSingle: { type: 'string', description: 'Untitled single-select', enum: ['option1', 'option2', 'option3'] },
      titledSingle: {
        type: 'string',
        description: 'Titled single-select',
        oneOf: [
          { const: 'value1', title: 'First Option' },
          { const: 'value2', title: 'Second Option' },
          { const: 'value3', title: 'Third Option' },
        ],
      },
      legacyEnum: {
        type: 'string',
        description: 'Legacy titled single-select',
        enum: ['opt1', 'opt2', 'opt3'],
        enumNames: ['Option One', 'Option Two', 'Option Three'],
      },
      untitledMulti: {
        type: 'array',
        description: 'Untitled multi-select',
        items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
      },
      titledMulti: {
        type: 'array',
        description: 'Titled multi-select',
        items: {
          anyOf: [
            { const: 'value1', title: 'First Choice' },
            { const: 'value2', title: 'Second Choice' },
            { const: 'value3', title: 'Third Choice' },
          ],
        },
      },
    },
    required: [],
  },
};

// --- tools --------------------------------------------------------------------------------

const elicitationOutcome = (result) => `action=${result.action}, content=${JSON.stringify(result.content ?? {})}`;
const formCompleted = (result) => ({ content: [text(`Elicitation completed: ${elicitationOutcome(result)}`)] });

// What each tool answers, by tool name (a fresh result on every call). The logging and
// progress tools send their notifications through the function they are given, 50 ms apart.
export const TOOL_RESULTS = {
  test_simple_text: () => ({ content: [text('This is a simple text response for testing.')] }),
  test_image_content: () => ({ content: [{ type: 'image', data: PNG_BASE64, mimeType: 'image/png' }] }),
  test_audio_content: () => ({ content: [{ type: 'audio', data: WAV_BASE64, mimeType: 'audio/wav' }] }),
  test_embedded_resource: () => ({
    content: [
      {
        type: 'resource',
        resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' },
      },
    ],
  }),
  test_multiple_content_types: () => ({
    content: [
      text('Multiple content types test:'),
      { type: 'image', data: PNG_BASE64, mimeType: 'image/png' },
      {
        type: 'resource',
        resource: {
          uri: 'test://mixed-content-resource',
          mimeType: 'application/json',
          text: JSON.stringify({ test: 'data', value: 123 }),
        },
      },
    ],
  }),
  test_error_handling: () => ({
    isError: true,
    content: [text('This tool intentionally returns an error for testing')],
  }),
  // `log(data)` sends one info message.
  test_tool_with_logging: async (log) => {
    const steps = ['Tool execution started', 'Tool processing data', 'Tool execution completed'];
    for (const [i, data] of steps.entries()) {
      if (i > 0) await sleep(50);
      await log(data);
    }
    return { content: [text('Tool with logging executed successfully')] };
  },
  // `notify(notification)` sends one notification; none without a progress token.
  test_tool_with_progress: async (progressToken, notify) => {
    for (const progress of [0, 50, 100]) {
      if (progress > 0) await sleep(50);
      if (progressToken !== undefined) {
        await notify({
          method: 'notifications/progress',
          params: { progressToken, progress, total: 100, message: `Completed step ${progress} of 100` },
        });
      }
    }
    return { content: [text(`Progress reported for token ${String(progressToken)}`)] };
  },
  test_sampling: (reply) => ({ content: [text(`LLM response: ${reply}`)] }),
  test_elicitation: (result) => ({ content: [text(`User response: ${elicitationOutcome(result)}`)] }),
  test_elicitation_sep1034_defaults: (result) => formCompleted(result),
  test_elicitation_sep1330_enums: (result) => formCompleted(result),
  test_reconnection: () => ({
    content: [text('Reconnection test completed: the result was delivered after the client resumed.')],
  }),
  json_schema_2020_12_tool: (args) => ({ content: [text(`Received: ${JSON.stringify(args)}`)] }),
};

// --- resources ----------------------------------------------------------------------------

// What resources/read answers for each resource, by resource name.
export const RESOURCE_CONTENTS = {
  'static-text': (uri) => ({
    contents: [{ uri, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }],
  }),
  'static-binary': (uri) => ({ contents: [{ uri, mimeType: 'image/png', blob: PNG_BASE64 }] }),
  'watched-resource': (uri) => ({ contents: [{ uri, mimeType: 'text/plain', text: 'Watched resource content' }] }),
  // test://template/{id}/data
  'template-data': (uri, id) => ({
    contents: [
      {
        uri,
        mimeType: 'application/json',
        text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
      },
    ],
  }),
};

// --- prompts ------------------------------------------------------------------------------

// What prompts/get answers for each prompt, by prompt name.
export const PROMPT_MESSAGES = {
  test_simple_prompt: () => ({ messages: [{ role: 'user', content: text('This is a simple prompt for testing.') }] }),
  test_prompt_with_arguments: (arg1, arg2) => ({
    messages: [{ role: 'user', content: text(`Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`) }],
  }),
  test_prompt_with_embedded_resource: (resourceUri) => ({
    messages: [
      {
        role: 'user',
        content: {
          type: 'resource',
          resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' },
        },
      },
      { role: 'user', content: text('Please process the embedded resource above.') },
    ],
  }),
  test_prompt_with_image: () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: PNG_BASE64, mimeType: 'image/png' } },
      { role: 'user', content: text('Please analyze the image above.') },
    ],
  }),
};

// --- completions --------------------------------------------------------------------------

const COMPLETIONS = {
  arg1: ['paris', 'park', 'party', 'test-value'],
  arg2: ['alpha', 'beta', 'gamma'],
};

// completion/complete for the prompt argument `name` typed so far as `value`.
export function complete(name, value) {
  const prefix = String(value ?? '');
  const values = (COMPLETIONS[name] ?? []).filter((v) => v.startsWith(prefix));
  return { completion: { values, total: values.length, hasMore: false } };
}

// --- resumable SSE streams (2025-11-25 sessions) ------------------------------------------

// In-memory event log for resuming a closed SSE stream with Last-Event-ID; event ids are
// `<streamId>/<seq>`. A message `isLost(streamId, message)` picks out is not stored: it gets
// an id no replay ever names.
export function createEventStore(isLost = () => false) {
  const events = [];
  let seq = 0;
  let lost = 0;
  return {
    async storeEvent(streamId, message) {
      if (isLost(streamId, message)) return `${streamId}/lost-${++lost}`;
      const eventId = `${streamId}/${++seq}`;
      events.push({ eventId, streamId, seq, message });
      return eventId;
    },
    async getStreamIdForEventId(eventId) {
      return events.find((e) => e.eventId === eventId)?.streamId;
    },
    async replayEventsAfter(lastEventId, { send }) {
      const last = events.find((e) => e.eventId === lastEventId);
      if (!last) throw new Error(`unknown event id ${lastEventId}`);
      for (const e of events) {
        // Priming events carry an empty message and have nothing to replay.
        if (e.streamId === last.streamId && e.seq > last.seq && Object.keys(e.message).length > 0) {
          await send(e.eventId, e.message);
        }
      }
      return last.streamId;
    },
  };
}
