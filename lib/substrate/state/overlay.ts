/**
 * The storage overlay: the changes a runtime call makes to the chain's state, kept apart from
 * the state itself, with nested transactions.
 *
 * A runtime call never writes to the state it reads. Its writes (`ext_storage_set`, `clear`,
 * `append`, `clear_prefix`, the same in child tries) go into this overlay; its reads look here
 * first and only ask the {@link StorageProvider} for keys the overlay does not know. When the
 * call ends, the overlay *is* its result: the storage diff the caller applies (to build the
 * next block on), inspects (a dry run) or throws away. Substrate's `OverlayedChanges` and
 * smoldot's `storage_diff` are the same idea.
 *
 * A key in the overlay maps to a value, or to `null`: "deleted", which hides whatever the
 * state holds. Keys the overlay does not mention are unchanged.
 *
 * ## Tries
 *
 * Besides the main trie, a chain has *child tries* (the "default" kind), each identified by a
 * key; the main trie stores each child trie's root under `:child_storage:default:` + that key.
 * The overlay keeps one map per trie, and remembers which child tries changed since their root
 * was last written into the main trie (see `host/child-storage.ts`).
 *
 * It also keeps the call's *offchain index* writes (`ext_offchain_index_set`/`clear`): data a
 * block leaves for offchain workers. They are part of the call's changes and roll back with
 * them, but never touch the state.
 *
 * ## Transactions
 *
 * `ext_storage_start_transaction` opens a nested transaction; `commit` keeps what it did,
 * `rollback` undoes it (FRAME runs each extrinsic, and each `#[transactional]` function, in
 * one). Rather than copying the overlay at every start (smoldot's way), each open transaction
 * keeps a journal of what its writes replaced; a rollback replays the journal backwards, a
 * commit hands the journal to the enclosing transaction (or drops it at the outermost level).
 * So a transaction costs in proportion to what it writes, whatever the size of the overlay.
 *
 * @module
 */

import { fromHex, toHex } from '../encoding/hex.js';

/** The changes to one trie, by `0x` hex key: a value, or `null` for a deletion. */
export type TrieChanges = ReadonlyMap<string, Uint8Array | null>;

/** What a call changed: see {@link StorageOverlay.diff}. */
export interface StorageDiff {
  /** The main trie's changes, in key order. */
  readonly main: TrieChanges;
  /** Each changed child trie's changes, by the child trie's key in `0x` hex (without prefix). */
  readonly children: ReadonlyMap<string, TrieChanges>;
  /** The offchain index writes (`ext_offchain_index_set`/`clear`), in key order. */
  readonly offchainIndex: TrieChanges;
}

/** A {@link StorageOverlay} as JSON-compatible data (see `exportState`; not exported by the package). */
export interface OverlayState {
  /** Each trie's changes, keys sorted: `[trie id, [key, value in hex or null][]]`. */
  readonly tries: readonly (readonly [string, readonly (readonly [string, string | null])[]])[];
  readonly dirty: readonly string[];
  /** Each open transaction's journal: `[child, wasDirty]` or `[trie, key, previous (0: absent)]`. */
  readonly journals: readonly (readonly (readonly unknown[])[])[];
}

/** The deepest nesting of storage transactions the overlay accepts. */
export const MAX_TRANSACTION_DEPTH = 1024;

/** The prefix of the main trie's keys that hold child tries' roots. */
export const DEFAULT_CHILD_STORAGE_PREFIX = new TextEncoder().encode(':child_storage:default:');

/** One trie's changes, with its keys kept sorted for `nextKey` and ordered iteration. */
class TrieLayer {
  readonly values = new Map<string, Uint8Array | null>();
  /** The keys of `values`, sorted (lowercase hex of bytes sorts like the bytes). */
  readonly sorted: string[] = [];

  /** Sets `key`; returns what it replaced (`undefined`: the key was not in the layer). */
  set(key: string, value: Uint8Array | null): Uint8Array | null | undefined {
    const previous = this.values.get(key);
    if (!this.values.has(key)) this.sorted.splice(lowerBound(this.sorted, key), 0, key);
    this.values.set(key, value);
    return previous;
  }

  /** Forgets `key` entirely (used to undo the write that added it). */
  forget(key: string): void {
    if (!this.values.delete(key)) return;
    const index = lowerBound(this.sorted, key);
    if (this.sorted[index] === key) this.sorted.splice(index, 1);
  }

  /** The index in `sorted` of the first key after `key` (or equal to it, if `inclusive`). */
  indexAfter(key: string, inclusive: boolean): number {
    const index = lowerBound(this.sorted, key);
    return !inclusive && this.sorted[index] === key ? index + 1 : index;
  }
}

/** A journal entry: what a write replaced, to undo it on rollback. */
type JournalEntry =
  | { readonly trie: string; readonly key: string; readonly previous: Uint8Array | null | undefined }
  | { readonly dirtyChild: string; readonly wasDirty: boolean };

/** The trie id of the main trie, of the offchain index, and of child tries (their hex key). */
const MAIN = 'main';
const OFFCHAIN = 'offchain';
const trieId = (child: Uint8Array | null): string => (child === null ? MAIN : toHex(child));

