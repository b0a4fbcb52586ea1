// A small OpenAI-wire-protocol server on 127.0.0.1 for the e2e run. It answers by what the
// engine asks for (`response_format.json_schema.name`: plan, agent_action, review; a developer
// request that offers `tools` gets native tool calls, loopbackTools.mjs) and refuses any key
// but the expected one with HTTP 401, like a real provider.
import http from 'node:http';
import { offersDeveloperTools, toolAnswer, toolCallDeltas, wireCalls } from './loopbackTools.mjs';

export const HOSTILE_TITLE = '<img src=x onerror=alert(1)>';
export const GOAL = 'Add a greeting module with docs and a test';

export const PLAN = {
  goal: GOAL,
  rationale: 'The module comes first; its test builds on it. The docs are independent.',
  confidence: 0.9,
  questions: [],
  assumptions: [],
  tasks: [
    { id: 't1', title: 'Add greet() to src/greet.js', type: 'code_gen', prompt: 'Create src/greet.js exporting greet(name).', acceptanceCriteria: ['greet("Ada") returns "Hello, Ada!"'], dependsOn: [], files: ['src/greet.js'] },
    { id: 't2', title: HOSTILE_TITLE, type: 'docs', prompt: 'Document greet in docs/greet.md.', acceptanceCriteria: [], dependsOn: [], files: ['docs/greet.md'] },
    { id: 't3', title: 'Test greet()', type: 'test', prompt: 'Add test/greet.test.js.', acceptanceCriteria: [], dependsOn: ['t1'], files: ['test/greet.test.js'] },
  ],
};

const FILES = {
  t1: [{ path: 'src/greet.js', content: "'use strict';\n\nfunction greet(name) {\n  return `Hello, ${name}!`;\n}\n\nmodule.exports = { greet };\n" }],
  t2: [{ path: 'docs/greet.md', content: '# greet\n\n`greet(name)` returns a greeting.\n' }],
  t3: [{ path: 'test/greet.test.js', content: "'use strict';\nconst test = require('node:test');\nconst assert = require('node:assert');\nconst { greet } = require('../src/greet');\n\ntest('greets', () => assert.strictEqual(greet('Ada'), 'Hello, Ada!'));\n" }],
};

// Issue 9's paths. "Polish the docs": d1 edits README.md (the user has an uncommitted edit
// there, so it is blocked until the user reverts it), d2 adds a page whose check fails
// while the e2e's marker file exists. "Two headlines": h1 and h2 rewrite the same README
// line, so whichever lands second conflicts and is regenerated on the new base.
export const GOAL_DOCS = 'Polish the docs: a README headline and a usage page';
export const GOAL_CONFLICT = 'Give the README two competing headlines';

const task = (id, title, files, dependsOn = []) => ({ id, title, type: 'docs', prompt: `Edit ${files.join(', ')}.`, acceptanceCriteria: [], dependsOn, files });

export const PLAN_DOCS = {
  goal: GOAL_DOCS, rationale: 'Two independent edits.', confidence: 0.9, questions: [], assumptions: [],
  tasks: [task('d1', 'Retitle the README', ['README.md']), task('d2', 'Add a usage page', ['docs/usage.md'])],
};
export const PLAN_CONFLICT = {
  goal: GOAL_CONFLICT, rationale: 'Both edit the same line on purpose.', confidence: 0.9, questions: [], assumptions: [],
  tasks: [task('h1', 'Headline one', ['README.md']), task('h2', 'Headline two', ['README.md'])],
};
FILES.d1 = [{ path: 'README.md', content: '# greeting sample\n\nSay hello with greet().\n' }];
export const USAGE_PAGE = '# Usage\n\n`greet("Ada")`\n';
FILES.d2 = [{ path: 'docs/usage.md', content: USAGE_PAGE }];
FILES.h1 = [{ path: 'README.md', content: '# greeting sample: headline one\n\nSay hello with greet().\n' }];
FILES.h2 = [{ path: 'README.md', content: '# greeting sample: headline two\n\nSay hello with greet().\n' }];

