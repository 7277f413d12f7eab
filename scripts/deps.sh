#!/usr/bin/env bash
# Installs what slod needs on Debian 12 (as root), only what is missing.
#   scripts/deps.sh          build dependencies
#   scripts/deps.sh test     plus the test peers (prometheus, alertmanager, clang for fuzzing, ...)
#   scripts/deps.sh bench    plus the benchmark peers (victoria-metrics)
set -euo pipefail
pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libsnappy-dev libprotobuf-c-dev protobuf-c-compiler
      libyaml-dev libjemalloc-dev libcmocka-dev libcurl4-openssl-dev libpcre2-dev libxxhash-dev libssl-dev curl python3
      prometheus)
case "${1:-}" in
  test)  pkgs+=(clang libclang-rt-14-dev prometheus-alertmanager procps chromium fonts-dejavu-core)
         # the web test's driver runs on Node (>= 18; Debian 12 has 18.19); keep a Node that is there
         command -v npm >/dev/null || pkgs+=(nodejs npm) ;;
  bench) pkgs+=(clang prometheus-alertmanager victoria-metrics procps time) ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
