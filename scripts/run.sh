#!/usr/bin/env bash
# Installs what is missing, builds slod and runs it on the embedded default: example SLOs, data in
# ./slod-data, listening on 127.0.0.1:9099.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
exec ./build/slod serve "$@"
