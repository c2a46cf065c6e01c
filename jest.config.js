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
};
