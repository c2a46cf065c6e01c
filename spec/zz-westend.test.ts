import { readFileSync } from 'node:fs';
import { SubstrateRuntime, runtimeCall, MapStorage } from '../lib/substrate/index.js';
import { sharedPath } from './support/shared.js';
test('westend heights', async () => {
  const code = readFileSync(sharedPath('runtimes/westend-runtime-v9300.wasm')!);
  const lines: string[] = [];
  for (const backend of ['jspi'] as const) {
    const ok = async (limit: number) => {
      const rt = await SubstrateRuntime.create({ code, backend, maxStackHeight: limit, fuel: true, canonicalizeNaNs: true });
      try { const r = await runtimeCall(rt, 'Metadata_metadata', new Uint8Array(), { storage: new MapStorage() }); lines.push(`fuel ${r.fuelConsumed}`); return true; } catch (e) { lines.push(String(e).slice(0, 200)); return false; }
    };
    let lo = 1000, hi = 1 << 22;
    while (lo < hi) { const mid = Math.floor((lo + hi) / 2); if (await ok(mid)) hi = mid; else lo = mid + 1; }
    lines.push(`${backend}: smallest limit that works ${lo}`);
  }
  console.log(lines.join('\n'));
}, 3_600_000);