// Issue 10: one task of a type that the e2e routes to the real Claude Code (Select Models),
// which writes the file itself in its worktree; this server only plans and reviews it.
export const GOAL_AGENT = 'Leave a note written by Claude Code';
export const AGENT_TASK_TITLE = 'Add a note by Claude Code';
export const PLAN_AGENT = {
  goal: GOAL_AGENT, rationale: 'One task for the coding agent.', confidence: 0.9, questions: [], assumptions: [],
  tasks: [{ id: 'a1', title: AGENT_TASK_TITLE, type: 'optimize', prompt: 'Create notes/agent.txt.', acceptanceCriteria: [], dependsOn: [], files: ['notes/agent.txt'] }],
};
// Issue 12's draft plan: the planner states an assumption, so under the default
// hyperion.planReview (whenUnclear) the plan waits as a draft. e1 → e2 → e3 is a chain, so
// one more edge e3 → e1 makes a cycle.
export const GOAL_DRAFT = 'Write three linked notes';
export const PLAN_DRAFT = {
  goal: GOAL_DRAFT, rationale: 'A chain of notes.', confidence: 0.6, questions: [], assumptions: ['notes live in notes/'],
  tasks: [task('e1', 'Write the notes index', ['notes/index.md']), task('e2', 'Write note A', ['notes/a.md'], ['e1']), task('e3', 'Write note B', ['notes/b.md'], ['e2'])],
};
FILES.e1 = [{ path: 'notes/index.md', content: '# Notes\n\n- a\n- b\n' }];
FILES.e2 = [{ path: 'notes/a.md', content: '# A\n\nFirst note.\n' }];
FILES.e3 = [{ path: 'notes/b.md', content: '# B\n' }];
// Issue 12's review paths. "Review the notes": r1 edits three far-apart lines of notes.txt (three
// hunks, two of which the e2e accepts inline); r2 writes a changelog, and writes it again
// differently once its prompt carries the reviewer's comment (Request Changes).
export const GOAL_REVIEW = 'Review the notes and write a changelog';
export const REVIEW_COMMENT = 'Please mention the inline review in the changelog';
export const NOTES_BASE = Array.from({ length: 30 }, (_, i) => `note ${i + 1}`).join('\n') + '\n';
const notesWith = (lines) => Array.from({ length: 30 }, (_, i) => lines[i + 1] ?? `note ${i + 1}`).join('\n') + '\n';
export const NOTES_EDITED = notesWith({ 3: 'NOTE THREE', 15: 'NOTE FIFTEEN', 27: 'NOTE TWENTY-SEVEN' });
/** What lands when the e2e accepts hunks 1 and 3 and rejects hunk 2. */
export const NOTES_PARTLY = notesWith({ 3: 'NOTE THREE', 27: 'NOTE TWENTY-SEVEN' });
export const CHANGELOG_V1 = '# Changelog\n\n- Notes were edited.\n';
export const CHANGELOG_V2 = '# Changelog\n\n- Notes were edited.\n- Reviewed hunk by hunk with the inline review.\n';
export const PLAN_REVIEW = {
  goal: GOAL_REVIEW, rationale: 'Two independent edits.', confidence: 0.9, questions: [], assumptions: [],
  tasks: [task('r1', 'Edit three notes', ['notes.txt']), task('r2', 'Write the changelog', ['CHANGELOG.md'])],
};
FILES.r1 = [{ path: 'notes.txt', content: NOTES_EDITED }];
FILES.r2 = [{ path: 'CHANGELOG.md', content: CHANGELOG_V1 }];
// Issue 11: one task the tool developer does while the e2e watches its row and its change
// (docs/usage.md is d2's page, landed by then: the developer edits it in place).
export const GOAL_TOOLS = 'Tell in the usage page what greet returns';
export const TOOLS_TASK_TITLE = 'Say what greet returns';
export const PLAN_TOOLS = {
  goal: GOAL_TOOLS, rationale: 'One edit.', confidence: 0.9, questions: [], assumptions: [],
  tasks: [task('w1', TOOLS_TASK_TITLE, ['docs/usage.md'])],
};
FILES.w1 = [{ path: 'docs/usage.md', content: '# Usage\n\n`greet("Ada")` returns `"Hello, Ada!"`.\n' }];

