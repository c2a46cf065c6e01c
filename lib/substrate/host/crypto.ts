/**
 * The cryptography host functions: signature verification and public-key recovery, answered
 * inline with audited libraries (`@noble/curves` for ed25519 and secp256k1, `@scure/sr25519`
 * for sr25519).
 *
 * A runtime checks every signed extrinsic's signature, and parachain and consensus code check
 * more, so these run thousands of times per block; they need nothing from outside and never
 * pause. Each follows Substrate's `sp-io` exactly, since a host that accepts a signature
 * Substrate refuses (or the reverse) forks from the chain:
 *
 * | function | checks |
 * |---|---|
 * | `ed25519_verify` (v1) | ed25519 with the ZIP-215 rules (Substrate's `ed25519-zebra`) |
 * | `sr25519_verify` (v2) | schnorrkel signatures with the `substrate` signing context |
 * | `sr25519_verify` (v1) | the same (Substrate's v1 also accepts pre-2019 schnorrkel signatures without the marker bit; see below) |
 * | `ecdsa_verify` (v1) | secp256k1: recover the key from `blake2_256(message)` and the 65-byte `r‖s‖v` signature, compare with the 33-byte compressed key; `r` and `s` are reduced modulo the curve order ("overflowing") |
 * | `ecdsa_verify` (v2), `ecdsa_verify_prehashed` (v1) | the same, refusing `r` or `s` at or above the order; the prehashed one takes the 32-byte digest |
 * | `secp256k1_ecdsa_recover` (v1, v2) | `Result<[u8; 64], EcdsaVerifyError>`: the uncompressed key without its `04` byte, or `BadRS` (0), `BadV` (1), `BadSignature` (2); `v` may be 0..3 or 27..30; v1 reduces overflowing `r`, `s`, v2 refuses them |
 * | `secp256k1_ecdsa_recover_compressed` (v1, v2) | the same with the 33-byte compressed key |
 * | `*_batch_verify`, `start_batch_verify`, `finish_batch_verify` | Substrate no longer batches (since 2023): each batch function verifies at once and answers; between `start` and `finish` the results are also ANDed, and `finish` answers whether all were valid |
 *
 * All answer `1` (valid) or `0`; a malformed key or signature is simply invalid.
 *
 * **Mocking.** A dry run or a test often wants transactions accepted without real keys: the
 * call's `mockSignatures` option answers every verification `valid` (`'all'`), or accepts the
 * "magic" signature `de ad be ef cd cd ...` and checks the rest (`'magic'`), as chopsticks's
 * `mockSignatureHost` does. Recovery functions are never mocked.
 *
 * Not served here (they go to the `onHostCall` handler): the keystore functions
 * (`*_public_keys`, `*_generate`, `*_sign`), which need the node's keys.
 *
 * Known difference: sr25519 v1 signatures made by schnorrkel before 0.8 (2019, no marker bit,
 * a different transcript) are refused here; Substrate and smoldot still accept them. No current
 * runtime imports v1.
 *
 * @module
 */

import { blake2b } from '@noble/hashes/blake2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { verify as sr25519Verify } from '@scure/sr25519';
import type { CallContext } from '../call/context.js';
import { hostFunctionFailed } from '../errors.js';
import { concatBytes } from '../encoding/scale.js';
import { type HostFunctionTable, type InlineHostFunction, argBuffer, argFixed, i32, inline, ps, returnBytes, sig } from './definition.js';

/** The order of secp256k1's group. */
const CURVE_ORDER = secp256k1.Point.CURVE().n;

/** Whether `signature` is chopsticks's magic signature: `de ad be ef` then only `cd` bytes. */
export function isMagicSignature(signature: Uint8Array): boolean {
  if (signature.length < 4 || signature[0] !== 0xde || signature[1] !== 0xad || signature[2] !== 0xbe || signature[3] !== 0xef) return false;
  for (let i = 4; i < signature.length; i++) if (signature[i] !== 0xcd) return false;
  return true;
}

/** ed25519 under the ZIP-215 rules, as `ed25519-zebra`. */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: true });
  } catch {
    return false;
  }
}

/** sr25519 (schnorrkel, `substrate` context). */
export function verifySr25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return sr25519Verify(message, signature, publicKey);
  } catch {
    return false;
  }
}

/** Why a secp256k1 recovery failed: the SCALE index of Substrate's `EcdsaVerifyError`. */
export type EcdsaVerifyError = 'BadRS' | 'BadV' | 'BadSignature';

/**
 * Recovers the secp256k1 public key (as a curve point's bytes: 65 uncompressed, or 33
 * compressed) from a 65-byte `r‖s‖v` signature of a 32-byte digest. `overflowing`: reduce `r`
 * and `s` modulo the order (libsecp256k1's `parse_overflowing`) instead of refusing them.
 * `legacyV`: accept `v` of 27..30 as 0..3 (the recovery host functions do, verification does not).
 */
export function recoverSecp256k1(
  signature: Uint8Array,
  digest: Uint8Array,
  options: { readonly overflowing: boolean; readonly legacyV: boolean; readonly compressed: boolean },
): Uint8Array | EcdsaVerifyError {
  let v = signature[64]!;
  if (options.legacyV && v > 26) v -= 27;
  if (v > 3) return 'BadV';
  let r = bytesToBigint(signature.subarray(0, 32));
  let s = bytesToBigint(signature.subarray(32, 64));
  if (options.overflowing) {
    r %= CURVE_ORDER;
    s %= CURVE_ORDER;
  } else if (r >= CURVE_ORDER || s >= CURVE_ORDER) {
    return 'BadRS';
  }
  try {
    const point = new secp256k1.Signature(r, s, v).recoverPublicKey(digest);
    return point.toBytes(options.compressed);
  } catch {
    return 'BadSignature';
  }
}

