#!/bin/sh
# Regenerates the proposal spec suites of this folder from the WebAssembly testsuite repository
# (https://github.com/WebAssembly/testsuite) with wabt's wast2json (Debian: apt-get install wabt;
# the data here was made with wast2json 1.0.32). Not needed by the tests, which read the result.
#
#   spec/proposals/convert.sh /path/to/testsuite
#
# Each suite is the proposal's folder as it was last before the testsuite removed it (the
# proposal had then been merged into the spec): see README.md for the commits.
set -eu
testsuite=$1
here=$(cd "$(dirname "$0")" && pwd)
convert() { # commit proposal
  rm -rf "$here/$2"
  mkdir -p "$here/$2"
  tmp=$(mktemp -d)
  for path in $(git -C "$testsuite" ls-tree --name-only "$1" "proposals/$2/"); do
    name=$(basename "$path" .wast)
    git -C "$testsuite" show "$1:$path" > "$tmp/$name.wast"
    (cd "$tmp" && wast2json "$name.wast" -o "$here/$2/$name.json")
  done
  rm -rf "$tmp"
}
convert 6aacfd8929504d8e02a5144a14d184196ede6790 bulk-memory-operations
convert 6aacfd8929504d8e02a5144a14d184196ede6790 reference-types
convert b7eba900aa5e5e237c7cdbfecacc52d4beb6e528 multi-value
convert b7eba900aa5e5e237c7cdbfecacc52d4beb6e528 sign-extension-ops
convert b7eba900aa5e5e237c7cdbfecacc52d4beb6e528 nontrapping-float-to-int-conversions
