#!/usr/bin/env bash
# The published crates, checked as crates.io, docs.rs and a user will take
# them: packaged and built from their tarballs, documented as docs.rs builds
# them, every feature built alone and with none, the rust-version honest,
# and `cargo install pesakit-cli` from the packaged crate giving a working
# `pesakit`. .ci/run runs it; it needs cargo-hack (`cargo install cargo-hack`).
#
#   tools/publish-check.sh              # a clean work tree
#   ALLOW_DIRTY=1 tools/publish-check.sh   # uncommitted changes included
set -euo pipefail
cd "$(dirname "$0")/.."

# In the order crates.io must receive them: each depends only on those before.
crates=(pesakit-core pesakit-macros pesakit pesakit-emulator pesakit-cli)
package_args=()
for crate in "${crates[@]}"; do package_args+=(--package "$crate"); done
dirty=()
[ -n "${ALLOW_DIRTY:-}" ] && dirty=(--allow-dirty)

version="$(cargo metadata --format-version 1 --no-deps --locked | python3 -c '
import json, sys
print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "pesakit"))')"

echo "== cargo package: ${crates[*]}"
# Packages each crate and builds it from its tarball against the tarballs of
# the crates before it (cargo's local overlay), as crates.io will have them.
cargo package --locked "${dirty[@]}" "${package_args[@]}"

echo "== packaged files"
for crate in "${crates[@]}"; do
    listing="$(tar -tzf "target/package/$crate-$version.crate")"
    for file in Cargo.toml README.md LICENSE-MIT LICENSE-APACHE; do
        grep -qx "$crate-$version/$file" <<<"$listing" || { echo "$crate's package lacks $file" >&2; exit 1; }
    done
    manifest="$(tar -xzOf "target/package/$crate-$version.crate" "$crate-$version/Cargo.toml")"
    for field in description license repository readme rust-version; do
        grep -q "^$field = " <<<"$manifest" || { echo "$crate's packaged manifest lacks $field" >&2; exit 1; }
    done
done

echo "== docs as docs.rs builds them (all features, --cfg docsrs)"
# docs.rs documents with a nightly toolchain; RUSTC_BOOTSTRAP lets this
# stable one take the same `doc_cfg` feature that draws the feature badges.
RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS="--cfg docsrs -D warnings" \
    cargo doc --no-deps --all-features --locked --package pesakit --package pesakit-core --package pesakit-emulator

echo "== each feature alone, and none"
# The facade forwards every feature of the core, so its matrix builds the
# core's too; the other crates have no features of their own.
RUSTFLAGS="-D warnings" cargo hack check --locked --lib --each-feature --package pesakit

echo "== rust-version"
# Only the machine's toolchain is at hand, so the rust-version claimed is
# the one it builds and tests with: no dependency the published crates build
# may ask for a newer one, and a newer toolchain here is said, since then the
# claim is no longer shown by this run.
cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
meta = json.load(sys.stdin)
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
def version(text):
    return tuple(int(part) for part in text.split("."))
published = [i for i in meta["workspace_members"] if packages[i]["publish"] != []]
ours = version(packages[published[0]]["rust_version"])
seen, stack = set(), list(published)
while stack:
    node = stack.pop()
    if node in seen:
        continue
    seen.add(node)
    stack += [d["pkg"] for d in nodes[node]["deps"] if any(k["kind"] in (None, "build") for k in d["dep_kinds"])]
newer = ["{name} {version} needs {rust_version}".format(**packages[i])
         for i in seen if packages[i]["rust_version"] and version(packages[i]["rust_version"]) > ours]
if newer:
    sys.exit("dependencies need a newer Rust than rust-version " + ".".join(map(str, ours)) + ": " + "; ".join(newer))
print("rust-version", ".".join(map(str, ours)), "holds for", len(seen), "packages")
toolchain = version(sys.argv[1].split()[1].split("-")[0])[:2]
if toolchain != ours[:2]:
    print(f"warning: built with rustc {sys.argv[1].split()[1]}, not rust-version " + ".".join(map(str, ours))
          + ": this run does not show that version builds", file=sys.stderr)
' "$(rustc --version)"

echo "== cargo install pesakit-cli from its packaged crate"
# The unpacked tarballs stand in for crates.io; registry dependencies come
# from crates.io as for any user.
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
patches=()
for crate in pesakit-core pesakit-macros pesakit pesakit-emulator; do
    patches+=(--config "patch.crates-io.$crate.path=\"target/package/$crate-$version\"")
done
cargo install --debug --locked --target-dir target/install --root "$root" "${patches[@]}" \
    --path "target/package/pesakit-cli-$version"
"$root/bin/pesakit" --version
"$root/bin/pesakit" payload stk-paid | grep -q '"CheckoutRequestID"'
"$root/bin/pesakit" check-url https://pay.example.co.ke/callbacks/stk >/dev/null
echo "installed pesakit works"
