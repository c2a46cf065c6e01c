// Makes the two probe modules of lib/backends/pause-probe-modules.ts: a guest that pauses at an
// import from a fixed depth of frames, as written (for JSPI) and instrumented by Binaryen's
// Asyncify with its buffer in the module's one memory (so that the probe runs on engines
// without multi-memory). `node scripts/make-pause-probe.mjs` prints the file;
// `spec/pause-probe.test.ts` checks that the committed file is what this makes.
import binaryenModule from 'binaryen';
import wabtInit from 'wabt';

export const PROBE_WAT = `(module
  (import "p" "pause" (func $pause))
  (memory (export "memory") 1 1)
  ;; Descends $n frames, pauses at the bottom, and adds on the way back up.
  (func $down (param $n i32) (param $acc i32) (result i32)
    local.get $n
    i32.eqz
    if (result i32)
      call $pause
      local.get $acc
    else
      local.get $n
      i32.const 1
      i32.sub
      local.get $acc
      local.get $n
      i32.add
      call $down
    end)
  ;; Pauses $pauses times, each from 16 frames deep.
  (func (export "run") (param $pauses i32) (result i32)
    (local $sum i32)
    block $done
      loop $again
        local.get $pauses
        i32.eqz
        br_if $done
        local.get $sum
        i32.const 16
        i32.const 0
        call $down
        i32.add
        local.set $sum
        local.get $pauses
        i32.const 1
        i32.sub
        local.set $pauses
        br $again
      end
    end
    local.get $sum))`;

/** The two modules' bytes. */
export async function makePauseProbe() {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat('probe.wat', PROBE_WAT, {});
  const plain = new Uint8Array(parsed.toBinary({}).buffer);
  parsed.destroy();
  const binaryen = binaryenModule;
  const module = binaryen.readBinary(plain);
  try {
    binaryen.setOptimizeLevel(0);
    binaryen.setShrinkLevel(0);
    binaryen.setPassArgument('asyncify-imports', 'p.pause');
    module.runPasses(['asyncify']);
    binaryen.setPassArgument('asyncify-imports', null);
    if (!module.validate()) throw new Error('the instrumented probe does not validate');
    return { plain, asyncify: module.emitBinary() };
  } finally {
    module.dispose();
  }
}

function hex(bytes) {
  const text = Buffer.from(bytes).toString('hex');
  const lines = [];
  for (let i = 0; i < text.length; i += 96) lines.push(`  '${text.slice(i, i + 96)}'`);
  return lines.join(' +\n');
}

/** The source of lib/backends/pause-probe-modules.ts. */
export async function pauseProbeSource() {
  const { plain, asyncify } = await makePauseProbe();
  return `/**
 * The probe modules of \`pause-probe.ts\`, as bytes: made by \`scripts/make-pause-probe.mjs\` (with
 * wabt and Binaryen, which the library does not load for this), checked by
 * \`spec/pause-probe.test.ts\`. Do not edit: run the script.
 *
 * @module
 */

/** The probe as written: for JSPI. */
export const PLAIN_PROBE_HEX =
${hex(plain)};

/** The probe instrumented by Asyncify, its buffer in its own memory: for Asyncify. */
export const ASYNCIFY_PROBE_HEX =
${hex(asyncify)};
`;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(await pauseProbeSource());
