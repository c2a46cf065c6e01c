#!/bin/sh
# Rebuilds guest.wasm (Debian: apt-get install clang lld; the committed one was built with clang
# 14.0.6) with the features LLVM 20 enables by default for wasm32, as Rust >= 1.87 does.
set -eu
cd "$(dirname "$0")"
clang --target=wasm32 -O2 -g -nostdlib -Wl,--no-entry -fdebug-prefix-map="$(pwd)"=. \
  -mbulk-memory -msign-ext -mnontrapping-fptoint -mreference-types -mmultivalue \
  -o guest.wasm guest.c
