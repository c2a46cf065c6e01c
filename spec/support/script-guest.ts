/**
 * Test helper: a tiny runtime that runs a *script* of host calls given as its input, so that a
 * test can make one runtime call do any sequence of storage writes, transactions, reads, roots
 * and signature checks, and see every answer.
 *
 * The input is a list of commands: an opcode byte, then the command's arguments, each as a
 * little-endian `u32` length and that many bytes (an `i32` argument is passed as 4 bytes). The
 * output is the list of the answers of the commands that have one, each as a `u32` length
 * and the bytes (an `i32` answer as 4 bytes, a pointer-size answer as what it designates).
 */
import { GUEST_VERSION, type TestVersion, guestWat, versionSections, withCustomSections } from './substrate-guest.js';
import { wat } from './wat.js';

/** What each opcode calls: the import, its argument kinds (`b` a buffer, `i` an i32), its answer (`ps`, `i32`, `ptr32`: a pointer to 32 bytes, `ptr<n>`, or none). */
const COMMANDS = {
  set: ['ext_storage_set_version_1', 'bb', null],
  clear: ['ext_storage_clear_version_1', 'b', null],
  append: ['ext_storage_append_version_1', 'bb', null],
  clearPrefix: ['ext_storage_clear_prefix_version_2', 'bb', 'ps'],
  clearPrefixV1: ['ext_storage_clear_prefix_version_1', 'b', null],
  start: ['ext_storage_start_transaction_version_1', '', null],
  commit: ['ext_storage_commit_transaction_version_1', '', null],
  rollback: ['ext_storage_rollback_transaction_version_1', '', null],
  get: ['ext_storage_get_version_1', 'b', 'ps'],
  exists: ['ext_storage_exists_version_1', 'b', 'i32'],
  nextKey: ['ext_storage_next_key_version_1', 'b', 'ps'],
  root: ['ext_storage_root_version_2', 'i', 'ps'],
  rootV1: ['ext_storage_root_version_1', '', 'ps'],
  childSet: ['ext_default_child_storage_set_version_1', 'bbb', null],
  childClear: ['ext_default_child_storage_clear_version_1', 'bb', null],
  childGet: ['ext_default_child_storage_get_version_1', 'bb', 'ps'],
  childNextKey: ['ext_default_child_storage_next_key_version_1', 'bb', 'ps'],
  childRoot: ['ext_default_child_storage_root_version_2', 'bi', 'ps'],
  childKill: ['ext_default_child_storage_storage_kill_version_3', 'bb', 'ps'],
  childClearPrefix: ['ext_default_child_storage_clear_prefix_version_2', 'bbb', 'ps'],
  offchainIndexSet: ['ext_offchain_index_set_version_1', 'bb', null],
  offchainIndexClear: ['ext_offchain_index_clear_version_1', 'b', null],
  ed25519Verify: ['ext_crypto_ed25519_verify_version_1', 'pbp', 'i32'],
  sr25519Verify: ['ext_crypto_sr25519_verify_version_2', 'pbp', 'i32'],
  ed25519BatchVerify: ['ext_crypto_ed25519_batch_verify_version_1', 'pbp', 'i32'],
  ecdsaVerify: ['ext_crypto_ecdsa_verify_version_2', 'pbp', 'i32'],
  ecdsaVerifyV1: ['ext_crypto_ecdsa_verify_version_1', 'pbp', 'i32'],
  ecdsaVerifyPrehashed: ['ext_crypto_ecdsa_verify_prehashed_version_1', 'ppp', 'i32'],
  recover: ['ext_crypto_secp256k1_ecdsa_recover_version_2', 'pp', 'ps'],
  recoverV1: ['ext_crypto_secp256k1_ecdsa_recover_version_1', 'pp', 'ps'],
  recoverCompressed: ['ext_crypto_secp256k1_ecdsa_recover_compressed_version_2', 'pp', 'ps'],
  startBatch: ['ext_crypto_start_batch_verify_version_1', '', null],
  finishBatch: ['ext_crypto_finish_batch_verify_version_1', '', 'i32'],
  trieRoot: ['ext_trie_blake2_256_root_version_2', 'bi', 'ptr32'],
  orderedRoot: ['ext_trie_blake2_256_ordered_root_version_2', 'bi', 'ptr32'],
  keccakRoot: ['ext_trie_keccak_256_root_version_1', 'b', 'ptr32'],
  runtimeVersion: ['ext_misc_runtime_version_version_1', 'b', 'ps'],
  transactionIndex: ['ext_transaction_index_index_version_1', 'iip', null],
  timestamp: ['ext_offchain_timestamp_version_1', '', 'i64'],
  randomSeed: ['ext_offchain_random_seed_version_1', '', 'ptr32'],
  localGet: ['ext_offchain_local_storage_get_version_1', 'ib', 'ps'],
  localCas: ['ext_offchain_local_storage_compare_and_set_version_1', 'ibbb', 'i32'],
  submit: ['ext_offchain_submit_transaction_version_1', 'b', 'ps'],
  proofSize: ['ext_storage_proof_size_storage_proof_size_version_1', '', 'i64'],
} as const;

/** A command's name. */
export type CommandName = keyof typeof COMMANDS;

/** One command of a script: its name and arguments (`Uint8Array` for buffers and pointers, `number` for i32). */
export type Command = [CommandName, ...(Uint8Array | number)[]];

const NAMES = Object.keys(COMMANDS) as CommandName[];

/** The WAT type of an argument kind: `b` a pointer-size, `i` an i32, `p` a pointer (i32). */
const wasmType = (kind: string) => (kind === 'b' ? 'i64' : 'i32');

