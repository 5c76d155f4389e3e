#!/usr/bin/env bash
# Builds the two libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# and runs each for a bounded time. FUZZ_SECONDS (default 60) is the total,
# split between them: request decoding (request_fuzzer) gets 2/3, record batches
# through produce validation and the storage log (records_fuzzer) 1/3.
# Exit code != 0 on a crash.
set -euo pipefail
BUILD_DIR=${1:-build}
SECONDS_TO_RUN=${FUZZ_SECONDS:-60}
cd "$(dirname "$0")/../.."
OUT="$BUILD_DIR/fuzz"
mkdir -p "$OUT/corpus" "$OUT/records-corpus"
GEN="$BUILD_DIR/gen"
COMMON=(src/protocol/wire.cc src/protocol/record_batch.cc src/protocol/compression.cc src/base/*.cc)
# The generated message codecs (no file-local names) compile as two translation units: one compiler
# run parses the shared headers once for dozens of files, which cuts this phase's build by minutes.
mkdir -p "$OUT/unity"
MESSAGES=("$GEN"/protocol/messages/*.cc)
HALF=$(( (${#MESSAGES[@]} + 1) / 2 ))
unity() {  # unity FILE SRCS...: a file that includes SRCS, rewritten only when its list changes
  local file=$1; shift
  local text="" s
  for s in "$@"; do text+="#include \"$(realpath "$s")\""$'\n'; done
  if [[ ! -f "$file" || "$(cat "$file")"$'\n' != "$text" ]]; then printf '%s' "$text" > "$file"; fi
}
unity "$OUT/unity/messages_0.cc" "${MESSAGES[@]:0:HALF}"
unity "$OUT/unity/messages_1.cc" "${MESSAGES[@]:HALF}"
REQUEST_SRCS=(tests/fuzz/request_fuzzer.cc "${COMMON[@]}" "$GEN"/protocol/api_registry.cc
              "$GEN"/protocol/any_request.cc "$OUT/unity/messages_0.cc" "$OUT/unity/messages_1.cc")
RECORDS_SRCS=(tests/fuzz/records_fuzzer.cc "${COMMON[@]}" src/protocol/legacy.cc src/storage/*.cc)
# Line tables only (-gline-tables-only): a sanitizer report still names files and lines.
FLAGS=(-std=c++20 -O1 -gline-tables-only -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Isrc -I"$GEN")
LIBS=($(pkg-config --libs libisal liblz4 libzstd snappy fmt spdlog) -lz)
obj() { echo "$OUT/obj/$(echo "$1" | tr '/' '_').o"; }
# stale SRC: its object is missing or older than it (or, for a unity file, than a file it includes).
stale() {
  local o; o=$(obj "$1")
  [[ ! -f "$o" || "$1" -nt "$o" ]] && return 0
  if [[ "$1" == "$OUT/unity/"* ]]; then
    local inc
    while read -r inc; do [[ "$inc" -nt "$o" ]] && return 0; done < <(sed -n 's/^#include "\(.*\)"$/\1/p' "$1")
  fi
  return 1
}
# build NAME SRCS...: compiles the objects in parallel (only what changed), then links.
build() {
  local name=$1; shift
  local objs=() s
  mkdir -p "$OUT/obj"
  for s in "$@"; do objs+=("$(obj "$s")"); done
  for s in "$@"; do
    if stale "$s"; then echo "$s $(obj "$s")"; fi
  done | xargs -r -P "$(nproc)" -n 2 sh -c 'clang++ '"${FLAGS[*]}"' -c "$0" -o "$1"'
  clang++ "${FLAGS[@]}" "${objs[@]}" -o "$OUT/$name" "${LIBS[@]}"
}
build request_fuzzer "${REQUEST_SRCS[@]}"
build records_fuzzer "${RECORDS_SRCS[@]}"

# Seed corpora: a few request headers; valid batches of every codec (written by the target itself).
printf '\x00\x12\x00\x03\x00\x00\x00\x01\x00\x04kcat\x00\x04kcat\x061.7.1\x00' > "$OUT/corpus/apiversions-v3"
printf '\x00\x03\x00\x04\x00\x00\x00\x02\x00\x01c\x00\x00\x00\x01\x00\x01t\x01' > "$OUT/corpus/metadata-v4"
RECORDS_FUZZER_SEED_DIR="$OUT/records-corpus" "$OUT/records_fuzzer" -runs=0 >/dev/null 2>&1

REQUEST_SECONDS=$(( SECONDS_TO_RUN * 2 / 3 ))
RECORDS_SECONDS=$(( SECONDS_TO_RUN - REQUEST_SECONDS ))
(( REQUEST_SECONDS >= 1 )) || REQUEST_SECONDS=1
(( RECORDS_SECONDS >= 1 )) || RECORDS_SECONDS=1
echo "fuzzing request decoding for ${REQUEST_SECONDS}s"
"$OUT/request_fuzzer" -max_total_time="$REQUEST_SECONDS" -max_len=4096 -rss_limit_mb=1024 -print_final_stats=1 \
  "$OUT/corpus" 2>&1 | tail -12
echo "fuzzing record batches (produce validation, log append/read) for ${RECORDS_SECONDS}s"
"$OUT/records_fuzzer" -max_total_time="$RECORDS_SECONDS" -max_len=8192 -rss_limit_mb=1024 -print_final_stats=1 \
  "$OUT/records-corpus" 2>&1 | tail -12
