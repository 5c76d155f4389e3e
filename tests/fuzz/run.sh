#!/usr/bin/env bash
# Builds the request-decoding fuzzer with clang (-fsanitize=fuzzer,address,undefined)
# and runs it for a bounded time (FUZZ_SECONDS, default 60). Exit code != 0 on a crash.
set -euo pipefail
BUILD_DIR=${1:-build}
SECONDS_TO_RUN=${FUZZ_SECONDS:-60}
cd "$(dirname "$0")/../.."
OUT="$BUILD_DIR/fuzz"
mkdir -p "$OUT/corpus"
GEN="$BUILD_DIR/gen"
SRCS=(tests/fuzz/request_fuzzer.cc src/protocol/wire.cc src/protocol/record_batch.cc src/protocol/compression.cc
      src/base/crc32c.cc src/base/error_code.cc "$GEN"/protocol/api_registry.cc "$GEN"/protocol/any_request.cc
      "$GEN"/protocol/messages/*.cc)
FLAGS=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc -I"$GEN")
# Compile objects in parallel (the generated codecs are many small files), then link.
mkdir -p "$OUT/obj"
objs=()
for s in "${SRCS[@]}"; do objs+=("$OUT/obj/$(echo "$s" | tr '/' '_').o"); done
for s in "${SRCS[@]}"; do
  o="$OUT/obj/$(echo "$s" | tr '/' '_').o"
  if [[ ! -f "$o" || "$s" -nt "$o" ]]; then echo "$s $o"; fi
done | xargs -r -P "$(nproc)" -n 2 sh -c 'clang++ '"${FLAGS[*]}"' -c "$0" -o "$1"'
clang++ "${FLAGS[@]}" "${objs[@]}" -o "$OUT/request_fuzzer" $(pkg-config --libs libisal liblz4 libzstd snappy) -lz
# Seed corpus: the golden request frames of the unit tests are bodies; a few headers are enough to start.
printf '\x00\x12\x00\x03\x00\x00\x00\x01\x00\x04kcat\x00\x04kcat\x061.7.1\x00' > "$OUT/corpus/apiversions-v3"
printf '\x00\x03\x00\x04\x00\x00\x00\x02\x00\x01c\x00\x00\x00\x01\x00\x01t\x01' > "$OUT/corpus/metadata-v4"
echo "fuzzing request decoding for ${SECONDS_TO_RUN}s"
"$OUT/request_fuzzer" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -rss_limit_mb=1024 -print_final_stats=1 \
  "$OUT/corpus" 2>&1 | tail -12
