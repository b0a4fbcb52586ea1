'use strict';
// The scripted model's answers, by what Hyperion asks: the planner's plan, the tool developer's
// turns (read, edit, run the tests, finish: one tool call a turn, chosen by how many tool
// results the conversation already holds), and the reviewer's verdict. Pure: the e2e imports
// the same constants to check what landed.

const GOAL = 'Make greet() end its greeting with an exclamation mark';
const TASK_ID = 'v1';
const TASK_TITLE = 'End the greeting with an exclamation mark';
const FILE = 'src/greet.js';
const BEFORE = 'return `Hello, ${name}.`;';
const AFTER = 'return `Hello, ${name}!`;';
const SUMMARY = 'greet() now ends with "!"; npm test passes.';

const PLAN = {
  goal: GOAL,
  rationale: 'One line in one file; the existing test says what is wanted.',
  confidence: 0.9,
  questions: [],
  assumptions: [],
  tasks: [{
    id: TASK_ID, title: TASK_TITLE, type: 'code_gen',
    prompt: `In ${FILE}, make greet(name) return "Hello, <name>!" so that test/greet.test.js passes.`,
    acceptanceCriteria: ['npm test passes'], dependsOn: [], files: [FILE],
  }],
};

/** The developer's turns, in order; the n-th answers a conversation holding n tool results. */
const DEVELOPER_TURNS = [
  { name: 'read_file', input: { path: FILE } },
  { name: 'edit_file', input: { path: FILE, old_string: BEFORE, new_string: AFTER } },
  { name: 'run_command', input: { command: 'npm test' } },
  { name: 'finish', input: { summary: SUMMARY } },
];

/**
 * `req`: { text (every text part, joined), tools (names offered), toolResults (count) }.
 * Returns { role, text } or { role, toolCall: { name, input } }.
 */
function answerFor(req) {
  if (req.text.includes('You are the planner')) return { role: 'planner', text: JSON.stringify(PLAN) };
  if (req.text.includes('You review one proposed change')) return { role: 'reviewer', text: JSON.stringify({ verdict: 'approve', comments: 'The greeting ends with "!" and the tests pass.' }) };
  if (req.tools.length > 0) {
    const turn = DEVELOPER_TURNS[Math.min(req.toolResults, DEVELOPER_TURNS.length - 1)];
    return { role: 'developer', toolCall: turn };
  }
  return { role: 'unknown', text: 'The scripted model has no answer for this request.' };
}

module.exports = { GOAL, TASK_ID, TASK_TITLE, FILE, BEFORE, AFTER, SUMMARY, answerFor };
