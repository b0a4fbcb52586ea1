'use strict';
// Test-only extension for Hyperion's e2e: registers a chat model with vscode.lm whose answers
// come from script.js, and appends one JSON line per request (who asked, which tools were
// offered, the tool results it was sent, what it answered) to `hyperionE2eLm.logFile`.
const fs = require('node:fs');
const vscode = require('vscode');
const { answerFor } = require('./script');

const MODEL = {
  id: 'scripted-model',
  name: 'Scripted Model',
  family: 'scripted',
  version: '1',
  maxInputTokens: 200000,
  maxOutputTokens: 16000,
  capabilities: { toolCalling: true, imageInput: false },
};

function partText(part) {
  if (part instanceof vscode.LanguageModelTextPart) return part.value;
  if (part instanceof vscode.LanguageModelToolResultPart) return part.content.map(partText).join('');
  return '';
}

function summarize(messages, options) {
  let text = '';
  const toolResults = [];
  for (const m of messages) {
    for (const part of m.content) {
      if (part instanceof vscode.LanguageModelToolResultPart) toolResults.push({ callId: part.callId, text: partText(part) });
      else text += `${partText(part)}\n`;
    }
  }
  return { text, tools: (options.tools ?? []).map((t) => t.name), toolResults };
}

function record(entry) {
  const file = vscode.workspace.getConfiguration('hyperionE2eLm').get('logFile');
  if (file) fs.appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

let calls = 0;

function activate(context) {
  record({ event: 'activated', vscode: vscode.version });
  context.subscriptions.push(vscode.lm.registerLanguageModelChatProvider('hyperion-e2e', {
    provideLanguageModelChatInformation() {
      return [MODEL];
    },
    async provideLanguageModelChatResponse(model, messages, options, progress) {
      const req = summarize(messages, options);
      const a = answerFor({ text: req.text, tools: req.tools, toolResults: req.toolResults.length });
      const callId = `call-${++calls}`;
      if (a.toolCall) progress.report(new vscode.LanguageModelToolCallPart(callId, a.toolCall.name, a.toolCall.input));
      else {
        // In two parts, so the caller has to join a streamed answer.
        const half = Math.ceil(a.text.length / 2);
        progress.report(new vscode.LanguageModelTextPart(a.text.slice(0, half)));
        progress.report(new vscode.LanguageModelTextPart(a.text.slice(half)));
      }
      record({
        event: 'request', model: model.id, from: options.requestInitiator, role: a.role, tools: req.tools,
        toolResults: req.toolResults,
        // What the reviewer was told about the check the developer ran (Hyperion's prompt heading).
        check: /## The check[^\n]*\n([^\n]*)/.exec(req.text)?.[1],
        answer: a.toolCall ? { toolCall: a.toolCall.name, callId } : { text: a.text.slice(0, 200) },
      });
    },
    provideTokenCount(model, text) {
      const s = typeof text === 'string' ? text : text.content.map(partText).join('');
      return Math.ceil(s.length / 4);
    },
  }));
}

function deactivate() {}

module.exports = { activate, deactivate };