/**
 * The script runtime (its entry point is `run`), with `version` in its custom sections.
 * `without`: commands whose import the runtime must not have (a host that lacks them refuses
 * the module); the other opcodes keep their numbers.
 */
export async function scriptGuest(version: TestVersion = GUEST_VERSION, without: readonly CommandName[] = []): Promise<Uint8Array> {
  const included = (name: CommandName) => !without.includes(name);
  const imports = NAMES.filter(included).map((name) => {
    const op = NAMES.indexOf(name);
    const [importName, args, result] = COMMANDS[name];
    const params = [...args].map(wasmType).join(' ');
    const resultType = result === null ? '' : `(result ${result === 'ps' || result === 'i64' ? 'i64' : 'i32'})`;
    return `(import "env" "${importName}" (func $op${op} (param ${params}) ${resultType}))`;
  });
  imports.push('(import "env" "ext_allocator_malloc_version_1" (func $malloc (param i32) (result i32)))');
  const cases = NAMES.filter(included).map((name) => {
    const op = NAMES.indexOf(name);
    const [, args, result] = COMMANDS[name];
    const reads = [...args].map((kind) => (kind === 'b' ? '(call $arg)' : kind === 'i' ? '(call $int)' : '(call $ptr)')).join(' ');
    const call = `(call $op${op} ${reads})`;
    let emit: string;
    if (result === null) emit = call;
    else if (result === 'ps') emit = `(call $emitps ${call})`;
    else if (result === 'i32') emit = `(call $emit32 ${call})`;
    else if (result === 'i64') emit = `(call $emit64 ${call})`;
    else emit = `(call $emit ${call} (i32.const 32))`;
    return `(if (i32.eq (local.get $op) (i32.const ${op})) (then ${emit} (br $next)))`;
  });
  const body = `
  (global $cur (mut i32) (i32.const 0))
  (global $out (mut i32) (i32.const 0))
  (global $scratch (mut i32) (i32.const 0))
  ;; the next argument: a pointer-size to its bytes
  (func $arg (result i64) (local $len i32) (local $at i32)
    (local.set $len (i32.load (global.get $cur)))
    (local.set $at (i32.add (global.get $cur) (i32.const 4)))
    (global.set $cur (i32.add (local.get $at) (local.get $len)))
    (call $ps (local.get $at) (local.get $len)))
  ;; the next argument as a pointer to its bytes
  (func $ptr (result i32) (i32.wrap_i64 (call $arg)))
  ;; the next argument's 4 bytes as an i32
  (func $int (result i32) (i32.load (i32.wrap_i64 (call $arg))))
  (func $emit (param $p i32) (param $l i32) (local $i i32)
    (i32.store (global.get $out) (local.get $l))
    (global.set $out (i32.add (global.get $out) (i32.const 4)))
    (block $done (loop $copy
      (br_if $done (i32.ge_u (local.get $i) (local.get $l)))
      (i32.store8 (i32.add (global.get $out) (local.get $i)) (i32.load8_u (i32.add (local.get $p) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (global.set $out (i32.add (global.get $out) (local.get $l))))
  (func $emitps (param $v i64) (call $emit (i32.wrap_i64 (local.get $v)) (i32.wrap_i64 (i64.shr_u (local.get $v) (i64.const 32)))))
  (func $emit32 (param $v i32) (i32.store (global.get $scratch) (local.get $v)) (call $emit (global.get $scratch) (i32.const 4)))
  (func $emit64 (param $v i64) (i64.store (global.get $scratch) (local.get $v)) (call $emit (global.get $scratch) (i32.const 8)))
  (func (export "run") (param $p i32) (param $l i32) (result i64) (local $end i32) (local $op i32) (local $start i32)
    (global.set $cur (local.get $p))
    (local.set $end (i32.add (local.get $p) (local.get $l)))
    (local.set $start (call $malloc (i32.const 262144)))
    (global.set $out (local.get $start))
    (global.set $scratch (call $malloc (i32.const 16)))
    (block $exit (loop $loop
      (br_if $exit (i32.ge_u (global.get $cur) (local.get $end)))
      (local.set $op (i32.load8_u (global.get $cur)))
      (global.set $cur (i32.add (global.get $cur) (i32.const 1)))
      (block $next
        ${cases.join('\n        ')}
        (unreachable))
      (br $loop)))
    (call $ps (local.get $start) (i32.sub (global.get $out) (local.get $start))))`;
  return withCustomSections(await wat(guestWat(imports.join('\n'), body)), versionSections(version));
}

/** The input of the script runtime's `run` for `commands`. */
export function script(...commands: Command[]): Uint8Array {
  const out: number[] = [];
  for (const [name, ...args] of commands) {
    out.push(NAMES.indexOf(name));
    for (const arg of args) {
      const bytes = typeof arg === 'number' ? Uint8Array.of(arg & 0xff, (arg >> 8) & 0xff, (arg >> 16) & 0xff, (arg >>> 24) & 0xff) : arg;
      out.push(bytes.length & 0xff, (bytes.length >> 8) & 0xff, (bytes.length >> 16) & 0xff, bytes.length >>> 24, ...bytes);
    }
  }
  return Uint8Array.from(out);
}

/** The answers in the script runtime's output. */
export function answers(output: Uint8Array): Uint8Array[] {
  const view = new DataView(output.buffer, output.byteOffset, output.byteLength);
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < output.length; ) {
    const length = view.getUint32(offset, true);
    out.push(output.slice(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return out;
}