function answerFor(body) {
  const schema = body?.response_format?.json_schema?.name ?? '';
  const text = (body?.messages ?? []).map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
  if (schema.includes('plan') || /planner/i.test(text.slice(0, 400))) {
    if (text.includes(GOAL_DOCS)) return PLAN_DOCS;
    if (text.includes(GOAL_CONFLICT)) return PLAN_CONFLICT;
    if (text.includes(GOAL_AGENT)) return PLAN_AGENT;
    if (text.includes(GOAL_DRAFT)) return PLAN_DRAFT;
    if (text.includes(GOAL_REVIEW)) return PLAN_REVIEW;
    if (text.includes(GOAL_TOOLS)) return PLAN_TOOLS;
    return PLAN;
  }
  if (schema.includes('review')) return { verdict: 'approve', comments: 'Looks right.' };
  return { action: 'finish', ...scriptedChange(text) };
}

/** The developer's scripted change for the subtask the prompt names: `{ summary, files }`. */
function scriptedChange(text) {
  const m = /# Subtask (\S+):/.exec(text);
  const id = m ? m[1] : 't1';
  if (id === 'r2' && text.includes(REVIEW_COMMENT)) return { summary: 'Mentioned the inline review in the changelog, as the comment asked.', files: [{ path: 'CHANGELOG.md', content: CHANGELOG_V2 }] };
  return { summary: `Done ${id}.`, files: FILES[id] ?? FILES.t1 };
}

/** The developer's answer to a request that offers tools, as native tool calls (loopbackTools.mjs). */
function toolCallsFor(body) {
  const text = (body?.messages ?? []).map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
  const turn = (body?.messages ?? []).filter((m) => m.role === 'assistant' && m.tool_calls?.length).length;
  const { toolCalls } = toolAnswer(body, scriptedChange(text), (line) => process.stdout.write(`[e2e] ${line}\n`));
  return wireCalls(toolCalls, turn);
}

/** Starts the server; `requests` records role and auth of each call (and the tool calls answered) for the test's asserts. */
export function startLoopback({ key }) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      let body;
      try { body = JSON.parse(raw || '{}'); } catch { body = {}; }
      const auth = req.headers.authorization ?? '';
      const ok = auth === `Bearer ${key}`;
      requests.push({ path: req.url, ok, schema: body?.response_format?.json_schema?.name, tools: offersDeveloperTools(body) });
      if (!req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'not found' } }));
        return;
      }
      if (!ok) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } }));
        return;
      }
      const calls = offersDeveloperTools(body) ? toolCallsFor(body) : undefined;
      if (calls) requests[requests.length - 1].calls = calls.map((c) => c.function.name);
      const content = calls ? null : JSON.stringify(answerFor(body));
      const created = Math.floor(Date.now() / 1000);
      const usage = { prompt_tokens: 1000, completion_tokens: 200, total_tokens: 1200 };
      const finishReason = calls ? 'tool_calls' : 'stop';
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        const frame = (delta, finish) => `data: ${JSON.stringify({ id: 'chatcmpl-e2e', object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        res.write(frame({ role: 'assistant', content: calls ? null : '' }, null));
        if (calls) for (const d of toolCallDeltas(calls)) res.write(frame(d, null));
        else for (let i = 0; i < content.length; i += 200) res.write(frame({ content: content.slice(i, i + 200) }, null));
        res.write(frame({}, finishReason));
        if (body.stream_options?.include_usage) res.write(`data: ${JSON.stringify({ id: 'chatcmpl-e2e', object: 'chat.completion.chunk', created, model: body.model, choices: [], usage })}\n\n`);
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'chatcmpl-e2e', object: 'chat.completion', created, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, ...(calls ? { tool_calls: calls } : {}) }, finish_reason: finishReason, logprobs: null }], usage }));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}/v1`, requests, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }) });
    });
  });
}
