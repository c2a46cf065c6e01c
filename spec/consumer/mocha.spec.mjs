// Run by Mocha (its `it` and `describe` are globals).
import { BACKENDS, pauseAndResume } from './cases.mjs';

describe('resumable-wasm under Mocha', () => {
  for (const backend of BACKENDS) it(`pause and resume on ${backend}`, () => pauseAndResume(backend));
});
