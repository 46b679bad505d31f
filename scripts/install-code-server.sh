#!/usr/bin/env bash
# Installs code-server (a real VS Code, 1.100.3) under .cache/code-server for
# the editor end-to-end test. Only the npm registry is reachable here, so the
# two postinstall steps that would download are fed locally:
#  - @vscode/ripgrep fetches `rg` from GitHub: its cache is pre-seeded with
#    Debian's /usr/bin/rg under the file name it looks for;
#  - node-pty runs `npx node-gyp`, which npm cancels unless yes=true.
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.100.3
DEST="$PWD/.cache/code-server"
BIN="$DEST/node_modules/.bin/code-server"

if [[ -x "$BIN" ]] && [[ "$(cat "$DEST/.installed" 2>/dev/null)" == "$VERSION" ]]; then
  echo "$BIN"
  exit 0
fi

command -v rg >/dev/null || { echo "install-code-server: /usr/bin/rg missing; fix: apt-get install ripgrep (scripts/setup.sh)" >&2; exit 1; }

rm -rf "$DEST"
mkdir -p "$DEST"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# @vscode/ripgrep 1.15.x looks for this exact archive in $TMPDIR before downloading.
mkdir -p "$tmp/vscode-ripgrep-cache-1.15.11" "$tmp/rg"
cp "$(command -v rg)" "$tmp/rg/rg"
tar -C "$tmp/rg" -czf "$tmp/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" rg

echo '{"name":"vtopo-code-server","private":true}' > "$DEST/package.json"
(
  cd "$DEST"
  TMPDIR="$tmp" npm_config_yes=true npm install "code-server@$VERSION" \
    --unsafe-perm --foreground-scripts --no-audit --no-fund --no-save --loglevel=error >"$tmp/npm.log" 2>&1 \
    || { tail -40 "$tmp/npm.log" >&2; echo "install-code-server: npm install code-server@$VERSION failed (log above); fix: check npm registry access and that libkrb5-dev is installed" >&2; exit 1; }
)
[[ -x "$BIN" ]] || { echo "install-code-server: $BIN missing after install" >&2; exit 1; }
echo "$VERSION" > "$DEST/.installed"
echo "$BIN"
