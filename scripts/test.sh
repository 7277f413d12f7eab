#!/usr/bin/env bash
# Installs what is missing, builds slod twice (release with -Werror, and ASan+UBSan), and runs every
# test: unit, fuzz-corpus replay, conformance and integration (real Prometheus, Alertmanager, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
jobs=$(nproc)

echo "== release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSLOD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"

echo "== ASan+UBSan build"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSLOD_SANITIZE=address,undefined -DSLOD_JEMALLOC=OFF \
  -DSLOD_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"

echo "== every test under ASan+UBSan (unit, fuzz corpora, conformance, integration with the ASan binary)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -j"$jobs" --output-on-failure)

echo "== all tests (release build)"
(cd build && ctest -j"$jobs" --output-on-failure)