/** A runtime call's pending changes; see the module documentation. */
export class StorageOverlay {
  readonly #tries = new Map<string, TrieLayer>();
  /** Child tries (hex keys) changed since their root was last written into the main trie. */
  readonly #dirtyChildren = new Set<string>();
  /** One journal per open transaction, innermost last. */
  readonly #journals: JournalEntry[][] = [];

  /** How many transactions are open. */
  get transactionDepth(): number {
    return this.#journals.length;
  }

  /**
   * What the overlay says about `key`: its new value, `null` if it was deleted, or `undefined`
   * if the call did not touch it (ask the state).
   */
  get(child: Uint8Array | null, key: Uint8Array): Uint8Array | null | undefined {
    return this.#tries.get(trieId(child))?.values.get(toHex(key));
  }

  /** Sets (or, with `null`, deletes) `key`. A write to a child trie marks it changed. */
  set(child: Uint8Array | null, key: Uint8Array, value: Uint8Array | null): void {
    this.#write(trieId(child), toHex(key), value);
    if (child !== null) this.markChildChanged(child);
  }

  /** Records an offchain index write (`null`: clear). */
  setOffchainIndex(key: Uint8Array, value: Uint8Array | null): void {
    this.#write(OFFCHAIN, toHex(key), value);
  }

  /**
   * The first key of the overlay strictly after `key` (or at `key`, if `inclusive`) that starts
   * with `prefix`, with what the overlay says about it; `null` if there is none.
   */
  next(
    child: Uint8Array | null,
    key: Uint8Array,
    options: { readonly inclusive?: boolean; readonly prefix?: Uint8Array; readonly skipDeleted?: boolean } = {},
  ): { key: Uint8Array; value: Uint8Array | null } | null {
    const layer = this.#tries.get(trieId(child));
    if (layer === undefined) return null;
    const prefix = options.prefix === undefined ? '0x' : toHex(options.prefix);
    for (let index = layer.indexAfter(toHex(key), options.inclusive === true); index < layer.sorted.length; index++) {
      const hex = layer.sorted[index]!;
      if (!hex.startsWith(prefix)) return null; // sorted: past the prefix's keys, none follow
      const value = layer.values.get(hex)!;
      if (value === null && options.skipDeleted === true) continue;
      return { key: fromHex(hex), value };
    }
    return null;
  }

  /** Deletes every key of the overlay that starts with `prefix` (keys the state holds are not seen here). */
  deletePrefix(child: Uint8Array | null, prefix: Uint8Array): void {
    const id = trieId(child);
    const layer = this.#tries.get(id);
    if (layer === undefined) return;
    const hexPrefix = toHex(prefix);
    const keys: string[] = [];
    for (let index = layer.indexAfter(hexPrefix, true); index < layer.sorted.length && layer.sorted[index]!.startsWith(hexPrefix); index++) {
      keys.push(layer.sorted[index]!);
    }
    for (const key of keys) this.#write(id, key, null);
    if (child !== null) this.markChildChanged(child);
  }

  /**
   * Every change to a trie in key order: `[key, value or null]`, keys as bytes. `null` for the
   * main trie.
   */
  *changes(child: Uint8Array | null): IterableIterator<[Uint8Array, Uint8Array | null]> {
    const layer = this.#tries.get(trieId(child));
    if (layer === undefined) return;
    for (const key of [...layer.sorted]) yield [fromHex(key), layer.values.get(key)!];
  }

