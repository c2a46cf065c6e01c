#!/bin/sh
# Rebuilds the committed test guests of this folder (Debian: apt-get install clang lld; the
# committed ones were built with clang 14.0.6). Paths in the debug information are made
# relative to this folder.
set -eu
cd "$(dirname "$0")"
flags="--target=wasm32 -O1 -nostdlib -Wl,--no-entry -fdebug-prefix-map=$(pwd)=."
clang $flags -g -o backtrace.wasm backtrace.c
clang $flags -gdwarf-5 -o backtrace-dwarf5.wasm backtrace.c
