/**
 * Proofs through runtime calls, on both backends, with small WAT runtimes:
 *
 * - the `ext_trie_{blake2,keccak}_256_verify_proof_version_{1,2}` host functions, answered
 *   inline: Substrate's transaction storage proof, proofs of random tries with both hash
 *   functions and both state versions, and malformed arguments;
 * - calls served by a `ProofStorage`: the reads a call reports (`storageReads`) make a proof that
 *   serves the same call byte for byte (main trie, child tries, the storage root); a read the
 *   proof lacks fails the call with a `RuntimeCallError` whose `cause` is the `ProofError`
 *   (`Incomplete`, naming the key and child trie); with `fetch`, the call pauses while nodes
 *   arrive and goes on; nodes that the state root does not commit to fail it (`Invalid`).
 */
import {
  MapStorage,
  ProofError,
  ProofStorage,
  RuntimeCallError,
  type StorageRead,
  SubstrateRuntime,
  createReadProof,
  fromHex,
  runtimeCall,
  toHex,
  trieRoot,
} from '../../lib/substrate/index.js';
import { concatBytes, encodeCompact } from '../../lib/substrate/encoding/scale.js';
import { type StateVersion, type TrieHash } from '../../lib/substrate/state/trie-node.js';
import { prng } from '../support/allocator-prng.js';
import { BACKENDS } from '../support/backends.js';
import { compactProof } from '../support/compact-proof.js';
import { flipped, randomEntries, randomReads } from '../support/proof-fixtures.js';
import { type Command, answers, script, scriptGuest } from '../support/script-guest.js';
import { GUEST_VERSION, guest } from '../support/substrate-guest.js';

const FUNCTIONS = [
  ['verify_b1', 'ext_trie_blake2_256_verify_proof_version_1', 'blake2-256', 1],
  ['verify_b2', 'ext_trie_blake2_256_verify_proof_version_2', 'blake2-256', 2],
  ['verify_k1', 'ext_trie_keccak_256_verify_proof_version_1', 'keccak-256', 1],
  ['verify_k2', 'ext_trie_keccak_256_verify_proof_version_2', 'keccak-256', 2],
] as const;

/**
 * A runtime with one entry point per verify function. Input: the 32-byte root, then the proof
 * (SCALE `Vec<Vec<u8>>`), the key and the value, each behind a `u32` length, then (version 2)
 * the state version as a `u32`. Output: the function's answer as one byte.
 */
function verifyGuest(): Promise<Uint8Array> {
  const imports = FUNCTIONS.map(
    ([entry, name, , version]) => `(import "env" "${name}" (func $${entry} (param i32 i64 i64 i64${version === 2 ? ' i32' : ''}) (result i32)))`,
  );
  imports.push('(import "env" "ext_allocator_malloc_version_1" (func $malloc (param i32) (result i32)))');
  const entries = FUNCTIONS.map(
    ([entry, , , version]) => `
  (func (export "${entry}") (param $p i32) (param $l i32) (result i64) (local $proof i32) (local $key i32) (local $value i32) (local $out i32)
    (local.set $proof (i32.add (local.get $p) (i32.const 32)))
    (local.set $key (call $next (local.get $proof)))
    (local.set $value (call $next (local.get $key)))
    (local.set $out (call $malloc (i32.const 1)))
    (i32.store8 (local.get $out) (call $${entry} (local.get $p) (call $field (local.get $proof)) (call $field (local.get $key)) (call $field (local.get $value))
      ${version === 2 ? '(i32.load (call $next (local.get $value)))' : ''}))
    (call $ps (local.get $out) (i32.const 1)))`,
  );
  const helpers = `
  ;; the pointer-size of the field at $at (a u32 length, then the bytes)
  (func $field (param $at i32) (result i64) (call $ps (i32.add (local.get $at) (i32.const 4)) (i32.load (local.get $at))))
  ;; where the field after the one at $at starts
  (func $next (param $at i32) (result i32) (i32.add (i32.add (local.get $at) (i32.const 4)) (i32.load (local.get $at))))`;
  return guest(imports.join('\n'), helpers + entries.join('\n'));
}

const u32 = (n: number) => Uint8Array.of(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);
const field = (bytes: Uint8Array) => concatBytes(u32(bytes.length), bytes);
const scaleVec = (items: readonly Uint8Array[]) => concatBytes(encodeCompact(items.length), ...items.flatMap((item) => [encodeCompact(item.length), item]));

/** The input of a verify entry point. */
function verifyInput(root: Uint8Array, proof: Uint8Array | readonly Uint8Array[], key: Uint8Array, value: Uint8Array, version: number): Uint8Array {
  const encoded = proof instanceof Uint8Array ? proof : scaleVec(proof);
  return concatBytes(root, field(encoded), field(key), field(value), u32(version));
}

