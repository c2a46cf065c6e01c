/**
 * Reading and changing the chain's state through a call's overlay: what the storage and child
 * storage host functions are made of.
 *
 * The state a call starts from is the {@link StorageProvider}'s; what the call changes is in its
 * {@link StorageOverlay}. Every read looks at the overlay first and asks the provider only about
 * keys the call has not touched. The operations that span many keys are built from the
 * provider's two questions (`get`, `nextKey`) and the overlay:
 *
 * - **next key**: the first key after `k` with a value, in the merged view: the overlay's next
 *   key with a value, or the provider's next key if it comes first and the overlay has not
 *   deleted it (deleted keys are skipped, asking the provider again).
 * - **clear prefix** (Substrate's semantics, `sp-state-machine`): every key of the overlay under
 *   the prefix is deleted, uncounted; then the provider's keys under the prefix are walked in
 *   order, each deleted and counted unless the overlay had already deleted it, stopping before
 *   the `limit`-th + 1 when a limit is given. The answer is the count and whether keys remain.
 * - **storage root**: the root of the merged trie (`state/trie-root.ts`), computed from the complete
 *   list of its entries: every key the provider has (walked with `nextKey`) and every key the
 *   overlay has, the overlay winning. Before the main trie's root, each child trie changed since
 *   its root was last written has its root computed and written into the main trie under
 *   `:child_storage:default:` + its key (or that key deleted, if the child trie is now empty),
 *   as Substrate and smoldot do; the same happens at the end of every call.
 *
 * The root walks the whole state: fine for a chain spec's genesis, a test, or a provider that
 * holds the state in memory; a light client that fetches each value from the network pays one
 * request per key. (smoldot instead asks its user for the Merkle values of untouched subtrees,
 * which a provider could offer: a possible extension of {@link StorageProvider}.)
 *
 * All of these are generators: they yield only when a provider answers with a promise, so a
 * synchronous provider costs nothing but the calls. Every question put to the provider is noted
 * in the call's context, and returned as the call's `storageReads`: what a Merkle proof must
 * answer for the call to be served from it (`state/read-proof.ts`).
 *
 * @module
 */

import { type CallContext } from '../call/context.js';
import { RuntimeCallError } from '../errors.js';
import { toHex } from '../encoding/hex.js';
import { DEFAULT_CHILD_STORAGE_PREFIX } from '../state/overlay.js';
import { concatBytes, encodeCompact, ScaleReader } from '../encoding/scale.js';
import type { StorageProvider } from '../state/providers.js';
import { type StateVersion, type TrieEntry, compareBytes, emptyTrieRoot, sortedTrieRoot } from '../state/trie-root.js';
import { ProviderError, UnservedError, type Wait, ask } from './definition.js';

const STORAGE = 'the storage provider';

/** The main trie's keys that a runtime may not write directly: child tries' roots live there. */
export const CHILD_STORAGE_PREFIX = new TextEncoder().encode(':child_storage:');

/** A task that yields {@link Wait}s and returns `T`. */
export type StateTask<T> = Generator<Wait, T, unknown>;

function storageOf(context: CallContext): StorageProvider {
  if (context.storage === null) throw new UnservedError('the call has no storage provider');
  return context.storage;
}

/** Asks the provider for the value under `key` (noted among the call's storage reads). */
function* providerGet(context: CallContext, child: Uint8Array | null, key: Uint8Array): StateTask<Uint8Array | null> {
  const storage = storageOf(context);
  context.recordStorageRead('get', key, child);
  return checkBytes(yield* ask(STORAGE, () => storage.get(key, child)), 'get');
}

function checkBytes(answer: unknown, question: string): Uint8Array | null {
  if (answer === null || answer === undefined) return null;
  if (answer instanceof Uint8Array) return answer;
  const shown = typeof answer === 'object' ? Object.prototype.toString.call(answer) : typeof answer;
  throw new ProviderError(STORAGE, `answered ${question} with ${shown}; expected a Uint8Array, null or undefined`);
}

/** The value under `key` in the merged view (`null`: none). */
export function* readValue(context: CallContext, child: Uint8Array | null, key: Uint8Array): StateTask<Uint8Array | null> {
  const pending = context.overlay.get(child, key);
  if (pending !== undefined) return pending;
  return yield* providerGet(context, child, key);
}

/** The provider's first key strictly after `key` (the state before the call), checked to follow `key`. */
function* baseNextKey(context: CallContext, child: Uint8Array | null, key: Uint8Array): StateTask<Uint8Array | null> {
  const storage = storageOf(context);
  if (typeof storage.nextKey !== 'function') throw new UnservedError('the storage provider has no nextKey method');
  context.recordStorageRead('nextKey', key, child);
  const next = checkBytes(yield* ask(STORAGE, () => storage.nextKey!(key, child)), 'nextKey');
  if (next !== null && compareBytes(next, key) <= 0) {
    throw new ProviderError(STORAGE, `answered nextKey(${toHex(key)}) with ${toHex(next)}, which does not follow it`);
  }
  return next;
}

/** The first key strictly after `key` that has a value in the merged view, or `null`. */
export function* nextKey(context: CallContext, child: Uint8Array | null, key: Uint8Array): StateTask<Uint8Array | null> {
  const fromOverlay = context.overlay.next(child, key, { skipDeleted: true })?.key ?? null;
  let cursor = key;
  for (;;) {
    const fromBase = yield* baseNextKey(context, child, cursor);
    if (fromBase === null) return fromOverlay;
    if (fromOverlay !== null && compareBytes(fromOverlay, fromBase) <= 0) return fromOverlay;
    if (context.overlay.get(child, fromBase) !== null) return fromBase; // unchanged, or changed to a value
    cursor = fromBase; // deleted by the call: look further
  }
}

