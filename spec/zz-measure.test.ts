import { STACK_SHAPES, deepestFinishing, shapeRunner } from './support/stack-shapes.js';
import { rewriteCode } from '../lib/transform/code-rewrite.js';
import { wat } from './support/wat.js';
test('measure', async () => {
  const lines: string[] = [];
  for (const backend of ['jspi', 'asyncify'] as const) {
    for (const opts of [{ maxStackHeight: 0x7fffffff }, { maxStackHeight: 0x7fffffff, fuel: true, canonicalizeNaNs: true }, {}]) {
      for (const shape of STACK_SHAPES) {
        const bytes = await wat(shape.source);
        const costs = rewriteCode(bytes, { maxStackHeight: 1000 }).stack!.costs;
        const runner = await shapeRunner(bytes, backend, opts);
        const depth = await deepestFinishing(runner, 1 << 20);
        const I = 1;
        const cost = costs[I]!, run = costs[I + 1]!;
        lines.push(`${backend} ${JSON.stringify(opts)} ${shape.name} cost ${cost} run ${run} depth ${depth} units ${run + depth * cost}`);
      }
    }
  }
  console.log(lines.join('\n'));
}, 3_600_000);