/** The cause of a rejected call, checked to be a RuntimeCallError. */
async function failure(call: Promise<unknown>): Promise<RuntimeCallError> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RuntimeCallError);
  return error as RuntimeCallError;
}

describe.each(BACKENDS)('%s', (backend) => {
  describe('ext_trie_*_verify_proof', () => {
    let runtime: SubstrateRuntime;
    beforeAll(async () => {
      runtime = await SubstrateRuntime.create({ code: await verifyGuest(), backend });
      expect(runtime.backend).toBe(backend);
    });
    const verify = async (entry: string, input: Uint8Array) => (await runtimeCall(runtime, entry, input)).output[0];

    test('the four functions are served inline: no pause', () => {
      for (const [, name] of FUNCTIONS) expect(runtime.imports.find((i) => i.name === name)?.route).toBe('inline');
    });

    test('Substrate’s transaction storage proof, through version 2 with state version 1', async () => {
      // The chunk trie of an 8 MiB transaction of zeros and the proof of chunk 17,733 (key 16 15 01 00),
      // made by the generator that trie-proof.test.ts checks against Substrate's bytes.
      const chunks = Array.from({ length: 32768 }, () => new Uint8Array(256));
      const { root, proof } = compactProof(chunks.map((value, index) => ({ key: encodeCompact(index), value })), [Uint8Array.of(0x16, 0x15, 0x01, 0x00)], 1);
      const key = Uint8Array.of(0x16, 0x15, 0x01, 0x00);
      expect(await verify('verify_b2', verifyInput(root, proof, key, new Uint8Array(256), 1))).toBe(1);
      expect(await verify('verify_b2', verifyInput(root, proof, key, new Uint8Array(256), 0))).toBe(0);
      expect(await verify('verify_b1', verifyInput(root, proof, key, new Uint8Array(256), 0))).toBe(0);
      expect(await verify('verify_b2', verifyInput(root, proof, key, new Uint8Array(255), 1))).toBe(0);
    }, 60_000);

    test.each(FUNCTIONS.map(([entry, , hash, version]) => [entry, hash, version] as const))(
      '%s: 1 for what random tries hold (both state versions where the function takes one), 0 otherwise',
      async (entry, hash: TrieHash, functionVersion) => {
        const random = prng(entry.length * 31 + functionVersion);
        const versions: StateVersion[] = functionVersion === 2 ? [0, 1] : [0];
        let calls = 0;
        for (const version of versions) {
          for (let trial = 0; trial < 6; trial++) {
            const entries = randomEntries(random, 2 + Math.floor(random() * 30));
            const [hexKey, value] = entries[Math.floor(random() * entries.length)]!;
            const key = fromHex(hexKey);
            const { root, proof } = compactProof(entries.map(([k, v]) => ({ key: fromHex(k), value: v })), [key], version, hash);
            expect(await verify(entry, verifyInput(root, proof, key, value, version))).toBe(1);
            expect(await verify(entry, verifyInput(root, proof, key, concatBytes(value, Uint8Array.of(1)), version))).toBe(0);
            expect(await verify(entry, verifyInput(flipped(root, 0), proof, key, value, version))).toBe(0);
            calls += 3;
          }
        }
        expect(calls).toBe(18 * versions.length);
      },
    );

    test('a proof that is not SCALE, or a state version other than 0 or 1, fails the call naming the function', async () => {
      const root = new Uint8Array(32);
      const bad = await failure(runtimeCall(runtime, 'verify_b1', verifyInput(root, Uint8Array.of(4, 8), new Uint8Array(), new Uint8Array(), 0)));
      expect(bad).toMatchObject({ kind: 'HostFunctionFailed', function: 'ext_trie_blake2_256_verify_proof_version_1' });
      const version = await failure(runtimeCall(runtime, 'verify_k2', verifyInput(root, [], new Uint8Array(), new Uint8Array(), 7)));
      expect(version).toMatchObject({ kind: 'HostFunctionFailed', function: 'ext_trie_keccak_256_verify_proof_version_2' });
    });
  });

  describe('calls served by ProofStorage', () => {
    let runtime: SubstrateRuntime;
    beforeAll(async () => {
      runtime = await SubstrateRuntime.create({ code: await scriptGuest({ ...GUEST_VERSION, stateVersion: 1 }), backend });
    });
    const random = prng(backend.length);
    const main = randomEntries(random, 60);
    const child = Uint8Array.of(0xc0, 0xde);
    const childEntries = randomEntries(random, 20);
    // A state as a node holds it: the child trie's root in the main trie too.
    const childRootKey = toHex(concatBytes(new TextEncoder().encode(':child_storage:default:'), child));
    const childRoot = trieRoot(childEntries.map(([key, value]) => ({ key: fromHex(key), value })), 1);
    const state = new MapStorage([...main, [childRootKey, childRoot]], [[child, childEntries]]);
    const readsOf = (reads: StorageRead[]): Command[] =>
      reads.map((read) =>
        read.childTrie === null
          ? [read.kind === 'get' ? 'get' : 'nextKey', read.key]
          : [read.kind === 'get' ? 'childGet' : 'childNextKey', read.childTrie, read.key],
      );
    const commands: Command[] = [
      ...readsOf(randomReads(random, main, 20)),
      ...readsOf(randomReads(random, childEntries, 10, child)),
      ['set', Uint8Array.of(0x77), Uint8Array.of(1)],
      ['get', Uint8Array.of(0x77)],
    ];
    const call = (storage: ProofStorage | MapStorage, input: Uint8Array = script(...commands), options = {}) =>
      runtimeCall(runtime, 'run', input, { storage, ...options });

    test('the reads a call reports prove it: the same call served from the proof gives the same bytes', async () => {
      const full = await call(state);
      // The call's own write answers its read of 0x77: the state is not asked.
      expect(full.storageReads.some((read) => toHex(read.key) === '0x77')).toBe(false);
      expect(full.storageReads.filter((read) => read.childTrie !== null).length).toBeGreaterThan(0);
      const proof = await createReadProof(state, full.storageReads, { stateVersion: 1 });
      const proven = await call(new ProofStorage(proof.stateRoot, proof.nodes));
      expect(toHex(proven.output)).toBe(toHex(full.output));
      expect(answers(proven.output).length).toBe(commands.length - 1);
    });

    test('the storage root reads the whole state; its proof is the whole trie, and serves it', async () => {
      const input = script(['set', Uint8Array.of(0x42), Uint8Array.of(2)], ['root', 1], ['childRoot', child, 1]);
      const full = await call(state, input);
      const proof = await createReadProof(state, full.storageReads, { stateVersion: 1 });
      const proven = await call(new ProofStorage(proof.stateRoot, proof.nodes), input);
      expect(toHex(proven.output)).toBe(toHex(full.output));
      expect(proven.storageDiff).toEqual(full.storageDiff);
    });

    test('a read the proof lacks fails the call: RuntimeCallError caused by ProofError Incomplete, naming key and child trie', async () => {
      const proof = await createReadProof(state, [main[0]![0]], { stateVersion: 1 });
      const key = fromHex(childEntries[0]![0]);
      const error = await failure(call(new ProofStorage(proof.stateRoot, proof.nodes), script(['childGet', child, key])));
      expect(error.kind).toBe('HostFunctionFailed');
      expect(error.function).toBe('ext_default_child_storage_get_version_1');
      expect(error.cause).toBeInstanceOf(ProofError);
      expect(error.cause).toMatchObject({ kind: 'Incomplete', key, childTrie: child });
    });

    test('with fetch, the call pauses while nodes arrive, checks them and goes on', async () => {
      const full = await call(state);
      const stateRoot = (await createReadProof(state, [], { stateVersion: 1 })).stateRoot;
      let fetches = 0;
      const lazy = new ProofStorage(stateRoot, [], {
        fetch: async (key, childTrie, kind) => {
          fetches++;
          await new Promise((resolve) => setTimeout(resolve, 1));
          return (await createReadProof(state, [{ key, childTrie, kind }], { stateVersion: 1 })).nodes;
        },
      });
      const proven = await call(lazy);
      expect(toHex(proven.output)).toBe(toHex(full.output));
      expect(fetches).toBeGreaterThan(3);
      expect(proven.waitingMs).toBeGreaterThan(0);
    });

    test('fetched nodes the state root does not commit to fail the call: ProofError Invalid', async () => {
      const stateRoot = (await createReadProof(state, [], { stateVersion: 1 })).stateRoot;
      const key = fromHex(main[5]![0]);
      const lying = new ProofStorage(stateRoot, [], {
        fetch: async (k, childTrie, kind) => {
          const { nodes } = await createReadProof(state, [{ key: k, childTrie, kind }], { stateVersion: 1 });
          return nodes.map((node, i) => (i === nodes.length - 1 ? flipped(node, 1) : node));
        },
      });
      const error = await failure(call(lying, script(['get', key])));
      expect(error.cause).toMatchObject({ name: 'ProofError', kind: 'Invalid', key, childTrie: null });
    });
  });
});