/**
 * `ext_storage_append`: adds `item` to the SCALE `Vec` stored under `key`. If the value is not
 * a vector (or there is none), it becomes the vector `[item]`, as in Substrate.
 */
export function* appendValue(context: CallContext, child: Uint8Array | null, key: Uint8Array, item: Uint8Array): StateTask<void> {
  const current = yield* readValue(context, child, key);
  context.overlay.set(child, key, appendToVec(current, item));
}

/** The SCALE vector `current` with `item` appended, or `[item]` if `current` is not a vector. */
export function appendToVec(current: Uint8Array | null, item: Uint8Array): Uint8Array {
  if (current !== null && current.length > 0) {
    try {
      const reader = new ScaleReader(current);
      const count = reader.compactU32();
      if (count < 0xffff_ffff) {
        const rest = current.subarray(current.length - reader.remaining);
        return concatBytes(encodeCompact(count + 1), rest, item);
      }
    } catch {
      // Not a vector: start a new one below.
    }
  }
  return concatBytes(encodeCompact(1), item);
}

/** What clearing a prefix did: keys deleted from the state (not counting the overlay's), and whether keys remain. */
export interface ClearPrefixResult {
  readonly removed: number;
  readonly someRemain: boolean;
}

/** Deletes the keys starting with `prefix`, at most `limit` of the state's; see the module documentation. */
export function* clearPrefix(
  context: CallContext,
  child: Uint8Array | null,
  prefix: Uint8Array,
  limit: number | null,
): StateTask<ClearPrefixResult> {
  // A runtime may not touch the child tries' roots in the main trie (Substrate refuses with a warning).
  if (child === null && (startsWith(prefix, CHILD_STORAGE_PREFIX) || startsWith(CHILD_STORAGE_PREFIX, prefix))) {
    return { removed: 0, someRemain: false };
  }
  context.overlay.deletePrefix(child, prefix);
  let removed = 0;
  let key: Uint8Array | null;
  // The prefix itself may be a key: the walk starts there.
  key = (yield* providerGet(context, child, prefix)) === null ? yield* baseNextKey(context, child, prefix) : prefix;
  while (key !== null && startsWith(key, prefix)) {
    if (limit !== null && removed >= limit) return { removed, someRemain: true };
    if (context.overlay.get(child, key) !== null) {
      context.overlay.set(child, key, null);
      removed += 1;
    }
    key = yield* baseNextKey(context, child, key);
  }
  return { removed, someRemain: false };
}

/** Every entry of the merged trie, sorted by key (the provider's whole trie is walked). */
export function* trieEntries(context: CallContext, child: Uint8Array | null): StateTask<TrieEntry[]> {
  // The keys the state holds, in order (the empty key is a key too).
  const baseKeys: Uint8Array[] = [];
  const empty = new Uint8Array();
  if ((yield* providerGet(context, child, empty)) !== null) baseKeys.push(empty);
  for (let key = yield* baseNextKey(context, child, empty); key !== null; key = yield* baseNextKey(context, child, key)) baseKeys.push(key);

  const changes = [...context.overlay.changes(child)];
  const entries: TrieEntry[] = [];
  let b = 0;
  let c = 0;
  while (b < baseKeys.length || c < changes.length) {
    const order = b === baseKeys.length ? 1 : c === changes.length ? -1 : compareBytes(baseKeys[b]!, changes[c]![0]);
    if (order < 0) {
      const key = baseKeys[b++]!;
      const value = yield* providerGet(context, child, key);
      if (value !== null) entries.push({ key, value });
    } else {
      if (order === 0) b++;
      const [key, value] = changes[c++]!;
      if (value !== null) entries.push({ key, value });
    }
  }
  return entries;
}

/**
 * The root of a trie in the merged view (`child` null: the main trie, after writing the roots
 * of the changed child tries into it). `version`: the state version to hash values with.
 */
export function* storageRoot(context: CallContext, child: Uint8Array | null, version: StateVersion): StateTask<Uint8Array> {
  if (child !== null) return yield* writeChildRoot(context, child, version);
  for (const changed of context.overlay.changedChildren()) yield* writeChildRoot(context, changed, version);
  return sortedTrieRoot(yield* trieEntries(context, null), version);
}

/** Computes a child trie's root and writes it into the main trie (or deletes the entry if the child trie is empty). */
export function* writeChildRoot(context: CallContext, child: Uint8Array, version: StateVersion): StateTask<Uint8Array> {
  const root = sortedTrieRoot(yield* trieEntries(context, child), version);
  const mainKey = concatBytes(DEFAULT_CHILD_STORAGE_PREFIX, child);
  const empty = compareBytes(root, emptyTrieRoot()) === 0;
  context.overlay.set(null, mainKey, empty ? null : root);
  context.overlay.markChildRootWritten(child);
  return root;
}

/**
 * The end of a call: every storage transaction must be closed, and the roots of the child
 * tries changed since their root was last written go into the main trie (with the runtime's
 * state version), so that the call's diff is a consistent change of the state.
 */
export function* finishCall(context: CallContext, entryPoint: string): StateTask<undefined> {
  const open = context.overlay.transactionDepth;
  if (open !== 0) {
    throw new RuntimeCallError('UnclosedTransaction', `${entryPoint} returned with ${open} storage transaction${open === 1 ? '' : 's'} still open`);
  }
  for (const changed of context.overlay.changedChildren()) yield* writeChildRoot(context, changed, context.stateVersion);
  return undefined;
}

/** Whether `bytes` starts with `prefix`. */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}
