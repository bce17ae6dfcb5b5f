#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ and runs each for a bounded time.
#
#   tools/fuzz.sh [SECONDS-PER-TARGET] [TARGET...]
#
# SECONDS-PER-TARGET defaults to 22 (the four targets then take about 90 s, build excluded);
# 0 only replays each target's committed corpus (seeds and regressions/) once. TARGETs are
# stored-event, command-json, import-csv, program-rules (default: all four). LOYALTY_FUZZ_SEED=N
# fixes libFuzzer's random seed.
#
# The targets are built with swiftc directly (not SwiftPM), into .build-fuzz: ByteCodec, LedgerJSON
# and LoyaltyDomain as static libraries instrumented for libFuzzer and AddressSanitizer, then one
# executable per target from Fuzz/<Target>.swift, Fuzz/Support/ and the product files it tests
# (the record codec of LedgerStore; the import parser of LoyaltyLedger, whose files
# `import_parser_files` names depend on LedgerJSON and LoyaltyDomain only).
# libFuzzer writes what it discovers into .build-fuzz/corpus/<target>, never into Fuzz/corpus.
# Exits non-zero when any target crashed, timed out or ran out of memory, naming the input.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-22}
[[ $# -gt 0 ]] && shift
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(stored-event command-json import-csv program-rules)
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS-PER-TARGET must be a whole number, not '$seconds'" >&2; exit 2; }

scratch=.build-fuzz
mkdir -p "$scratch/modules" "$scratch/lib" "$scratch/bin" "$scratch/gen"
flags=(-swift-version 6 -parse-as-library -enable-upcoming-feature InternalImportsByDefault
       -enable-upcoming-feature ExistentialAny -sanitize=fuzzer,address -g -O -enable-testing -package-name LoyaltyLedger)

# True when $1 is missing or older than any of the other files.
stale() {
  local out=$1; shift
  [[ -e $out ]] || return 0
  local f
  for f in "$@"; do [[ $f -nt $out ]] && return 0; done
  return 1
}

# swiftc, quiet unless it fails.
compile() {
  local log="$scratch/compile.log"
  if ! swiftc "$@" >"$log" 2>&1; then cat "$log" >&2; echo "fuzz.sh: build failed" >&2; exit 2; fi
}

library() {  # library NAME DEPENDENCY-STAMPS...: Sources/NAME as a static library and module
  local name=$1; shift
  local sources=(Sources/"$name"/*.swift)
  if stale "$scratch/lib/lib$name.a" "${sources[@]}" "$@" "$0"; then
    echo "fuzz.sh: building $name"
    compile "${flags[@]}" -I "$scratch/modules" -module-name "$name" -emit-module \
      -emit-module-path "$scratch/modules/$name.swiftmodule" -emit-library -static -o "$scratch/lib/lib$name.a" "${sources[@]}"
  fi
}

# The import parser's files in Sources/LoyaltyLedger: the formats and CSV, line reading, text
# checks and the error they throw (they import nothing but Foundation, LedgerJSON, LoyaltyDomain).
import_parser_files=(Sources/LoyaltyLedger/ImportFormat.swift Sources/LoyaltyLedger/LineReader.swift
                     Sources/LoyaltyLedger/InputText.swift Sources/LoyaltyLedger/ApplicationError.swift)

target_sources() {  # the files of one target besides Fuzz/Support
  case $1 in
    stored-event) echo Fuzz/StoredEvent.swift Fuzz/Support/LedgerStoreStubs.swift Sources/LedgerStore/EventRecord.swift \
                       Sources/LedgerStore/ByteCoding.swift Sources/LedgerStore/LogLimits.swift Sources/LedgerStore/EventDraftValidation.swift ;;
    command-json) echo Fuzz/CommandJSON.swift ;;
    import-csv) echo Fuzz/ImportCSV.swift "${import_parser_files[@]}" ;;
    program-rules) echo Fuzz/ProgramRules.swift ;;
    *) echo "fuzz.sh: unknown target '$1' (stored-event, command-json, import-csv, program-rules)" >&2; exit 2 ;;
  esac
}

build_started=$SECONDS
library ByteCodec
library LedgerJSON
library LoyaltyDomain "$scratch/lib/libLedgerJSON.a" "$scratch/lib/libByteCodec.a"
for t in "${targets[@]}"; do
  read -r -a sources <<<"$(target_sources "$t")"
  shared=(Fuzz/Support/FuzzCheck.swift Fuzz/Support/CommandJSONEncoding.swift)
  if stale "$scratch/bin/fuzz-$t" "${sources[@]}" "${shared[@]}" "$scratch/lib/libLoyaltyDomain.a" "$scratch/lib/libLedgerJSON.a" \
       "$scratch/lib/libByteCodec.a" "$0"; then
    echo "fuzz.sh: building fuzz-$t"
    compile "${flags[@]}" -I "$scratch/modules" -L "$scratch/lib" -lLoyaltyDomain -lLedgerJSON -lByteCodec -module-name "Fuzz_${t//-/_}" \
      "${sources[@]}" "${shared[@]}" -o "$scratch/bin/fuzz-$t"
  fi
done
echo "fuzz.sh: build took $((SECONDS - build_started)) s"

failed=0
summary=()
for t in "${targets[@]}"; do
  # The committed corpus, less the crash inputs listed in Fuzz/corpus/pending.txt (their fixes
  # not merged yet; FuzzRegressionTests lists them as disabled tests).
  seeds="$scratch/seeds/$t"
  rm -rf "$seeds"; mkdir -p "$seeds"; cp -R "Fuzz/corpus/$t/." "$seeds/"
  while read -r pending; do
    [[ $pending == "$t/"* ]] && rm -f "$seeds/${pending#"$t/"}"
  done < <(grep -v '^#' Fuzz/corpus/pending.txt 2>/dev/null || true)
  work="$scratch/corpus/$t"
  artifacts="$scratch/artifacts/$t/"
  log="$scratch/fuzz-$t.log"
  mkdir -p "$work" "$artifacts"
  if [[ $seconds -eq 0 ]]; then
    run=(-runs=0)
  else
    run=(-max_total_time="$seconds")
  fi
  # LOYALTY_FUZZ_SEED fixes libFuzzer's random seed (tools/test.sh sets it, so that CI explores
  # the same mutations each run; unset, libFuzzer picks one and prints it in the log).
  [[ -n ${LOYALTY_FUZZ_SEED:-} ]] && run+=(-seed="$LOYALTY_FUZZ_SEED")
  # The committed corpus (read recursively, regressions/ included) is only read: libFuzzer
  # writes new inputs into the first directory.
  status=0
  SWIFT_BACKTRACE=enable=no "$scratch/bin/fuzz-$t" "$work" "$seeds" "${run[@]}" -timeout=5 -rss_limit_mb=2048 -max_len=8192 \
    -artifact_prefix="$artifacts" -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [[ $status -eq 0 ]]; then
    summary+=("ok      $t: ${runs:-?} runs, corpus $(find "$work" -type f | wc -l) new inputs")
  else
    failed=1
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    summary+=("FAILED  $t: exit $status, input ${crash:-(none written)}, log $log")
    echo "---- $t (exit $status): last lines of $log" >&2
    grep -v '^#[0-9]' "$log" | tail -40 >&2
  fi
done
printf 'fuzz.sh: %s\n' "${summary[@]}"
exit $failed
