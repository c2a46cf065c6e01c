/**
 * {@link ProofStorage}: a {@link StorageProvider} that answers from a Merkle proof checked
 * against a state root, so that a runtime call trusts nothing but the root (which a light
 * client takes from a block header it has verified).
 *
 * A light client has no state. For each value a call reads it asks a peer for the value *and a
 * Merkle proof* (`state_getReadProof` over JSON-RPC, or a remote-read request of the light-client
 * network protocol): the nodes of the state trie on the way from the root to the key. The proof
 * is checked against the block's state root before the runtime sees a byte of it; a peer can
 * withhold, but not lie.
 *
 * ```ts
 * // A proof of everything the call will read, fetched beforehand:
 * const { proof } = await rpc('state_getReadProof', [keys, blockHash]);
 * const storage = new ProofStorage(header.stateRoot, proof);
 * const { output } = await runtimeCall(runtime, 'AccountNonceApi_account_nonce', account, { storage });
 *
 * // Or nodes fetched as the call needs them; the call stays paused meanwhile:
 * const lazy = new ProofStorage(header.stateRoot, [], {
 *   fetch: async (key, childTrie) => (await rpc('state_getReadProof', [[toHex(key)], blockHash])).proof,
 * });
 * ```
 *
 * ## What a read does
 *
 * `get` and `nextKey` walk the proof from the state root (see `trie-proof.ts`, which also says
 * what is checked when nodes arrive). A child trie's read first reads the child trie's root
 * from the main trie, under `:child_storage:default:` + its key, through the same proof: a child
 * trie that the main trie does not have holds nothing. Values may be inline or stored as their
 * hash (state versions 0 and 1 alike, even mixed in one trie).
 *
 * A read the proof does not cover is never answered with a guess:
 *
 * - without `fetch`, it throws `ProofError('Incomplete')`, naming the key and the child trie;
 * - with `fetch`, it asks for more nodes: `fetch(key, childTrie, kind)`, for the trie and key
 *   whose path is missing (for a child trie whose root is not yet known: the main trie's
 *   `:child_storage:default:` key first). The answer may be a promise; the call stays paused
 *   until it settles. The nodes are checked like the first ones (any entry that the state root
 *   does not commit to: `ProofError('Invalid')`), added, and the read goes on. An answer that
 *   does not hold the node that was missing ends the read with `Incomplete`.
 *
 * For `nextKey(k)` the proof must cover the path to `k` *and* the path to the key after it (or
 * show there is none). `state_getReadProof` proves keys, not "the next key", so a light client
 * answering a `nextKey` fetch first learns the candidate (`state_getKeysPaged` with `startKey`
 * `k` and count 1) and then asks the proof of both keys; the proof, not the peer's word,
 * decides.
 *
 * A proof that is not a proof of the state root (an altered node, a node of another block, a
 * malformed node) throws `ProofError('Invalid')`: from the constructor for the first nodes, from
 * the read for fetched ones. A runtime call served by a `ProofStorage` fails with a
 * `RuntimeCallError` (`HostFunctionFailed`) whose `cause` is the `ProofError`.
 *
 * Building a proof from a state held in memory (what a full node does, or a test) is
 * `createReadProof` (`read-proof.ts`); a call's `storageReads` say what to prove.
 *
 * @module
 */

import { UsageError } from '../../base/errors.js';
import { ProofError } from '../errors.js';
import { fromHex, toHex } from '../encoding/hex.js';
import { concatBytes } from '../encoding/scale.js';
import { DEFAULT_CHILD_STORAGE_PREFIX } from './overlay.js';
import type { MaybePromise, StorageProvider, StorageRead, StorageReadKind } from './providers.js';
import { HASH_LENGTH } from './trie-node.js';
import { MissingEntry, TrieProof } from './trie-proof.js';

/** What {@link ProofStorage} reports after it has checked and added the nodes of a `fetch`. */
export interface ProofVerifiedEvent {
  /** The read the nodes were asked for (`key` and `childTrie` as passed to `fetch`). */
  readonly read: StorageRead;
  /** How many entries the answer held. */
  readonly received: number;
  /** How many of them were new (the others were held already). */
  readonly added: number;
  /** Their total size, in bytes. */
  readonly bytes: number;
}

