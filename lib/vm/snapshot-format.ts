/**
 * Snapshots: a paused call (`paused-call.ts`) as bytes, for `vm.snapshot()` and
 * `VirtualMachine.restore()`.
 *
 * The framing, the checksum and the order of the checks are `call-identity.ts`'s (magic
 * `RWASMSNP`, format {@link SNAPSHOT_FORMAT}). The header names the module (SHA-256 and length),
 * the options that shaped the instrumented module (an artifact's: features, floats, memory rules
 * and cap, the unwind buffer's size, the transform), the import table as resolved (ids
 * included) and whether the call is journaled, then describes the call: the callee and its
 * arguments, the start function's state, the memory's size, every exported global, the paused
 * import with its raw arguments and the pause mechanism's state, and the sizes of the body's
 * sections:
 *
 * ```text
 * body   the paused stack's bytes (the unwind buffer's used part, header first)
 *        the memory's bytes (pages * 64 KiB)
 *        the journal's events (with VmConfig.journal)
 * ```
 *
 * Everything decoded is checked against the restoring prototype before anything is changed
 * (`paused-call.ts`'s `whyNotApplicable`): a snapshot that does not fit is refused, never run.
 *
 * @module
 */

import type { BaseComponents } from '../base/components.js';
import { SnapshotError } from '../base/errors.js';
import { PAGE_SIZE } from '../base/guest-memory-access.js';
import { type Signature, isValueType } from '../base/values.js';
import { type CallIdentity, checkIdentity, decodeRaw, encodeRaw, frame, importsFingerprint, unframe } from './call-identity.js';
import type { PausedCall } from './paused-call.js';
import type { StartFunctionState } from './live-instance.js';

/** The snapshot format version this library reads and writes. */
export const SNAPSHOT_FORMAT = 1;

const MAGIC = 'RWASMSNP';

/** What a snapshot of `components` names (see `call-identity.ts`): only Asyncify components have one. */
export function snapshotIdentity(components: BaseComponents): CallIdentity {
  const provenance = components.provenance!;
  return {
    module: { sha256: provenance.moduleSha256, length: provenance.moduleLength },
    options: { ...provenance.options, journal: components.journal !== undefined && components.journal !== null },
    imports: importsFingerprint(components.imports),
  };
}

/** The bytes of `call`, a call of an instance of `components`. */
export function encodeSnapshot(components: BaseComponents, call: PausedCall): Uint8Array {
  const header = {
    identity: snapshotIdentity(components),
    callee: {
      functionName: call.callee.functionName,
      params: call.callee.signature.params,
      result: call.callee.signature.result,
      args: call.callee.args.map(encodeRaw),
    },
    startFunction: call.startFunction,
    pages: call.pages,
    globals: call.globals.map(([name, value]) => [name, encodeRaw(value)]),
    stack: { importIndex: call.stack.importIndex, args: call.stack.args.map(encodeRaw), state: call.stack.state },
    sections: [call.stack.bytes.length, call.memory.length, call.journal === null ? -1 : call.journal.length],
  };
  const sections = [call.stack.bytes, call.memory];
  if (call.journal !== null) sections.push(call.journal);
  return frame(MAGIC, SNAPSHOT_FORMAT, header, sections);
}

const START_STATES: readonly StartFunctionState[] = ['none', 'pending', 'finished', 'trapped'];

/**
 * The paused call in `bytes`, after every check of the module documentation against
 * `components` (but not yet against an instance: `whyNotApplicable` does that). Throws
 * {@link SnapshotError}. The memory and the journal are views of `bytes`.
 */
export function decodeSnapshot(bytes: unknown, components: BaseComponents): PausedCall {
  const { header, body } = unframe(bytes, MAGIC, SNAPSHOT_FORMAT, 'snapshot');
  checkIdentity(header.identity, snapshotIdentity(components), 'snapshot');
  const bad = (what: string): never => {
    throw new SnapshotError('Corrupted', `the snapshot header is malformed: ${what}`);
  };
  const h = header as {
    callee?: { functionName?: unknown; params?: unknown; result?: unknown; args?: unknown };
    startFunction?: unknown;
    pages?: unknown;
    globals?: unknown;
    stack?: { importIndex?: unknown; args?: unknown; state?: unknown };
    sections?: unknown;
  };
  const callee = h.callee ?? bad('no callee');
  if (callee.functionName !== null && typeof callee.functionName !== 'string') bad('the callee has no name');
  if (!Array.isArray(callee.params) || !callee.params.every(isValueType)) bad("the callee's parameters are not value types");
  if (callee.result !== null && !isValueType(callee.result)) bad("the callee's result is not a value type");
  if (!Array.isArray(callee.args)) bad("the callee's arguments are not a list");
  const startFunction = START_STATES.find((s) => s === h.startFunction) ?? bad('the start function state is unknown');
  const pages = h.pages;
  if (typeof pages !== 'number' || !Number.isInteger(pages) || pages < 0 || pages > 65536) bad('the memory size is not a page count');
  if (!Array.isArray(h.globals) || !h.globals.every((g) => Array.isArray(g) && g.length === 2 && typeof g[0] === 'string')) {
    bad('the globals are not a list of [name, value]');
  }
  const stack = h.stack ?? bad('no paused stack');
  if (typeof stack.importIndex !== 'number' || !Number.isInteger(stack.importIndex) || stack.importIndex < 0) bad('the paused import is not an index');
  if (!Array.isArray(stack.args)) bad("the paused import's arguments are not a list");
  if (typeof stack.state !== 'number') bad("the pause mechanism's state is not a number");
  const sizes = h.sections;
  if (
    !Array.isArray(sizes) ||
    sizes.length !== 3 ||
    !sizes.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= -1) ||
    sizes[0] < 0 ||
    sizes[1] !== (pages as number) * PAGE_SIZE ||
    sizes[0] + sizes[1] + Math.max(sizes[2], 0) !== body.length
  ) {
    bad('the section sizes do not add up to the body');
  }
  const [stackLength, memoryLength, journalLength] = sizes as [number, number, number];
  const signature: Signature = { params: callee.params as Signature['params'], result: callee.result as Signature['result'] };
  return {
    callee: {
      functionName: callee.functionName as string | null,
      signature,
      args: (callee.args as unknown[]).map((a) => decodeRaw(a, 'snapshot')),
    },
    startFunction,
    pages: pages as number,
    memory: body.subarray(stackLength, stackLength + memoryLength),
    globals: (h.globals as [string, unknown][]).map(([name, value]) => [name, decodeRaw(value, 'snapshot')] as const),
    stack: {
      importIndex: stack.importIndex as number,
      args: (stack.args as unknown[]).map((a) => decodeRaw(a, 'snapshot')),
      state: stack.state as number,
      bytes: body.subarray(0, stackLength),
    },
    journal: journalLength < 0 ? null : body.subarray(stackLength + memoryLength),
  };
}
