/**
 * Decodes and verifies a Merkle proof of a trie, and reads keys through it: the engine under
 * `ProofStorage` (which adds child tries, errors that name the read, and fetching).
 *
 * A **Merkle proof** shows part of a trie to someone who knows only its root hash. It is a list
 * of node encodings (see `trie-node.ts`), in no particular order: the nodes on the way from the
 * root to the keys being proven, and, in state version 1, the values stored as their hash,
 * each as an entry of its own. Nodes shorter than 32 bytes are not entries: they sit *inline*
 * in their parent. Since every node names its children by hash, a node whose hash is named by
 * a node already trusted is trusted in turn: the root hash vouches for the root node, the root
 * node for its children, and so down to the values. That is the whole of the verification;
 * nothing else in a proof is believed.
 *
 * ## What is checked, and when
 *
 * Entries are checked as they arrive ({@link TrieProof.add}), all of them, before anything is
 * read through them:
 *
 * 1. Each entry is hashed; an entry already held is ignored.
 * 2. Starting from the root hash, an entry is **committed** when a committed node names its
 *    hash: as a child, as a hashed value, or as a 32-byte value (which may be the root of a
 *    child trie). Every entry must end up committed, in this batch or with the entries held
 *    from before; an entry that is not is a node that does not hash to what references it, a
 *    node of another block, or garbage, and the whole batch is refused
 *    (`ProofError('Invalid')`). A batch in which no entry hashes to the root, before the root
 *    is held, is a proof of another state.
 * 3. A committed node must decode (`decodeNode`), its inline children too, and must be a node a
 *    trie can have: an empty node only as the root, no valueless branch with a single child, no
 *    child Merkle value of length 0. A 32-byte value that names an entry which does not decode
 *    is not an error: it may be an ordinary hash stored as a value; that entry is committed as
 *    data, and refused only if a read later uses it as a node.
 *
 * A consequence: a proof with a node removed, whose entries below it are still there, is
 * `Invalid` (those entries hang from nothing); a proof cut cleanly, a node and everything only
 * reachable through it removed, is a smaller valid proof whose reads below the cut are
 * `Incomplete`. Altering a byte of any entry makes it hash to something nothing names: `Invalid`.
 *
 * ## Reads
 *
 * A read walks down from a root hash along the key's nibbles, trusting only committed entries:
 *
 * - **value** ({@link TrieProof.value}): the value at the key, or `null` when the walk shows
 *   there is none (a node's partial key departs from the key, or the slot the key continues in
 *   is empty). Absence is proven the same way presence is.
 * - **next key** ({@link TrieProof.nextKey}), as smoldot's `proof_decode` `next_key`: the first
 *   key strictly after the key that has a value. The walk goes down along the key, then to the
 *   first occupied slot to the right at the deepest level where there is one, then down its
 *   leftmost path to the first node with a value. The proof must hold every node of both paths
 *   (the key's, and the next key's) for the answer to be known; a node's children bitmap is
 *   what proves that the slots in between are empty. When no slot to the right is occupied at
 *   any level, there is no next key.
 *
 * When the walk needs a node or a value the proof does not hold, the read returns a
 * {@link MissingEntry} naming its hash, never a guess. Reads never recurse: a key thousands of
 * nibbles long costs a loop, not a stack.
 *
 * @module
 */

import { ProofError } from '../errors.js';
import { toHex } from '../encoding/hex.js';
import {
  type DecodedNode,
  HASH_LENGTH,
  NodeDecodeError,
  type TrieHash,
  childCount,
  decodeNode,
  fromNibbles,
  isEmptyNode,
  toNibbles,
  trieHasher,
} from './trie-node.js';

/** What a read needs and the proof does not hold: the hash of a node, or of a value stored as its hash. */
export class MissingEntry {
  constructor(
    readonly hash: Uint8Array,
    readonly what: 'node' | 'value',
  ) {}
}

/** How a committed node names an entry. */
const ROOT = 1;
const CHILD = 2;
const VALUE = 4;
/** A 32-byte value, which may be a child trie's root (or any other hash). */
const MAYBE_ROOT = 8;

