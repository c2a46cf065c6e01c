// Run by Node.js's test runner (`node --test`), which starts this file in a process of its own
// with per-process options (--stack-trace-limit, --v8-pool-size, ...).
import { test } from 'node:test';
import { BACKENDS, pauseAndResume } from './cases.mjs';

for (const backend of BACKENDS) test(`pause and resume on ${backend}`, () => pauseAndResume(backend));
