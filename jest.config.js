// Jest runs the TypeScript tests in spec/ as native ES modules (binaryen is ESM-only with a
// top-level await). Type checking is done once by `tsc` in `npm test`, so ts-jest only
// transpiles (isolatedModules), which keeps each test file fast to load.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: { isolatedModules: true, noUnusedLocals: false, noUnusedParameters: false } }],
  },
  // Tests are bounded by the work they do, not by the clock (CI machines are shared, and a busy
  // one runs several times slower): this timeout only stops a test that hangs.
  testTimeout: 30 * 60_000,
  // One worker per core: Jest's default leaves one core to its own process, which only waits.
  maxWorkers: '100%',
  // One line per test file, failures in full, notes and skips without code frames, and a
  // summary: spec/support/reporter.mjs.
  reporters: ['<rootDir>/spec/support/reporter.mjs'],
  // A worker that ran a long synchronous step (a spawnSync of seconds, a TypeScript program)
  // takes more than Jest's default 500 ms to exit once asked, and was force-exited with "A
  // worker process has failed to exit gracefully", as if it leaked: it exits by itself within
  // this time.
  workerGracefulExitTimeout: 5000,
};
