#!/usr/bin/env bash
# build.sh VARIANT [cargo feature args...]: build the floor app as scripts/build-wasm builds
# the release (std for size, panics as traps, opt z, fat LTO, wasm-opt -Oz), print its sizes.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$HERE"
v=$1; shift
export PATH="$HOME/.cargo/bin:$ROOT/.tools/node_modules/.bin:$PATH"
export RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size
export RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort"
cargo build --release --target wasm32-unknown-unknown "$@"
out="$HERE/target/out-$v"
rm -rf "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" target/wasm32-unknown-unknown/release/floor.wasm
wasm-opt -Oz --all-features "$out/floor_bg.wasm" -o "$out/floor_opt.wasm"
for f in "$out/floor_opt.wasm" "$out/floor.js"; do
  echo "$v $(basename "$f") raw=$(wc -c <"$f") gzip-9=$(gzip -9nc "$f" | wc -c)"
done
