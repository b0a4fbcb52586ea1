// The e2e loopback's developer when the request offers `tools` (the tool developer, issue 11):
// it turns the scripted whole-file answer into native tool calls as a model would make them.
// Turn 1 edits: `edit_file` with exact, unique old_string for a file the task prompt shows
// (one call per hunk, so inline review still sees separate hunks), `write_file` for a new or
// unseen file, `delete_file` for a scripted deletion. Turn 2, after the tool results: `finish`,
// or a whole-file `write_file` for an edit the tool refused (said loudly in the log). A refused
// `finish` (the check failed) is answered with `finish` again, which hands the change in marked
// as failing its check. The server is stateless: each turn is read back from the conversation.

/** True when a Chat Completions request offers the developer's tools. */
export function offersDeveloperTools(body) {
  return Array.isArray(body?.tools) && body.tools.some((t) => t?.function?.name === 'finish');
}

/** Lines of a text, each with its own newline (the last one may have none). */
function linesOf(text) {
  return text === '' ? [] : text.split(/(?<=\n)/);
}

function count(text, needle) {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + 1)) n++;
  return n;
}

/** The changed regions between two line lists (longest common subsequence; the files are small). */
function hunks(a, b) {
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0;
  let j = 0;
  let open;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      if (open) out.push({ ...open, ae: i, be: j });
      open = undefined;
      i++;
      j++;
      continue;
    }
    open ??= { as: i, bs: j };
    if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) j++;
    else i++;
  }
  if (open) out.push({ ...open, ae: n, be: m });
  return out;
}

/**
 * `edit_file` inputs that turn `current` into `wanted`, bottom-up so each one's line numbers
 * still hold when it runs; each old_string grows by context lines until it matches exactly one
 * place in the text as it is at that moment. Undefined when that is not possible.
 */
export function editsFor(path, current, wanted) {
  let sim = linesOf(current);
  const want = linesOf(wanted);
  const edits = [];
  for (const h of hunks(sim, want).reverse()) {
    let from = h.as;
    let to = h.ae;
    let before = [];
    let after = [];
    const old = () => sim.slice(from, to).join('');
    while (old() === '' || count(sim.join(''), old()) !== 1) {
      if (from === 0 && to === sim.length) return undefined;
      // Context comes from the line above first (models quote the line they edit after).
      if (from > 0) { from--; before = [sim[from], ...before]; } else { after = [...after, sim[to]]; to++; }
    }
    const oldString = old();
    const newString = [...before, ...want.slice(h.bs, h.be), ...after].join('');
    edits.push({ path, old_string: oldString, new_string: newString });
    sim = [...sim.slice(0, from), ...linesOf(newString), ...sim.slice(to)];
  }
  return sim.join('') === wanted ? edits : undefined;
}

/** A file as the task prompt shows it ("### path" then a fenced block), or undefined when not shown whole. */
export function shownContent(prompt, path) {
  const head = `\n### ${path}\n`;
  const at = prompt.lastIndexOf(head);
  if (at < 0) return undefined;
  const rest = prompt.slice(at + head.length);
  if (rest.startsWith('(does not exist yet)')) return null;
  const fence = /^(```|~~~~)\n/.exec(rest);
  if (!fence) return undefined;
  const end = rest.indexOf(`\n${fence[1]}`, fence[0].length - 1);
  if (end < 0) return undefined;
  const body = rest.slice(fence[0].length, end + 1);
  // A cut file is not the whole file: the loopback writes it whole instead of editing it.
  return /\n… \(cut; use read_file for the rest\)\n$/.test(body) ? undefined : body;
}

/** The first turn: the scripted files as tool calls. */
function editCalls(prompt, files) {
  const calls = [];
  for (const f of files) {
    const current = shownContent(prompt, f.path);
    if (f.content === null) calls.push({ name: 'delete_file', input: { path: f.path } });
    else if (typeof current === 'string' && current === f.content) continue;
    else {
      const edits = typeof current === 'string' ? editsFor(f.path, current, f.content) : undefined;
      if (edits?.length) calls.push(...edits.map((input) => ({ name: 'edit_file', input })));
      else calls.push({ name: 'write_file', input: { path: f.path, content: f.content } });
    }
  }
  return calls;
}

const errorText = (m) => (typeof m?.content === 'string' && m.content.startsWith('Error: ') ? m.content : undefined);

/**
 * The answer to one developer request that offers tools: `{ toolCalls: [{ name, input }] }`.
 * `scripted` is the whole-file answer `{ summary, files: [{ path, content }] }` (content null
 * deletes); `log` gets every refused tool call, so a failure in the e2e says where it began.
 */
export function toolAnswer(body, scripted, log) {
  const messages = body?.messages ?? [];
  const prompt = messages.filter((m) => m.role === 'user' && typeof m.content === 'string').map((m) => m.content).join('\n');
  const lastCall = messages.map((m, i) => [m, i]).filter(([m]) => m.role === 'assistant' && m.tool_calls?.length).pop();
  const finish = { name: 'finish', input: { summary: scripted.summary } };
  if (!lastCall) {
    const calls = editCalls(prompt, scripted.files);
    return { toolCalls: calls.length ? calls : [finish] };
  }
  const [assistant, at] = lastCall;
  const results = new Map(messages.slice(at + 1).filter((m) => m.role === 'tool').map((m) => [m.tool_call_id, m]));
  const refused = assistant.tool_calls.map((c) => ({ call: c, error: errorText(results.get(c.id)) })).filter((r) => r.error);
  for (const r of refused) log(`loopback: ${r.call.function.name} was refused: ${r.error.slice(0, 300).replace(/\n/g, ' | ')}`);
  if (refused.some((r) => r.call.function.name === 'finish')) {
    log('loopback: finishing again after a refused finish (the change is handed in marked as failing its check)');
    return { toolCalls: [finish] };
  }
  // A refused edit is retried once as a whole-file write; a refused write or delete is not retried
  // (the step's content check then fails, after the line above in the log).
  const rewrite = new Map();
  for (const r of refused.filter((x) => x.call.function.name === 'edit_file')) {
    const path = JSON.parse(r.call.function.arguments || '{}').path;
    const f = scripted.files.find((x) => x.path === path && typeof x.content === 'string');
    if (f) rewrite.set(path, { name: 'write_file', input: { path, content: f.content } });
  }
  return { toolCalls: rewrite.size ? [...rewrite.values()] : [finish] };
}

/** Tool calls as Chat Completions `tool_calls`, with ids unique within the conversation. */
export function wireCalls(calls, turn) {
  return calls.map((c, i) => ({ id: `call_e2e_${turn}_${i}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.input) } }));
}

/**
 * The streamed frames' deltas for these calls, as the real API streams them: per call, a first
 * delta with index, id, type and name and empty arguments, then the arguments in fragments.
 */
export function toolCallDeltas(wire, fragment = 40) {
  const out = [];
  wire.forEach((c, index) => {
    out.push({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }] });
    for (let i = 0; i < c.function.arguments.length; i += fragment) out.push({ tool_calls: [{ index, function: { arguments: c.function.arguments.slice(i, i + fragment) } }] });
  });
  return out;
}
