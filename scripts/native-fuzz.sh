#!/usr/bin/env bash
# Builds the NFQUEUE receive parser's fuzzer with AddressSanitizer + UndefinedBehaviorSanitizer and
# runs it: scripts/native-fuzz.sh [ITERATIONS=10000000] [SEED=1] [OUT_DIR=build/native-fuzz]
# (native/nfqueue/fuzz/parse-fuzz.cc; figures in docs/benchmarks.md). Exit status: the fuzzer's.
set -euo pipefail
cd "$(dirname "$0")/.."
iterations="${1:-10000000}"
seed="${2:-1}"
out="${3:-build/native-fuzz}"
mkdir -p "$out"
g++ -std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
  -Wall -Wextra -o "$out/parse-fuzz" native/nfqueue/fuzz/parse-fuzz.cc
ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$out/parse-fuzz" "$iterations" "$seed"
