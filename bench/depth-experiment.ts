/**
 * Experiment: the deepest recursion that pauses and resumes, per Binaryen post-pass list, against
 * the same function uninstrumented. Run under different V8 tiers, e.g.
 *   node --liftoff-only --import tsx bench/depth-experiment.ts "" "simplify-locals-nostructure,vacuum"
 */
import { VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { RECURSIVE_GUEST, deepest, expectedRec, plainRecursion } from '../spec/support/recursion.js';
import { wat } from '../spec/support/wat.js';

const plain = await plainRecursion();
deepest(plain);
const results: Record<string, number> = { plain: deepest(plain) };
for (const arg of process.argv.slice(2)) {
  let proto = await VirtualMachinePrototype._createTuned(
    { moduleBytes: await wat(RECURSIVE_GUEST), symbols: () => 0, requireMemory: false },
    { postPasses: arg.split(',').filter(Boolean) },
  );
  const ok = (n: number): boolean => {
    const vm = proto.prepare().start('rec', [WasmValue.i32(n)]);
    let o = vm.run(null);
    let good = false;
    if (o.type === 'interrupted') {
      o = vm.run(WasmValue.i32(7));
      good = o.type === 'finished' && o.value?.value === (expectedRec(n, 7) | 0);
    }
    proto = vm.intoPrototype();
    return good;
  };
  deepest(ok);
  results[arg || '(none)'] = deepest(ok);
}
console.log(JSON.stringify(results));
