#!/usr/bin/env bash
# integration.web: installs the test's npm packages (playwright-core only, pinned by
# package-lock.json; it never downloads a browser) into the build directory, then runs web.test.js
# against the given slod with Debian's Chromium. Exit status: that of the test.
#   tests/web/run.sh SLOD_BINARY NPM_DIR [SCREENSHOT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
slod="$1" npmdir="$2" shots="${3:-}"
for tool in node npm "${SLOD_CHROMIUM:-/usr/bin/chromium}"; do
  command -v "$tool" >/dev/null || { echo "integration.web: $tool is missing (bash scripts/deps.sh test installs it)" >&2; exit 1; }
done
mkdir -p "$npmdir"
if ! cmp -s "$here/package-lock.json" "$npmdir/package-lock.json" || [ ! -d "$npmdir/node_modules/playwright-core" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$npmdir/"
  (cd "$npmdir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
export NODE_PATH="$npmdir/node_modules"
exec node "$here/web.test.js" "$slod" $shots
