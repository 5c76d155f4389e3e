#!/usr/bin/env bash
# tests/build/layering_check.sh BUILD_DIR — proves the build enforces the module map
# (docs: CMakeLists.txt, "include directories follow the link graph"):
#  1. includes: a probe file is compiled with the real compile command of a source of a lower
#     module (from BUILD_DIR/compile_commands.json); an include of a higher module's header must
#     fail with "No such file", and the same probe including an allowed header must compile
#     (the control, so this check can fail);
#  2. no source under src/ escapes the include path with `#include "../`;
#  3. links: no library uses a symbol defined by a samsa library outside its link closure
#     (the folders in BUILD_DIR/include/<library>/, which CMake derives from the link graph).
# Exit code != 0 on the first broken rule; needs a configured and built BUILD_DIR.
set -euo pipefail
BUILD_DIR=${1:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
DB="$BUILD_DIR/compile_commands.json"
[[ -f "$DB" ]] || { echo "layering: $DB missing (configure first)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0
fail() { echo "layering: FAIL: $*" >&2; failures=$((failures + 1)); }

# compile_probe MODULE HEADER: compiles `#include "HEADER"` with the flags of MODULE's first
# source; prints the compiler's output, returns its exit code.
compile_probe() {
  local module=$1 header=$2 probe="$TMP/probe_${1}.cc"
  printf '#include "%s"\nint samsa_layering_probe;\n' "$header" > "$probe"
  python3 - "$DB" "$ROOT/src/$module/" "$probe" "/CMakeFiles/samsa_$module.dir/Unity/" <<'PY'
import json, os, shlex, subprocess, sys
db, prefix, probe, unity = sys.argv[1:]
# A unity build (SAMSA_UNITY_BUILD) compiles the module's batches, not its sources: their flags serve.
entries = sorted((e for e in json.load(open(db)) if e["file"].startswith(prefix) or unity in e["file"]),
                 key=lambda e: e["file"])
if not entries:
    print(f"no compile command for a source under {prefix}")
    sys.exit(2)
e = entries[0]
args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
args = [a for a in args if not a.endswith("ccache")]  # the launcher, if any
out = []
skip = False
for a in args:  # drop "-o OBJ", "-c SRC" and the dependency-file flags; compile the probe instead
    if skip:
        skip = False
        continue
    if a in ("-o", "-c", "-MF", "-MT", "-MQ"):
        skip = True
        continue
    if a in ("-MD", "-MMD") or a == e["file"]:
        continue
    out.append(a)
r = subprocess.run(out + ["-fsyntax-only", probe], cwd=e["directory"], capture_output=True, text=True)
sys.stdout.write(r.stdout + r.stderr)
sys.exit(r.returncode)
PY
}

# expect_blocked MODULE HEADER / expect_allowed MODULE HEADER
expect_blocked() {
  local out rc=0
  out=$(compile_probe "$1" "$2" 2>&1) || rc=$?
  if (( rc == 0 )); then
    fail "src/$1 may include \"$2\" (a higher module): the include path does not enforce the map"
  elif ! grep -qF "$2: No such file" <<<"$out"; then
    # The header itself must be missing: a header that is found but fails on one of its own
    # includes would prove nothing about this folder's include path.
    fail "src/$1 including \"$2\" failed for another reason than that header missing:"$'\n'"$out"
  else
    echo "ok: src/$1 cannot include \"$2\""
  fi
}
expect_allowed() {
  local out rc=0
  out=$(compile_probe "$1" "$2" 2>&1) || rc=$?
  if (( rc != 0 )); then
    fail "src/$1 cannot include \"$2\", which it may (the control):"$'\n'"$out"
  else
    echo "ok: src/$1 can include \"$2\""
  fi
}

echo "== includes"
expect_blocked storage server/broker.h
expect_allowed storage protocol/wire.h
expect_blocked protocol storage/log.h
expect_allowed protocol base/crc32c.h
expect_blocked net server/broker.h
expect_allowed net protocol/wire.h
expect_blocked config cluster/metadata_records.h
expect_allowed config base/error_code.h
expect_blocked cli storage/log.h
expect_allowed cli protocol/record_batch.h

echo "== relative includes"
if escapes=$(grep -rn '#include "\.\./' "$ROOT/src"); then
  fail "sources reach past the include path with \"../\":"$'\n'"$escapes"
else
  echo "ok: no #include \"../ under src/"
fi

echo "== links"
# For each library: the symbols it needs that another samsa library defines must come from a
# library whose folder it may include.
for lib_dir in "$BUILD_DIR"/include/samsa_*/; do
  lib=$(basename "$lib_dir")
  archive="$BUILD_DIR/lib$lib.a"
  [[ -f "$archive" ]] || { fail "$archive not built"; continue; }
  nm --undefined-only "$archive" 2>/dev/null | awk '{print $NF}' | sort -u > "$TMP/undefined"
  for other_dir in "$BUILD_DIR"/include/samsa_*/; do
    other=$(basename "$other_dir")
    module=${other#samsa_}  # samsa_<folder>, as CMakeLists.txt names them
    [[ "$other" == "$lib" || -e "$lib_dir$module" ]] && continue
    nm --defined-only "$BUILD_DIR/lib$other.a" 2>/dev/null | awk '$2 ~ /^[TWVDBR]$/ {print $3}' | sort -u \
      > "$TMP/defined"
    used=$(comm -12 "$TMP/undefined" "$TMP/defined" | head -3)
    if [[ -n "$used" ]]; then
      fail "$lib uses symbols of $other, which it does not link:"$'\n'"$(c++filt <<<"$used")"
    fi
  done
  echo "ok: $lib uses only the libraries it links"
done

if (( failures > 0 )); then
  echo "layering: $failures rule(s) broken" >&2
  exit 1
fi
echo "layering: the build enforces the module map"
