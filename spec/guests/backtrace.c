/*
 * A small C guest with debug information, for the backtrace tests (spec/backtrace.test.ts).
 * Built by build.sh with Debian's clang 14 (-O1 -g, no libc); the .wasm is committed so that
 * the tests need no toolchain. Each trap is marked with a comment the tests look for.
 */
__attribute__((import_module("env"), import_name("ask"))) int ask(int);

typedef int (*op_t)(int);
static int twice(int x) { return 2 * x; }
static int square(int x) { return x * x; }
static op_t ops[2] = {twice, square};

__attribute__((noinline)) static int apply(int which, int x) {
  return ops[which](x); /* trap: apply */
}

__attribute__((noinline)) static int divide(int a, int b) {
  return a / b; /* trap: divide */
}

__attribute__((noinline)) static int load(const int *p) {
  return *p; /* trap: load */
}

__attribute__((noinline)) static int recurse(int n) {
  if (n == 0) {
    int k = ask(0); /* call: ask */
    if (k < 0) __builtin_trap(); /* trap: recurse */
    return k;
  }
  return recurse(n - 1) + 1; /* call: recurse */
}

__attribute__((export_name("run"))) int run(int what, int arg) {
  switch (what) {
    case 0:
      return recurse(arg); /* call: run recurse */
    case 1:
      return divide(100, ask(arg)); /* call: run divide */
    case 2:
      return load((const int *)ask(arg)); /* call: run load */
    default:
      return apply(ask(arg), 3); /* call: run apply */
  }
}
