/*
 * A C guest for the README example (examples/c-guest.ts): counts the words of a text the host
 * hands over in chunks. Every call to an import pauses the guest; the host answers `read_chunk`
 * by writing the next chunk into the guest's memory while it is paused.
 *
 * Built by build.sh with Debian's clang 14 and the features today's toolchains enable by
 * default (bulk memory, sign extension, non-trapping conversions, reference types, multi-value:
 * Rust >= 1.87's set), so the VM needs `features: 'modern'`; with -g, traps come with file and
 * line.
 */
#define IMPORT(name) __attribute__((import_module("host"), import_name(#name)))
#define EXPORT(name) __attribute__((export_name(#name)))

IMPORT(read_chunk) int read_chunk(char *buffer, int capacity); /* bytes written, 0 at the end */
IMPORT(report) void report(int words_so_far);

static char buffer[256];
static char previous[256];

static int is_space(char c) { return c == ' ' || c == '\n' || c == '\t'; }

EXPORT(count_words) int count_words(void) {
  int words = 0, in_word = 0;
  for (;;) {
    int length = read_chunk(buffer, sizeof buffer);
    if (length <= 0) break;
    __builtin_memcpy(previous, buffer, (unsigned)length); /* memory.copy */
    for (int i = 0; i < length; i++) {
      int space = is_space(previous[i]);
      if (!space && !in_word) words++;
      in_word = !space;
    }
    __builtin_memset(buffer, 0, sizeof buffer); /* memory.fill */
    report(words);
  }
  return words;
}

/* Average word length, in tenths: traps (integer division by zero) for a text without words. */
EXPORT(average_length) int average_length(int letters, int words) {
  return letters * 10 / words;
}
