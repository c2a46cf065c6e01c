/**
 * The cryptography, trie, offchain and misc host functions, through a script runtime:
 * signatures made with independent keys (and RFC 8032's published vector), tampered ones,
 * malformed keys, the mocking options, batches, secp256k1 recovery (v1's overflowing `r`, `v`
 * of 27/28, each error code), trie roots of SCALE input (and hostile input), the offchain
 * host's questions, another runtime's version, transaction indexing.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { blake2b } from '@noble/hashes/blake2.js';
import * as sr25519 from '@scure/sr25519';
import {
  type OffchainHost,
  type RuntimeCallOptions,
  SubstrateRuntime,
  encodeRuntimeVersion,
  fromHex,
  orderedTrieRoot,
  runtimeCall,
  toHex,
  trieRoot,
} from '../../lib/substrate/index.js';
import { prng } from '../support/allocator-prng.js';
import { BACKENDS } from '../support/backends.js';
import { guest } from '../support/substrate-guest.js';
import { type Command, answers, script, scriptGuest } from '../support/script-guest.js';

const text = (s: string) => new TextEncoder().encode(s);
const random = prng(0xc0ffee);
const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
const blake2_256 = (data: Uint8Array) => blake2b(data, { dkLen: 32 });

describe.each(BACKENDS)('%s', (backend) => {
  let code: Uint8Array;
  let runtime: SubstrateRuntime;
  beforeAll(async () => {
    code = await scriptGuest();
    runtime = await SubstrateRuntime.create({ code, backend });
    expect(runtime.backend).toBe(backend);
  });

  const run = async (commands: Command[], options: RuntimeCallOptions = {}) => {
    const result = await runtimeCall(runtime, 'run', script(...commands), options);
    return { ...result, answers: answers(result.output).map(toHex) };
  };
  const TRUE = '0x01000000';
  const FALSE = '0x00000000';

  describe('ed25519', () => {
    test('RFC 8032 test 1 (the empty message)', async () => {
      const publicKey = fromHex('0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
      const signature = fromHex(
        '0xe5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
      );
      const { answers: out } = await run([
        ['ed25519Verify', signature, new Uint8Array(), publicKey],
        ['ed25519Verify', signature, Uint8Array.of(0), publicKey],
      ]);
      expect(out).toEqual([TRUE, FALSE]);
    });

    test('fresh keys: valid, tampered, another key, a key that is not a point', async () => {
      const secret = ed25519.utils.randomSecretKey(bytes(32));
      const publicKey = ed25519.getPublicKey(secret);
      const message = text('transfer 10 DOT');
      const signature = ed25519.sign(message, secret);
      const tampered = Uint8Array.from(signature);
      tampered[10]! ^= 1;
      const notAPoint = new Uint8Array(32).fill(0xff);
      const { answers: out } = await run([
        ['ed25519Verify', signature, message, publicKey],
        ['ed25519Verify', tampered, message, publicKey],
        ['ed25519Verify', signature, message, ed25519.getPublicKey(ed25519.utils.randomSecretKey(bytes(32)))],
        ['ed25519Verify', signature, message, notAPoint],
      ]);
      expect(out).toEqual([TRUE, FALSE, FALSE, FALSE]);
    });
  });

  describe('sr25519', () => {
    test('valid, tampered, and a signature without schnorrkel’s marker bit', async () => {
      const secret = sr25519.secretFromSeed(bytes(32));
      const publicKey = sr25519.getPublicKey(secret);
      const message = text('remark');
      const signature = sr25519.sign(secret, message, bytes(32));
      const tampered = Uint8Array.from(signature);
      tampered[0]! ^= 1;
      const unmarked = Uint8Array.from(signature);
      unmarked[63]! &= 0x7f;
      const { answers: out } = await run([
        ['sr25519Verify', signature, message, publicKey],
        ['sr25519Verify', tampered, message, publicKey],
        ['sr25519Verify', unmarked, message, publicKey],
        ['sr25519Verify', signature, text('other'), publicKey],
      ]);
      expect(out).toEqual([TRUE, FALSE, FALSE, FALSE]);
    });
  });

  describe('ecdsa (secp256k1)', () => {
    const secret = secp256k1.utils.randomSecretKey(bytes(48));
    const compressed = secp256k1.getPublicKey(secret, true);
    const uncompressed = secp256k1.getPublicKey(secret, false);
    const message = text('hello ecdsa');
    const digest = blake2_256(message);
    const signature = secp256k1.sign(digest, secret, { prehash: false, format: 'recovered' }); // v ‖ r ‖ s
    const rsv = Uint8Array.from([...signature.subarray(1), signature[0]!]);

    test('verify v1 and v2, prehashed; a wrong key or v fails', async () => {
      const wrongV = Uint8Array.from(rsv);
      wrongV[64] = rsv[64]! ^ 1;
      const { answers: out } = await run([
        ['ecdsaVerify', rsv, message, compressed],
        ['ecdsaVerifyV1', rsv, message, compressed],
        ['ecdsaVerifyPrehashed', rsv, digest, compressed],
        ['ecdsaVerify', wrongV, message, compressed],
        ['ecdsaVerify', rsv, message, secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(bytes(48)), true)],
      ]);
      expect(out).toEqual([TRUE, TRUE, TRUE, FALSE, FALSE]);
    });

    test('recover: the key without its 04 byte, or compressed; v of 27/28; each error', async () => {
      const legacyV = Uint8Array.from(rsv);
      legacyV[64] = rsv[64]! + 27;
      const badV = Uint8Array.from(rsv);
      badV[64] = 5;
      const overflowing = Uint8Array.from(rsv);
      overflowing.fill(0xff, 0, 32); // r above the curve order
      const zero = new Uint8Array(65);
      const { answers: out } = await run([
        ['recover', rsv, digest],
        ['recover', legacyV, digest],
        ['recoverCompressed', rsv, digest],
        ['recover', badV, digest],
        ['recover', overflowing, digest],
        ['recover', zero, digest],
      ]);
      expect(out).toEqual([
        toHex(Uint8Array.from([0, ...uncompressed.subarray(1)])),
        toHex(Uint8Array.from([0, ...uncompressed.subarray(1)])),
        toHex(Uint8Array.from([0, ...compressed])),
        '0x0101', // BadV
        '0x0100', // BadRS: v2 refuses r at or above the order
        '0x0102', // BadSignature
      ]);
      // v1 reduces an overflowing r instead of refusing it: not BadRS
      const [v1] = (await run([['recoverV1', overflowing, digest]])).answers;
      expect(v1).not.toBe('0x0100');
    });
  });

  describe('mocking and batches', () => {
    const garbage = new Uint8Array(64).fill(1);
    const magic = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, ...new Array<number>(60).fill(0xcd)]);
    const key = ed25519.getPublicKey(ed25519.utils.randomSecretKey(bytes(32)));

    test('mockSignatures: all, magic, or none', async () => {
      const commands: Command[] = [
        ['ed25519Verify', garbage, text('m'), key],
        ['ed25519Verify', magic, text('m'), key],
        ['sr25519Verify', magic, text('m'), key],
      ];
      expect((await run(commands)).answers).toEqual([FALSE, FALSE, FALSE]);
      expect((await run(commands, { mockSignatures: 'all' })).answers).toEqual([TRUE, TRUE, TRUE]);
      expect((await run(commands, { mockSignatures: 'magic' })).answers).toEqual([FALSE, TRUE, TRUE]);
    });

    test('a batch answers each signature and, at its end, whether all were valid', async () => {
      const secret = ed25519.utils.randomSecretKey(bytes(32));
      const good = ed25519.sign(text('a'), secret);
      const publicKey = ed25519.getPublicKey(secret);
      const { answers: out } = await run([
        ['startBatch'],
        ['ed25519BatchVerify', good, text('a'), publicKey],
        ['finishBatch'],
        ['startBatch'],
        ['ed25519BatchVerify', good, text('a'), publicKey],
        ['ed25519BatchVerify', garbage, text('a'), publicKey],
        ['finishBatch'],
        ['ed25519BatchVerify', good, text('a'), publicKey], // outside a batch: verified alone
      ]);
      expect(out).toEqual([TRUE, TRUE, TRUE, FALSE, FALSE, TRUE]);
    });

    test('finishing without a batch, or starting twice, fails the call', async () => {
      await expect(run([['finishBatch']])).rejects.toMatchObject({ kind: 'HostFunctionFailed', function: 'ext_crypto_finish_batch_verify_version_1' });
      await expect(run([['startBatch'], ['startBatch']])).rejects.toMatchObject({ kind: 'HostFunctionFailed', message: expect.stringMatching(/already open/) });
    });

    test('pointers are checked: a signature or key past the end of memory fails the call, naming it', async () => {
      const bad = await SubstrateRuntime.create({
        backend,
        code: await guest(
          '(import "env" "ext_crypto_ed25519_verify_version_1" (func $verify (param i32 i64 i32) (result i32)))',
          `(func (export "sig") (param i32 i32) (result i64) (drop (call $verify (i32.const 0x7ffffff0) (call $ps (i32.const 0) (i32.const 0)) (i32.const 0))) (i64.const 0))
           (func (export "key") (param i32 i32) (result i64) (drop (call $verify (i32.const 0) (call $ps (i32.const 0) (i32.const 0)) (i32.const -1))) (i64.const 0))`,
        ),
      });
      await expect(runtimeCall(bad, 'sig')).rejects.toMatchObject({ kind: 'HostFunctionFailed', message: expect.stringMatching(/out of range: the signature argument/) });
      await expect(runtimeCall(bad, 'key')).rejects.toMatchObject({ kind: 'HostFunctionFailed', message: expect.stringMatching(/the public key argument/) });
    });
  });

  describe('trie roots', () => {
    const compact = (n: number) => (n < 64 ? [n << 2] : [((n << 2) | 1) & 0xff, n >> 6]);
    const vecOfPairs = (pairs: [Uint8Array, Uint8Array][]) =>
      Uint8Array.from([...compact(pairs.length), ...pairs.flatMap(([k, v]) => [...compact(k.length), ...k, ...compact(v.length), ...v])]);
    const vecOfValues = (values: Uint8Array[]) => Uint8Array.from([...compact(values.length), ...values.flatMap((v) => [...compact(v.length), ...v])]);

    test('key-value and ordered roots, both versions, both hashes', async () => {
      const pairs: [Uint8Array, Uint8Array][] = Array.from({ length: 20 }, () => [bytes(1 + Math.floor(random() * 4)), bytes(Math.floor(random() * 60))]);
      const values = Array.from({ length: 70 }, () => bytes(Math.floor(random() * 50)));
      const entries = pairs.map(([key, value]) => ({ key, value }));
      const { answers: out } = await run([
        ['trieRoot', vecOfPairs(pairs), 0],
        ['trieRoot', vecOfPairs(pairs), 1],
        ['orderedRoot', vecOfValues(values), 1],
        ['keccakRoot', vecOfPairs(pairs)],
      ]);
      expect(out).toEqual([
        toHex(trieRoot(entries, 0)),
        toHex(trieRoot(entries, 1)),
        toHex(orderedTrieRoot(values, 1)),
        toHex(trieRoot(entries, 0, 'keccak-256')),
      ]);
    });

    test('hostile input: a claimed length past the bytes, trailing bytes', async () => {
      const huge = Uint8Array.of(0xfe, 0xff, 0xff, 0xff); // compact 2^30 - 1 entries in 4 bytes
      await expect(run([['trieRoot', huge, 0]])).rejects.toMatchObject({ kind: 'HostFunctionFailed', message: expect.stringMatching(/not valid SCALE/) });
      await expect(run([['trieRoot', Uint8Array.of(0, 0), 0]])).rejects.toMatchObject({ kind: 'HostFunctionFailed' });
    });
  });

  describe('offchain', () => {
    test('the offchain host answers, synchronously or not; a missing method is UnsupportedHostFunction', async () => {
      const stored = new Map<string, Uint8Array>([['0x6b', Uint8Array.of(1)]]);
      const submitted: string[] = [];
      const offchain: OffchainHost = {
        timestamp: () => 1_700_000_000_000,
        randomSeed: async () => new Uint8Array(32).fill(9),
        localStorageGet: (kind, key) => (kind === 'persistent' ? (stored.get(toHex(key)) ?? null) : null),
        localStorageCompareAndSet: (_kind, key, expected, value) => {
          const current = stored.get(toHex(key)) ?? null;
          if ((current === null) !== (expected === null) || (current !== null && toHex(current) !== toHex(expected!))) return false;
          stored.set(toHex(key), value);
          return true;
        },
        submitTransaction: (xt) => (submitted.push(toHex(xt)), true),
      };
      const { answers: out } = await run(
        [
          ['timestamp'],
          ['randomSeed'],
          ['localGet', 0, text('k')],
          ['localGet', 1, text('k')],
          ['localCas', 0, text('k'), Uint8Array.of(1, 4, 1), Uint8Array.of(2)], // Some([1]) -> [2]
          ['localCas', 0, text('k'), Uint8Array.of(0), Uint8Array.of(3)], // None: no longer true
          ['localGet', 0, text('k')],
          ['submit', Uint8Array.of(7, 7)],
        ],
        { offchain },
      );
      expect(out).toEqual(['0x0068e5cf8b010000', toHex(new Uint8Array(32).fill(9)), '0x010401', '0x00', TRUE, FALSE, '0x010402', '0x00']);
      expect(submitted).toEqual(['0x0707']);
      await expect(run([['timestamp']])).rejects.toMatchObject({ kind: 'UnsupportedHostFunction', message: expect.stringMatching(/no offchain host/) });
      await expect(run([['randomSeed']], { offchain: {} })).rejects.toMatchObject({ kind: 'UnsupportedHostFunction', message: expect.stringMatching(/no randomSeed method/) });
      await expect(run([['randomSeed']], { offchain: { randomSeed: () => new Uint8Array(31) } })).rejects.toMatchObject({
        kind: 'HostFunctionFailed',
        message: expect.stringMatching(/expected 32 bytes/),
      });
      await expect(run([['localGet', 2, text('k')]], { offchain })).rejects.toMatchObject({ kind: 'HostFunctionFailed', message: expect.stringMatching(/storage kind/) });
    });
  });

  describe('misc', () => {
    test('another runtime’s version: from its custom sections; None for code that is not a runtime', async () => {
      const { answers: out } = await run([['runtimeVersion', code], ['runtimeVersion', text('not wasm')]]);
      expect(out).toEqual([toHex(Uint8Array.from([1, ...compactBytes(encodeRuntimeVersion(runtime.version))])), '0x00']);
      const custom = await run([['runtimeVersion', code]], { runtimeVersion: () => Uint8Array.of(9) });
      expect(custom.answers).toEqual(['0x010409']);
    });

    test('transaction indexing is recorded; the storage proof size is the caller’s', async () => {
      const hash = bytes(32);
      const result = await run([['transactionIndex', 3, 100, hash], ['proofSize']], { storageProofSize: 5000 });
      expect(result.transactionIndex).toEqual([{ type: 'index', extrinsic: 3, size: 100, contentHash: hash }]);
      expect(result.answers).toEqual(['0x8813000000000000']);
      await expect(run([['proofSize']])).rejects.toMatchObject({ kind: 'UnsupportedHostFunction' });
    });
  });
});

/** `data` prefixed with its compact length. */
function compactBytes(data: Uint8Array): Uint8Array {
  const n = data.length;
  const prefix = n < 64 ? [n << 2] : n < 1 << 14 ? [((n << 2) | 1) & 0xff, n >> 6] : [];
  return Uint8Array.from([...prefix, ...data]);
}