/** Options of {@link ProofStorage}. */
export interface ProofStorageOptions {
  /**
   * Asks for the nodes on the path to `key` in the trie `childTrie` (`null`: the main trie),
   * when a read needs them; for `kind` `'nextKey'`, also the path to the key after it. May
   * answer with a promise (a light client asking a peer): the call stays paused until it
   * settles. A rejection fails the read with it.
   */
  readonly fetch?: (key: Uint8Array, childTrie: Uint8Array | null, kind: StorageReadKind) => MaybePromise<Iterable<Uint8Array | string>>;
  /** Called once the nodes of each `fetch` have been checked and added. */
  readonly onVerified?: (event: ProofVerifiedEvent) => void;
}

/** A read that must wait for `missing`, to be asked for as `request`. */
class Needed {
  constructor(
    readonly missing: MissingEntry,
    readonly request: StorageRead,
  ) {}
}

/**
 * A {@link StorageProvider} that answers from a Merkle proof against a state root; see the
 * module documentation. `nodes` is the list `state_getReadProof` returns (bytes or hex), in any
 * order. Throws `ProofError('Invalid')` for nodes the state root does not commit to, and
 * `UsageError` for a root that is not 32 bytes.
 */
export class ProofStorage implements StorageProvider {
  /** The state root every answer is checked against. */
  readonly stateRoot: Uint8Array;
  readonly #proof: TrieProof;
  readonly #fetch: NonNullable<ProofStorageOptions['fetch']> | null;
  readonly #onVerified: NonNullable<ProofStorageOptions['onVerified']> | null;

  constructor(stateRoot: Uint8Array | string, nodes: Iterable<Uint8Array | string> = [], options: ProofStorageOptions = {}) {
    const root = typeof stateRoot === 'string' ? fromHex(stateRoot) : stateRoot;
    if (!(root instanceof Uint8Array) || root.length !== HASH_LENGTH) {
      throw new UsageError('InvalidArgument', `ProofStorage: the state root must be ${HASH_LENGTH} bytes`);
    }
    this.stateRoot = root.slice();
    this.#proof = new TrieProof(this.stateRoot);
    this.#fetch = options.fetch ?? null;
    this.#onVerified = options.onVerified ?? null;
    this.#proof.add(toEntries(nodes, 'ProofStorage'));
  }

  /** How many entries (nodes, and values stored as their hash) the proof holds. */
  get size(): number {
    return this.#proof.size;
  }

  /** The entries the proof holds, every one committed to by the state root (a proof to hand on). */
  nodes(): Uint8Array[] {
    return this.#proof.encodedEntries();
  }

  /**
   * Checks and adds more nodes (a proof of more keys, of the same state root) and returns how
   * many were new. Throws `ProofError('Invalid')` as the constructor does.
   */
  addNodes(nodes: Iterable<Uint8Array | string>): number {
    return this.#proof.add(toEntries(nodes, 'ProofStorage.addNodes'));
  }

  /** The value under `key`, `null` if the proof shows there is none; see the module documentation. */
  get(key: Uint8Array, childTrie: Uint8Array | null): MaybePromise<Uint8Array | null> {
    return this.#answer({ kind: 'get', key, childTrie });
  }

  /** The first key after `key` that has a value, `null` if the proof shows there is none. */
  nextKey(key: Uint8Array, childTrie: Uint8Array | null): MaybePromise<Uint8Array | null> {
    return this.#answer({ kind: 'nextKey', key, childTrie });
  }

  /**
   * Every entry of the main trie (or of `childTrie`) whose value the proof holds, sorted by key:
   * what the proof proves, as smoldot's `decode_proof` lists it.
   */
  entries(childTrie: Uint8Array | null = null): { key: Uint8Array; value: Uint8Array }[] {
    let root = this.stateRoot;
    if (childTrie !== null) {
      const childRoot = this.#proof.value(this.stateRoot, concatBytes(DEFAULT_CHILD_STORAGE_PREFIX, childTrie));
      if (!(childRoot instanceof Uint8Array) || childRoot.length !== HASH_LENGTH) return [];
      root = childRoot;
    }
    return this.#proof.entries(root);
  }

  #answer(read: StorageRead): MaybePromise<Uint8Array | null> {
    const answer = this.#attempt(read);
    if (!(answer instanceof Needed)) return answer;
    if (this.#fetch === null) throw incomplete(read, answer);
    return this.#fetchUntilAnswered(read, answer, this.#fetch);
  }

