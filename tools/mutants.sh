#!/usr/bin/env bash
# Mutation testing of one set of modules with the tests that cover them,
# as TESTING.md describes. Slow (each mutant is a build and a test run), so
# not part of CI: run it before resolving an issue that touches the set.
#
#   tools/mutants.sh values       # payload/amount.rs, timestamp.rs, result_code.rs, msisdn.rs
#   tools/mutants.sh path_rules
#   tools/mutants.sh response
#   tools/mutants.sh guard        # guard/ (source allowlist, forwarding headers)
#   tools/mutants.sh route        # route/ (the pipeline and the HTTP contract)
#   tools/mutants.sh inbox        # inbox/ without the PostgreSQL store (SQLite, retries, worker, the trait)
#   tools/mutants.sh inbox_postgres  # inbox/postgres/ (needs PostgreSQL)
#   tools/mutants.sh emulator     # pesakit-emulator, with its own tests
#
# Extra arguments go to cargo-mutants (for example `--list`, or `-j 2`).
# Results land in mutants.out/ (git ignores it); the survivors are in
# mutants.out/missed.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-mutants >/dev/null || {
    echo "cargo-mutants is not installed: cargo install cargo-mutants --locked" >&2
    exit 1
}

set_name="${1:-}"
shift || true
core=pesakit-core/src
# The core's sets run the core's unit tests with the integration tests that
# cover them, which the `pesakit-tests` package holds.
package=pesakit-core
test_args=()
case "$set_name" in
    values)
        files=("$core/payload/amount.rs" "$core/payload/timestamp.rs" "$core/payload/result_code.rs" "$core/payload/msisdn.rs")
        tests=(--test payload_fixtures --test payload_bad_input --test payload_properties --test builders)
        ;;
    path_rules)
        files=("$core/path_rules.rs")
        tests=(--test macros_usage --test dispatch)
        ;;
    response)
        files=("$core/response.rs")
        tests=(--test dispatch --test pipeline --test never_503)
        ;;
    guard)
        files=("$core/guard/mod.rs" "$core/guard/source.rs" "$core/guard/forwarded.rs" "$core/route/secret.rs")
        tests=(--test guard_source --test guard_secret --test pipeline)
        ;;
    route)
        files=("$core/route/*.rs")
        tests=(--test dispatch --test pipeline --test never_503 --test hostile_values --test dispatch_tracing --test contract
            --test macros_usage --test late_validations --test guard_secret --test runtime --test inbox)
        ;;
    inbox)
        # The trait, the worker and the retries run under both stores' suites.
        files=("$core/inbox/*.rs")
        tests=(--test inbox --test inbox_crash --test inbox_postgres)
        export PESAKIT_TEST_POSTGRES_URL="${PESAKIT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
        ;;
    inbox_postgres)
        files=("$core/inbox/postgres/*.rs")
        tests=(--test inbox_postgres --test inbox_instances)
        # The PostgreSQL store's tests need the server, as in CI.
        export PESAKIT_TEST_POSTGRES_URL="${PESAKIT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
        ;;
    emulator)
        # Its own package: its unit and integration tests are the ones that
        # run (not its doctests, which compile one by one).
        package=pesakit-emulator
        files=("pesakit-emulator/src/*.rs")
        tests=()
        test_args=(-- --lib --tests)
        ;;
    *)
        echo "usage: tools/mutants.sh values|path_rules|response|guard|route|inbox|inbox_postgres|emulator [cargo-mutants arguments]" >&2
        exit 2
        ;;
esac

file_args=()
for file in "${files[@]}"; do
    file_args+=(--file "$file")
done
# cargo-mutants tests the mutated package; for the core's sets the rest of
# the command adds `pesakit-tests` and its chosen integration tests.
if ((${#tests[@]})); then
    test_args=(-- --package pesakit-tests --lib "${tests[@]}")
fi
# Both phases build with every feature, so that each mutant's core is
# compiled once (a build without them and tests with them compiled it twice).
cargo mutants --package "$package" --all-features "${file_args[@]}" --profile mutants --gitignore true \
    "$@" "${test_args[@]}"
