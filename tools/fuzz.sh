#!/usr/bin/env bash
# Runs every fuzz target (or those named) for a while, each corpus seeded
# with the repository's Daraja fixtures and bad bodies, as TESTING.md describes.
#
#   tools/fuzz.sh                 # every target, 120 s each
#   SECONDS_PER_TARGET=600 tools/fuzz.sh stk_callback
#
# Needs `cargo install cargo-fuzz --locked`. This machine's toolchain is
# stable, which cannot build the sanitizers, so targets run with `-s none`:
# libFuzzer's coverage guidance and every Rust panic and assertion, without
# AddressSanitizer (safe Rust has no memory errors for it to find; pesakit
# forbids `unsafe`). A crash is saved under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2; exit 1; }
fixtures=tests/fixtures
seconds="${SECONDS_PER_TARGET:-120}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(stk_callback c2b_payment daraja_result queue_timeout path_rules forwarded_header)

seed() { # target, then the fixture folders whose bodies seed it
    local target="$1" corpus="fuzz/corpus/$1"
    shift
    mkdir -p "$corpus"
    for folder in "$@"; do
        cp "$fixtures/$folder"/*.json "$corpus/" 2>/dev/null || true
    done
    cp "$fixtures/bad"/* "$corpus/" 2>/dev/null || true
}

for target in "${targets[@]}"; do
    case "$target" in
        stk_callback) seed "$target" stk ;;
        c2b_payment) seed "$target" c2b_validation c2b_confirmation ;;
        daraja_result) seed "$target" b2c_result account_balance_result transaction_status_result reversal_result b2b_result ;;
        queue_timeout) seed "$target" timeout ;;
        path_rules)
            mkdir -p fuzz/corpus/path_rules
            printf '/callbacks/stk' > fuzz/corpus/path_rules/default
            printf '/payments/{secret}/c2b/validation' > fuzz/corpus/path_rules/secret
            ;;
        forwarded_header)
            mkdir -p fuzz/corpus/forwarded_header
            printf '196.201.214.200, 10.0.0.7' > fuzz/corpus/forwarded_header/xff
            printf 'for=196.201.214.200;proto=https, for="[2001:db8::1]:4711"' > fuzz/corpus/forwarded_header/forwarded
            ;;
        *) echo "unknown target $target" >&2; exit 2 ;;
    esac
    echo "== $target, ${seconds} s"
    cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- -max_total_time="$seconds" -print_final_stats=1
done
