#!/usr/bin/env bash
# Runs each cargo-fuzz target of fuzz/ for a bounded time on a copy of its seed corpus.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 20 s, every target)
#
# A crash, a stack overflow, an input slower than 10 s or one needing more than 2 GB
# fails the script; libFuzzer leaves the input in fuzz/artifacts/<target>/ and the summary
# says how to minimise it. fuzz/README.md says what each target covers and why
# RUSTC_BOOTSTRAP is set.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-20}"
shift || true
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in fuzz/fuzz_targets/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi

# libfuzzer-sys compiles libFuzzer (C++).
if ! command -v c++ >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null
    else
        echo "a C++ compiler is needed to build libFuzzer: install g++" >&2
        exit 1
    fi
fi

CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

# cargo-fuzz passes nightly-only flags (-Cpasses=sancov-module and friends) to rustc; a
# stable compiler accepts them with RUSTC_BOOTSTRAP=1. No sanitizer: the targets are safe
# Rust, what they look for is panics, stack overflows, hangs and memory blow-ups, which
# libFuzzer sees without one (and the build is half the time).
export RUSTC_BOOTSTRAP=1
export CARGO_INCREMENTAL=0
# Debug assertions stay on (cargo fuzz's default); codegen units: see fuzz/Cargo.toml.
fuzz_flags=(--sanitizer none --codegen-units 16)
build_start=$SECONDS
cargo fuzz build "${fuzz_flags[@]}"
echo "fuzz build: $((SECONDS - build_start)) s"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
summary=()
for t in "${targets[@]}"; do
    # libFuzzer adds what it finds to the corpus folder it is given: a copy, so that the
    # committed seeds stay the small, reviewed set.
    mkdir -p "$work/$t"
    if [ -d fuzz/corpus/"$t" ]; then
        cp fuzz/corpus/"$t"/* "$work/$t/"
    fi
    # The forum target's seeds are the forum test pages (one copy in the repository).
    if [ "$t" = forum ]; then
        find tests/data/forums -name '*.html' | while read -r f; do
            cp "$f" "$work/$t/$(echo "${f#tests/data/forums/}" | tr / _)"
        done
    fi
    echo "== $t: ${secs}s"
    if ! cargo fuzz run "${fuzz_flags[@]}" "$t" "$work/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 2>&1 | tee "$work/$t.log" | grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+== ERROR|SUMMARY|thread .* (panicked|has overflowed)|.*Test unit written)'
    then
        :
    fi
    if ! grep -q 'Done [0-9]* runs' "$work/$t.log"; then
        failed+=("$t")
        tail -n 40 "$work/$t.log"
    fi
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -n 1)"
    rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/$t.log" | tail -n 1)"
    cov="$(grep -oE 'cov: [0-9]+' "$work/$t.log" | tail -n 1)"
    summary+=("$(printf '%-13s %10s runs  %6s  peak RSS %s MB' "$t" "${runs:-?}" "${cov:-cov: ?}" "${rss:-?}")")
done
echo "== summary (${secs}s per target)"
printf '%s\n' "${summary[@]}"

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found problems in: ${failed[*]}"
    echo "inputs: fuzz/artifacts/<target>/; minimise with"
    echo "  RUSTC_BOOTSTRAP=1 cargo fuzz tmin --sanitizer none <target> fuzz/artifacts/<target>/<file>"
    echo "then keep it as fuzz/regressions/<target>/<what-broke> with a named test in tests/fuzz_regressions.rs"
    exit 1
fi
echo "fuzzing: ${#targets[@]} targets, ${secs}s each, nothing found"