/** The committed entries of a proof, and reads through them; see the module documentation. */
export class TrieProof {
  readonly #root: Uint8Array;
  readonly #hasher: (data: Uint8Array) => Uint8Array;
  /** The committed entries, by the hex of their hash. */
  readonly #entries = new Map<string, Uint8Array>();
  /** The committed entries decoded as nodes (those used as nodes so far). */
  readonly #nodes = new Map<string, DecodedNode>();
  /** Hashes that committed nodes name, with how they name them, whose entries are not held. */
  #expected = new Map<string, number>();
  /** Entries whose references have been followed (as a node). */
  readonly #followed = new Set<string>();

  /** An empty proof of the trie whose root hash is `root`. */
  constructor(root: Uint8Array, hash: TrieHash = 'blake2-256') {
    this.#root = root;
    this.#hasher = trieHasher(hash);
    this.#expected.set(toHex(root), ROOT);
  }

  /** How many committed entries the proof holds. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether the proof holds the entry whose hash is `hash`. */
  has(hash: Uint8Array): boolean {
    return this.#entries.has(toHex(hash));
  }

  /** The committed entries, in no particular order. */
  encodedEntries(): Uint8Array[] {
    return [...this.#entries.values()];
  }

  /**
   * Adds `entries` (checked as the module documentation says) and returns how many were new.
   * Throws `ProofError('Invalid')`, and then adds none of them: the proof is as it was.
   */
  add(entries: Iterable<Uint8Array>): number {
    const expectedBefore = new Map(this.#expected);
    const followedBefore = new Set(this.#followed);
    const entriesBefore = this.#entries.size;
    try {
      return this.#add(entries);
    } catch (e) {
      // Back to before the batch: Map and Set keep insertion order, so the new entries are last.
      for (const hex of [...this.#entries.keys()].slice(entriesBefore)) {
        this.#entries.delete(hex);
        this.#nodes.delete(hex);
      }
      for (const hex of this.#followed) if (!followedBefore.has(hex)) this.#nodes.delete(hex);
      this.#followed.clear();
      for (const hex of followedBefore) this.#followed.add(hex);
      this.#expected = expectedBefore;
      throw e;
    }
  }

  #add(entries: Iterable<Uint8Array>): number {
    const pool = new Map<string, Uint8Array>();
    for (const entry of entries) {
      const hex = toHex(this.#hasher(entry));
      if (!this.#entries.has(hex)) pool.set(hex, entry);
    }
    const before = this.#entries.size;
    /** Hashes of pooled entries that a committed node names: to commit. */
    const work = [...pool.keys()].filter((hex) => this.#expected.has(hex));
    /** Committed entries to read as nodes, and how they were named (a queue: no recursion). */
    const toFollow: [string, Uint8Array, number][] = [];
    const expect = (hash: Uint8Array, how: number): void => {
      const hex = toHex(hash);
      const held = this.#entries.get(hex);
      if (held !== undefined) {
        if ((how & (CHILD | MAYBE_ROOT)) !== 0 && !this.#followed.has(hex)) toFollow.push([hex, held, how]);
        return;
      }
      const already = this.#expected.get(hex) ?? 0;
      this.#expected.set(hex, already | how);
      if (already === 0 && pool.has(hex)) work.push(hex);
    };
    while (work.length > 0 || toFollow.length > 0) {
      const next = toFollow.pop();
      if (next !== undefined) {
        if (!this.#followed.has(next[0])) this.#follow(next[0], next[1], next[2], expect);
        continue;
      }
      const hex = work.pop()!;
      const entry = pool.get(hex);
      if (entry === undefined) continue;
      pool.delete(hex);
      const how = this.#expected.get(hex)!;
      this.#expected.delete(hex);
      this.#entries.set(hex, entry);
      if ((how & (ROOT | CHILD | MAYBE_ROOT)) !== 0) toFollow.push([hex, entry, how]);
    }
    if (pool.size > 0) {
      const rootHeld = this.#entries.has(toHex(this.#root));
      throw new ProofError(
        'Invalid',
        rootHeld
          ? `${pool.size} of the proof's entries are not committed to by the state root ${toHex(this.#root)}: ` +
              `no node of it names their hash (a node that does not hash to what references it, or a node of another state)`
          : `no entry of the proof hashes to the state root ${toHex(this.#root)}: it is a proof of another state, or the root node is missing`,
      );
    }
    return this.#entries.size - before;
  }

  /**
   * Follows the references of the committed entry `hex` used as a node (`how`: how it was
   * named), calling `expect` for each hash it names.
   */
  #follow(hex: string, entry: Uint8Array, how: number, expect: (hash: Uint8Array, how: number) => void): void {
    let node: DecodedNode;
    try {
      node = checkedNode(entry, (how & ROOT) !== 0);
    } catch (e) {
      if (!(e instanceof NodeDecodeError)) throw e;
      // A 32-byte value that names data rather than a child trie: committed as data only.
      if ((how & (ROOT | CHILD)) === 0) return;
      throw new ProofError('Invalid', `the proof's node ${hex} is malformed: ${e.message}`, { cause: e });
    }
    this.#followed.add(hex);
    this.#nodes.set(hex, node);
    const pending: DecodedNode[] = [node];
    while (pending.length > 0) {
      const current = pending.pop()!;
      if (current.value.type === 'hashed') expect(current.value.hash, VALUE);
      else if (current.value.type === 'inline' && current.value.bytes.length === HASH_LENGTH) expect(current.value.bytes, MAYBE_ROOT);
      for (const child of current.children) {
        if (child === null) continue;
        if (child.length === HASH_LENGTH) expect(child, CHILD);
        else pending.push(decodeNode(child)); // inline: part of this node's bytes, checked with it
      }
    }
  }

  /** The value under `key` in the trie whose root hash is `root`, `null` if it has none, or what is missing to know. */
  value(root: Uint8Array, key: Uint8Array): Uint8Array | null | MissingEntry {
    const nibbles = toNibbles(key);
    let node = this.#node(root);
    let position = 0;
    for (;;) {
      if (node instanceof MissingEntry) return node;
      const partial = node.partialKey;
      if (nibbles.length - position < partial.length) return null;
      for (let i = 0; i < partial.length; i++) if (nibbles[position + i] !== partial[i]) return null;
      position += partial.length;
      if (position === nibbles.length) return this.#valueOf(node);
      const child = node.children[nibbles[position]!];
      if (child === null || child === undefined) return null;
      position += 1;
      node = this.#child(child);
    }
  }

  /**
   * The first key strictly after `key` that has a value in the trie whose root hash is `root`,
   * `null` if there is none, or what is missing to know (see the module documentation).
   */
  nextKey(root: Uint8Array, key: Uint8Array): Uint8Array | null | MissingEntry {
    const target = toNibbles(key);
    const rootNode = this.#node(root);
    if (rootNode instanceof MissingEntry) return rootNode;
    /** The nibbles of the full key of the node being looked at (one buffer for the whole walk). */
    const path: number[] = [];
    /** The nodes on the key's path whose slots after `nibble` remain to be looked at. */
    const below: { node: DecodedNode; keyLength: number; nibble: number }[] = [];
    let node = rootNode;
    // Down along the key. The nibbles before the node's partial key match the key's.
    for (;;) {
      const start = path.length;
      for (const nibble of node.partialKey) path.push(nibble);
      let common = start;
      while (common < path.length && common < target.length && path[common] === target[common]) common++;
      if (common < path.length) {
        // The node's key is not a prefix of the key: its whole subtree is before or after it.
        if (common === target.length || path[common]! > target[common]!) return this.#first(node, path, start);
        break;
      }
      if (path.length === target.length) {
        // The node's key is the key: the answer is in its children, if anywhere below it.
        below.push({ node, keyLength: path.length, nibble: -1 });
        break;
      }
      const nibble = target[path.length]!;
      below.push({ node, keyLength: path.length, nibble });
      const child = node.children[nibble];
      if (child === null || child === undefined) break;
      const next = this.#child(child);
      if (next instanceof MissingEntry) return next;
      path.push(nibble);
      node = next;
    }
    // Back up, looking right of the key's path.
    while (below.length > 0) {
      const { node: at, keyLength, nibble } = below.pop()!;
      for (let slot = nibble + 1; slot < 16; slot++) {
        const child = at.children[slot];
        if (child === null || child === undefined) continue;
        const next = this.#child(child);
        if (next instanceof MissingEntry) return next;
        path.length = keyLength;
        path.push(slot);
        return this.#first(next, path, path.length);
      }
    }
    return null;
  }

  /**
   * The first key with a value in the subtree of `node`, whose partial key starts at nibble
   * `start` of `path` (which holds the key up to there, and is extended): down the leftmost
   * path to the first value.
   */
  #first(node: DecodedNode, path: number[], start: number): Uint8Array | null | MissingEntry {
    path.length = start;
    for (;;) {
      for (const nibble of node.partialKey) path.push(nibble);
      if (node.value.type !== 'none') {
        if (path.length % 2 !== 0) {
          throw new ProofError('Invalid', `the proof shows a value at a key of ${path.length} nibbles, which no runtime can write`);
        }
        return fromNibbles(path);
      }
      const slot = node.children.findIndex((child) => child !== null);
      // Only the empty root has neither a value nor children, and nothing starts there.
      if (slot === -1) return null;
      const next = this.#child(node.children[slot]!);
      if (next instanceof MissingEntry) return next;
      path.push(slot);
      node = next;
    }
  }

  /**
   * Every entry of the trie whose root hash is `root` that the proof shows with its value (keys
   * of whole bytes only), sorted by key. Parts of the trie the proof does not hold are skipped.
   */
  entries(root: Uint8Array): { key: Uint8Array; value: Uint8Array }[] {
    const out: { key: Uint8Array; value: Uint8Array }[] = [];
    const rootNode = this.#node(root);
    if (rootNode instanceof MissingEntry) return out;
    // Depth first, children in nibble order (a node's own key before its subtree's), with one
    // buffer for the key: each frame knows where its node's key ends and which slot is next.
    const path: number[] = [];
    const enter = (node: DecodedNode) => {
      for (const nibble of node.partialKey) path.push(nibble);
      const value = this.#valueOf(node);
      if (value instanceof Uint8Array && path.length % 2 === 0) out.push({ key: fromNibbles(path), value });
      return { node, keyLength: path.length, slot: 0 };
    };
    const frames = [enter(rootNode)];
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      if (frame.slot === 16) {
        frames.pop();
        continue;
      }
      const slot = frame.slot++;
      const child = frame.node.children[slot];
      if (child === null || child === undefined) continue;
      const next = this.#child(child);
      if (next instanceof MissingEntry) continue;
      path.length = frame.keyLength;
      path.push(slot);
      frames.push(enter(next));
    }
    return out;
  }

  /** The node whose hash is `hash`, decoded, or the entry that is missing. */
  #node(hash: Uint8Array): DecodedNode | MissingEntry {
    const hex = toHex(hash);
    const decoded = this.#nodes.get(hex);
    if (decoded !== undefined) return decoded;
    const entry = this.#entries.get(hex);
    if (entry === undefined) return new MissingEntry(hash, 'node');
    // Committed as data (a 32-byte value) and now read as a child trie's root.
    try {
      const node = checkedNode(entry, true);
      this.#nodes.set(hex, node);
      return node;
    } catch (e) {
      if (!(e instanceof NodeDecodeError)) throw e;
      throw new ProofError('Invalid', `the proof's entry ${hex}, read as a trie's root node, is malformed: ${e.message}`, { cause: e });
    }
  }

  /** The child whose Merkle value is `merkle`: by hash, or inline (checked when its parent was committed). */
  #child(merkle: Uint8Array): DecodedNode | MissingEntry {
    if (merkle.length === HASH_LENGTH) return this.#node(merkle);
    return decodeNode(merkle);
  }

  /** A node's value, or the entry that is missing. */
  #valueOf(node: DecodedNode): Uint8Array | null | MissingEntry {
    switch (node.value.type) {
      case 'none':
        return null;
      case 'inline':
        return node.value.bytes;
      case 'hashed':
        return this.#entries.get(toHex(node.value.hash)) ?? new MissingEntry(node.value.hash, 'value');
    }
  }
}

/**
 * `entry` decoded as a node, with its inline children, checked to be what a trie can have (see
 * the module documentation). Throws {@link NodeDecodeError}.
 */
function checkedNode(entry: Uint8Array, isRoot: boolean): DecodedNode {
  const node = decodeNode(entry);
  const pending: [DecodedNode, boolean][] = [[node, isRoot]];
  while (pending.length > 0) {
    const [current, root] = pending.pop()!;
    if (isEmptyNode(current)) {
      if (!root) throw new NodeDecodeError('an empty node below the root');
      continue;
    }
    if (current.value.type === 'none' && childCount(current) === 1) throw new NodeDecodeError('a branch without a value and with a single child');
    for (const child of current.children) {
      if (child === null || child.length === HASH_LENGTH) continue;
      if (child.length === 0) throw new NodeDecodeError('a child with an empty Merkle value');
      pending.push([decodeNode(child), false]);
    }
  }
  return node;
}
