/**
 * The lazily loaded half of snapshots and journals: their formats and the replay, in a chunk of
 * their own for bundlers (see `codecs.ts`), so that a page that never snapshots nor journals
 * never downloads them.
 *
 * @module
 */

export { decodeSnapshot, encodeSnapshot } from './snapshot-format.js';
export { decodeJournal, encodeJournal } from './journal-format.js';
export { replayEvents } from './replay.js';
export { applyPausedCall, capturePausedCall, needsNewInstance, whyNotApplicable } from './paused-call.js';
