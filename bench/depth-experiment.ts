/**
 * Experiment: the deepest recursion that pauses and resumes, per Binaryen post-pass list, against
 * the same function uninstrumented. Run under different V8 tiers, e.g.
 *   node --liftoff-only build/bench/depth-experiment.js "" "simplify-locals-nostructure,vacuum"
 */
import { deepest, plainRecursion, vmRecursion } from '../spec/support/recursion.js';

const plain = await plainRecursion();
deepest(plain);
const results: Record<string, number> = { plain: deepest(plain) };
for (const arg of process.argv.slice(2)) {
  const vm = await vmRecursion(undefined, 0, arg.split(',').filter(Boolean));
  const ok = (n: number): boolean => vm.pauseAndResume(n);
  deepest(ok);
  results[arg || '(none)'] = deepest(ok);
}
console.log(JSON.stringify(results));
