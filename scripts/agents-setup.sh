#!/bin/sh
# Installs the real coding agents (Claude Code, Codex CLI, GitHub Copilot CLI) into a cache
# folder outside the project, for the tests that run them. About 800 MB from the npm registry,
# so it is done once per machine: a second run only checks that the binaries answer --version.
# Prints the binary paths, one per line: claude, codex, then copilot.
set -eu
CACHE="${HYPERION_AGENTS_CACHE:-$HOME/.cache/hyperion-agents}"
DIR="$CACHE/agents"
CLAUDE="$DIR/node_modules/.bin/claude"
CODEX="$DIR/node_modules/.bin/codex"
COPILOT="$DIR/node_modules/.bin/copilot"
# Pinned: the tests script these versions' tool calls, and a newer Claude Code behaves
# differently against the same loopback conversation (2.1.332 did). Bump both together.
CLAUDE_VERSION=2.1.197
CODEX_VERSION=0.171.0
# Copilot CLI runs in the tests in its bring-your-own-key mode (no GitHub login); its --help
# is checked for every flag Hyperion passes.
COPILOT_VERSION=1.0.102
if ! "$CLAUDE" --version 2>/dev/null | grep -q "^$CLAUDE_VERSION " || ! "$CODEX" --version 2>/dev/null | grep -q " $CODEX_VERSION\$" \
  || ! "$COPILOT" --version 2>/dev/null | grep -q "^GitHub Copilot CLI $COPILOT_VERSION\.\$"; then
  mkdir -p "$DIR"
  cd "$DIR"
  [ -f package.json ] || npm init -y >/dev/null
  npm install --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$CLAUDE_VERSION" "@openai/codex@$CODEX_VERSION" "@github/copilot@$COPILOT_VERSION" >&2
  "$CLAUDE" --version >&2
  "$CODEX" --version >&2
  "$COPILOT" --version >&2
fi
echo "$CLAUDE"
echo "$CODEX"
echo "$COPILOT"
