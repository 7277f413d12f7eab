#!/usr/bin/env bash
# slo.promtool: every rule file slod generates must pass `promtool check rules` (Prometheus 2.42).
# Usage: promtool_check.sh SLO_CLI SLOTH_CONFORMANCE_DIR EXAMPLES_DIR
# Multi-document outputs are split at their `---` lines first (promtool reads one document per file).
set -euo pipefail
cli=$1 sloth=$2 examples=$3
promtool=${PROMTOOL:-$(command -v promtool || echo /usr/bin/promtool)}
[ -x "$promtool" ] || { echo "promtool not found (Debian package prometheus)"; echo "0 passed, 1 failed"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

check() { # name, generate args...
  local name=$1; shift
  local out="$work/$name.yaml"
  if ! "$cli" generate "$@" -o "$out" 2>"$work/$name.err"; then
    echo "FAIL $name: generate failed: $(cat "$work/$name.err")"; failed=$((failed + 1)); return
  fi
  # Split into one file per YAML document.
  awk -v base="$work/$name.part" 'BEGIN{n=0; f=base n ".yaml"} /^---$/{n++; f=base n ".yaml"; next} {print > f}' "$out"
  local ok=1 parts=0
  for p in "$work/$name".part*.yaml; do
    grep -q '^groups:' "$p" || continue
    parts=$((parts + 1))
    if ! "$promtool" check rules "$p" >"$work/$name.promtool" 2>&1; then
      ok=0; echo "FAIL $name ($p):"; cat "$work/$name.promtool"
    fi
  done
  if [ "$ok" = 1 ] && [ "$parts" -gt 0 ]; then
    echo "PASS $name ($parts rule files)"; passed=$((passed + 1))
  else
    [ "$parts" -gt 0 ] || echo "FAIL $name: no rule groups generated"
    failed=$((failed + 1))
  fi
}

td=$sloth/testdata
check base -i "$td/in-base.yaml"
check base-k8s-as-rules -i "$td/in-base-k8s.yaml" --output-format prometheus
check no-alerts -i "$td/in-base.yaml" --disable-alerts
check no-recordings -i "$td/in-base.yaml" --disable-recordings
check extra-labels -i "$td/in-base.yaml" -l exk1=exv1 -l exk2=exv2
check multifile -i "$td/in-multifile.yaml"
check multifile-k8s-as-rules -i "$td/in-multifile-k8s.yaml" --output-format=prometheus
check openslo -i "$td/in-openslo.yaml"
check base-28d -i "$td/in-base.yaml" --default-slo-period 28d
check custom-windows-7d -i "$td/in-base.yaml" --default-slo-period 7d --slo-period-windows-path "$sloth/windows"
own=$(dirname "$0")/golden
check pyrra-as-rules -i "$own/in-pyrra.yaml" --output-format prometheus
check openslo-v1 -i "$own/in-openslo-v1.yaml"
for ex in "$examples"/*.yaml; do
  check "example-$(basename "$ex" .yaml)" -i "$ex" --output-format prometheus
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
