#!/usr/bin/env bash
# slo.ext_promtool: rules generated from specs using slod's extensions (tests/slo/ext/*.yaml) pass
# `promtool check rules`. Usage: ext_promtool.sh SLO_CLI SPEC_DIR
set -euo pipefail
cli=$1 dir=$2
promtool=${PROMTOOL:-$(command -v promtool || echo /usr/bin/promtool)}
[ -x "$promtool" ] || { echo "promtool not found"; echo "0 passed, 1 failed"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
for f in "$dir"/*.yaml; do
  n=$(basename "$f" .yaml)
  if "$cli" generate -i "$f" --output-format prometheus -o "$work/$n.yml" 2>"$work/$n.err" &&
     awk 'NR>1 || !/^$/' "$work/$n.yml" | sed '/^---$/d' >"$work/$n.rules.yml" &&
     "$promtool" check rules "$work/$n.rules.yml" >"$work/$n.out" 2>&1; then
    echo "PASS $n"; passed=$((passed + 1))
  else
    echo "FAIL $n"; cat "$work/$n.err" "$work/$n.out" 2>/dev/null || true; failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