  async #fetchUntilAnswered(read: StorageRead, first: Needed, fetch: NonNullable<ProofStorageOptions['fetch']>): Promise<Uint8Array | null> {
    let needed = first;
    for (;;) {
      const { request } = needed;
      const received = toEntries(await fetch(request.key, request.childTrie, request.kind), 'the fetch option');
      let added: number;
      try {
        added = this.#proof.add(received);
      } catch (e) {
        if (e instanceof ProofError) throw withRead(e, read, request === read ? 'the nodes fetched for it' : `the nodes fetched for ${describe(request)}`);
        throw e;
      }
      this.#onVerified?.({ read: request, received: received.length, added, bytes: received.reduce((sum, entry) => sum + entry.length, 0) });
      const answer = this.#attempt(read);
      if (!(answer instanceof Needed)) return answer;
      if (!this.#proof.has(needed.missing.hash)) {
        throw new ProofError(
          'Incomplete',
          `${describe(read)}: the nodes fetched for ${describe(request)} do not include the ${needed.missing.what} ${toHex(needed.missing.hash)} the read needs`,
          { key: read.key, childTrie: read.childTrie },
        );
      }
      needed = answer;
    }
  }

  /** The answer to `read` from the nodes held, or what it needs. */
  #attempt(read: StorageRead): Uint8Array | null | Needed {
    try {
      let root = this.stateRoot;
      if (read.childTrie !== null) {
        const rootKey = concatBytes(DEFAULT_CHILD_STORAGE_PREFIX, read.childTrie);
        const childRoot = this.#proof.value(this.stateRoot, rootKey);
        if (childRoot instanceof MissingEntry) return new Needed(childRoot, { kind: 'get', key: rootKey, childTrie: null });
        // A child trie the main trie does not have: it holds nothing.
        if (childRoot === null) return null;
        if (childRoot.length !== HASH_LENGTH) {
          throw new ProofError('Invalid', `the main trie holds ${childRoot.length} bytes under ${toHex(rootKey)}, which is not a child trie's root`);
        }
        root = childRoot;
      }
      const answer = read.kind === 'get' ? this.#proof.value(root, read.key) : this.#proof.nextKey(root, read.key);
      return answer instanceof MissingEntry ? new Needed(answer, read) : answer;
    } catch (e) {
      if (e instanceof ProofError) throw withRead(e, read);
      throw e;
    }
  }
}

/** The bytes of each node, from bytes or hex; refuses anything else. */
function toEntries(nodes: Iterable<Uint8Array | string>, who: string): Uint8Array[] {
  if (nodes === null || typeof (nodes as Partial<Iterable<unknown>> | undefined)?.[Symbol.iterator] !== 'function') {
    throw new UsageError('InvalidArgument', `${who}: the nodes must be an iterable of Uint8Array or hex strings`);
  }
  return [...nodes].map((node) => {
    if (node instanceof Uint8Array) return node;
    if (typeof node === 'string') return fromHex(node);
    throw new UsageError('InvalidArgument', `${who}: a node is ${typeof node}, not a Uint8Array or a hex string`);
  });
}

/** `get(0x...)` / `nextKey(0x...)`, with the child trie if any. */
function describe(read: StorageRead): string {
  const where = read.childTrie === null ? '' : ` in child trie ${toHex(read.childTrie)}`;
  return `${read.kind}(${toHex(read.key)})${where}`;
}

/** The `Incomplete` error of a read the proof does not cover. */
function incomplete(read: StorageRead, needed: Needed): ProofError {
  const path = needed.request === read ? '' : ` (the path to ${describe(needed.request)})`;
  return new ProofError(
    'Incomplete',
    `the proof does not cover ${describe(read)}: it lacks the ${needed.missing.what} ${toHex(needed.missing.hash)}${path}`,
    { key: read.key, childTrie: read.childTrie },
  );
}

/** `error`, naming `read` (and where the nodes came from, if said). */
function withRead(error: ProofError, read: StorageRead, source?: string): ProofError {
  if (error.key !== undefined) return error;
  const from = source === undefined ? '' : `${source}: `;
  return new ProofError(error.kind, `${describe(read)}: ${from}${error.message}`, { key: read.key, childTrie: read.childTrie, cause: error.cause });
}