/** `ecdsa_verify`: the key recovered from `blake2_256(message)` (or the given digest) equals the compressed `publicKey`. */
function verifyEcdsa(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array, overflowing: boolean): boolean {
  const recovered = recoverSecp256k1(signature, digest, { overflowing, legacyV: false, compressed: true });
  return typeof recovered !== 'string' && recovered.every((byte, i) => byte === publicKey[i]);
}

/** Sizes of each scheme's signature and public key. */
const SIZES = { ed25519: [64, 32], sr25519: [64, 32], ecdsa: [65, 33] } as const;

type Scheme = keyof typeof SIZES;

/**
 * A verification function `(signature: i32, message: ps, publicKey: i32) -> i32`. `batch`:
 * also ANDs the result into an open batch. `prehashed`: the message is a 32-byte digest behind an `i32`.
 */
function verifier(
  scheme: Scheme,
  check: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean,
  options: { readonly batch?: boolean; readonly prehashed?: boolean } = {},
): InlineHostFunction {
  const [signatureSize, keySize] = SIZES[scheme];
  return inline(sig([i32, options.prehashed === true ? i32 : ps, i32], i32), (context, memory, [sigPointer, message, keyPointer]) => {
    const signature = argFixed(memory, sigPointer, signatureSize, 'signature');
    const messageBytes = options.prehashed === true ? argFixed(memory, message, 32, 'message') : argBuffer(memory, message, 'message');
    const publicKey = argFixed(memory, keyPointer, keySize, 'public key');
    const valid = mocked(context, signature) || check(signature, messageBytes, publicKey);
    if (options.batch === true && context.batchVerification !== null) context.batchVerification &&= valid;
    return valid ? 1 : 0;
  });
}

function mocked(context: CallContext, signature: Uint8Array): boolean {
  return context.mockSignatures === 'all' || (context.mockSignatures === 'magic' && isMagicSignature(signature));
}

/** `secp256k1_ecdsa_recover[_compressed]`: `(signature: i32, digest: i32) -> ps` answering `Result<key, EcdsaVerifyError>`. */
function recoverer(overflowing: boolean, compressed: boolean): InlineHostFunction {
  return inline(sig([i32, i32], ps), (context, memory, [sigPointer, digestPointer]) => {
    const signature = argFixed(memory, sigPointer, 65, 'signature');
    const digest = argFixed(memory, digestPointer, 32, 'message');
    const recovered = recoverSecp256k1(signature, digest, { overflowing, legacyV: true, compressed });
    if (typeof recovered === 'string') return returnBytes(context, memory, Uint8Array.of(1, ['BadRS', 'BadV', 'BadSignature'].indexOf(recovered)));
    // The uncompressed form without its leading 04 byte.
    return returnBytes(context, memory, concatBytes(Uint8Array.of(0), compressed ? recovered : recovered.subarray(1)));
  });
}

const blake2_256 = (data: Uint8Array) => blake2b(data, { dkLen: 32 });

/** The cryptography host functions, by import name. */
export const CRYPTO_HOST_FUNCTIONS: HostFunctionTable = {
  ext_crypto_ed25519_verify_version_1: verifier('ed25519', verifyEd25519),
  ext_crypto_ed25519_batch_verify_version_1: verifier('ed25519', verifyEd25519, { batch: true }),
  ext_crypto_sr25519_verify_version_1: verifier('sr25519', verifySr25519),
  ext_crypto_sr25519_verify_version_2: verifier('sr25519', verifySr25519),
  ext_crypto_sr25519_batch_verify_version_1: verifier('sr25519', verifySr25519, { batch: true }),
  ext_crypto_ecdsa_verify_version_1: verifier('ecdsa', (s, m, k) => verifyEcdsa(s, blake2_256(m), k, true)),
  ext_crypto_ecdsa_verify_version_2: verifier('ecdsa', (s, m, k) => verifyEcdsa(s, blake2_256(m), k, false)),
  ext_crypto_ecdsa_batch_verify_version_1: verifier('ecdsa', (s, m, k) => verifyEcdsa(s, blake2_256(m), k, true), { batch: true }),
  ext_crypto_ecdsa_verify_prehashed_version_1: verifier('ecdsa', (s, m, k) => verifyEcdsa(s, m, k, false), { prehashed: true }),
  ext_crypto_secp256k1_ecdsa_recover_version_1: recoverer(true, false),
  ext_crypto_secp256k1_ecdsa_recover_version_2: recoverer(false, false),
  ext_crypto_secp256k1_ecdsa_recover_compressed_version_1: recoverer(true, true),
  ext_crypto_secp256k1_ecdsa_recover_compressed_version_2: recoverer(false, true),
  ext_crypto_start_batch_verify_version_1: inline(sig([], null), (context) => {
    if (context.batchVerification !== null) throw hostFunctionFailed('ext_crypto_start_batch_verify_version_1', 'a batch verification is already open');
    context.batchVerification = true;
    return undefined;
  }),
  ext_crypto_finish_batch_verify_version_1: inline(sig([], i32), (context) => {
    const outcome = context.batchVerification;
    if (outcome === null) throw hostFunctionFailed('ext_crypto_finish_batch_verify_version_1', 'no batch verification is open');
    context.batchVerification = null;
    return outcome ? 1 : 0;
  }),
};

function bytesToBigint(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}