  /** Marks a child trie as changed since its root was last written into the main trie. */
  markChildChanged(child: Uint8Array): void {
    const id = toHex(child);
    if (this.#dirtyChildren.has(id)) return;
    this.#journal({ dirtyChild: id, wasDirty: false });
    this.#dirtyChildren.add(id);
  }

  /** Records that a child trie's root has just been written into the main trie. */
  markChildRootWritten(child: Uint8Array): void {
    const id = toHex(child);
    if (!this.#dirtyChildren.has(id)) return;
    this.#journal({ dirtyChild: id, wasDirty: true });
    this.#dirtyChildren.delete(id);
  }

  /** The child tries changed since their root was last written into the main trie, sorted. */
  changedChildren(): Uint8Array[] {
    return [...this.#dirtyChildren].sort().map(fromHex);
  }

  /** Opens a nested transaction. Throws a `RangeError` past {@link MAX_TRANSACTION_DEPTH}. */
  startTransaction(): void {
    if (this.#journals.length >= MAX_TRANSACTION_DEPTH) {
      throw new RangeError(`more than ${MAX_TRANSACTION_DEPTH} nested storage transactions`);
    }
    this.#journals.push([]);
  }

  /** Keeps the innermost transaction's changes. Returns `false` if no transaction is open. */
  commitTransaction(): boolean {
    const journal = this.#journals.pop();
    if (journal === undefined) return false;
    const outer = this.#journals[this.#journals.length - 1];
    if (outer !== undefined) for (const entry of journal) outer.push(entry);
    return true;
  }

  /** Undoes the innermost transaction's changes. Returns `false` if no transaction is open. */
  rollbackTransaction(): boolean {
    const journal = this.#journals.pop();
    if (journal === undefined) return false;
    for (let i = journal.length - 1; i >= 0; i--) {
      const entry = journal[i]!;
      if ('dirtyChild' in entry) {
        if (entry.wasDirty) this.#dirtyChildren.add(entry.dirtyChild);
        else this.#dirtyChildren.delete(entry.dirtyChild);
        continue;
      }
      const layer = this.#tries.get(entry.trie)!;
      if (entry.previous === undefined) layer.forget(entry.key);
      else layer.values.set(entry.key, entry.previous);
    }
    return true;
  }

  /** The call's changes, every trie in key order (a snapshot: later writes do not show). */
  diff(): StorageDiff {
    const children = new Map<string, TrieChanges>();
    const ids = [...this.#tries.keys()].filter((id) => id !== MAIN && id !== OFFCHAIN).sort();
    for (const id of ids) children.set(id, this.#snapshot(id));
    return { main: this.#snapshot(MAIN), children, offchainIndex: this.#snapshot(OFFCHAIN) };
  }

  /**
   * @internal The overlay as JSON-compatible data (values in `0x` hex), open transactions
   * included, for a suspended call (`runtime/suspended-call.ts`).
   */
  exportState(): OverlayState {
    const hex = (value: Uint8Array | null | undefined): string | null | 0 => (value === undefined ? 0 : value === null ? null : toHex(value));
    return {
      tries: [...this.#tries].map(([id, layer]) => [id, layer.sorted.map((key) => [key, hex(layer.values.get(key))] as [string, string | null])]),
      dirty: [...this.#dirtyChildren],
      journals: this.#journals.map((journal) =>
        journal.map((entry) => ('dirtyChild' in entry ? [entry.dirtyChild, entry.wasDirty] : [entry.trie, entry.key, hex(entry.previous)])),
      ),
    };
  }

  /**
   * @internal An overlay from {@link exportState}'s data; throws (a `RangeError`, or the hex
   * decoder's error) on data it cannot have made.
   */
  static importState(state: OverlayState): StorageOverlay {
    const bad = (what: string): never => {
      throw new RangeError(`bad overlay state: ${what}`);
    };
    const isKey = (key: unknown): key is string => typeof key === 'string' && /^0x([0-9a-f]{2})*$/.test(key);
    const value = (v: unknown): Uint8Array | null | undefined => (v === 0 ? undefined : v === null ? null : isKey(v) ? fromHex(v) : bad('value'));
    const overlay = new StorageOverlay();
    if (!Array.isArray(state?.tries) || !Array.isArray(state.dirty) || !Array.isArray(state.journals)) bad('shape');
    if (state.journals.length > MAX_TRANSACTION_DEPTH) bad('too many transactions');
    for (const item of state.tries) {
      if (!Array.isArray(item) || item.length !== 2 || (item[0] !== MAIN && item[0] !== OFFCHAIN && !isKey(item[0])) || !Array.isArray(item[1])) bad('trie');
      const layer = new TrieLayer();
      for (const pair of item[1] as unknown[]) {
        const [key, v] = Array.isArray(pair) && pair.length === 2 && isKey(pair[0]) ? [pair[0], value(pair[1])] : bad('key');
        if (v === undefined) bad('value');
        layer.set(key, v as Uint8Array | null);
      }
      overlay.#tries.set(item[0] as string, layer);
    }
    for (const id of state.dirty) overlay.#dirtyChildren.add(isKey(id) ? id : bad('child'));
    for (const journal of state.journals) {
      if (!Array.isArray(journal)) bad('journal');
      overlay.#journals.push(
        (journal as unknown[]).map((entry): JournalEntry => {
          if (Array.isArray(entry) && entry.length === 2 && isKey(entry[0]) && typeof entry[1] === 'boolean') return { dirtyChild: entry[0], wasDirty: entry[1] };
          if (Array.isArray(entry) && entry.length === 3 && overlay.#tries.has(entry[0]) && isKey(entry[1])) return { trie: entry[0], key: entry[1], previous: value(entry[2]) };
          return bad('journal entry');
        }),
      );
    }
    return overlay;
  }

  #snapshot(id: string): TrieChanges {
    const layer = this.#tries.get(id);
    return new Map(layer === undefined ? [] : layer.sorted.map((key) => [key, layer.values.get(key)!] as const));
  }

  #write(id: string, key: string, value: Uint8Array | null): void {
    let layer = this.#tries.get(id);
    if (layer === undefined) {
      layer = new TrieLayer();
      this.#tries.set(id, layer);
    }
    const previous = layer.set(key, value);
    this.#journal({ trie: id, key, previous });
  }

  #journal(entry: JournalEntry): void {
    this.#journals[this.#journals.length - 1]?.push(entry);
  }
}

/** The index of the first element of `sorted` that is not below `key`. */
function lowerBound(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < key) low = middle + 1;
    else high = middle;
  }
  return low;
}
