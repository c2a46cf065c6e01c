/**
 * What `'auto'` picks where the engine has both backends (`lib/backends/list.ts`): the pause
 * probe (`lib/backends/pause-probe.ts`) and the plan it leads to. Node.js is V8, whose JSPI pause
 * is cheap: there `'auto'` stays JSPI. Firefox's costs (`docs/performance.md`, *Browsers*) are
 * given to the probe by its test hook, to check the other branch here; the browser suite checks
 * the probe on the real engines.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { MemoryArtifactCache, type ProgressEvent, VirtualMachinePrototype, WasmValue, runToCompletion } from '../lib/index.js';
import { SLOW_JSPI_RATIO, autoPlan } from '../lib/backends/list.js';
import { _overridePauseCosts, measurePauseCosts } from '../lib/backends/pause-probe.js';
import { pauseProbeSource } from '../scripts/make-pause-probe.mjs';
import { readFileSync } from 'node:fs';
import { wat } from './support/wat.js';

afterEach(() => _overridePauseCosts(null));

test('the probe modules in the library are what scripts/make-pause-probe.mjs makes', async () => {
  const committed = readFileSync(new URL('../lib/backends/pause-probe-modules.ts', import.meta.url), 'utf8');
  expect(committed).toBe(await pauseProbeSource());
});

test('the probe measures both pauses on this engine, and V8 keeps JSPI', async () => {
  const costs = await measurePauseCosts();
  for (const ns of [costs.jspiNs, costs.asyncifyNs]) {
    expect(Number.isFinite(ns)).toBe(true);
    expect(ns).toBeGreaterThan(0);
  }
  console.info(`pause probe on V8: JSPI ${costs.jspiNs.toFixed(0)} ns, Asyncify ${costs.asyncifyNs.toFixed(0)} ns a pause`);
  expect(costs.jspiNs).toBeLessThan(SLOW_JSPI_RATIO * costs.asyncifyNs);
  // Measured once: every later call answers the same.
  expect(await measurePauseCosts()).toBe(costs);
});

describe('the plan', () => {
  test('a cheap JSPI pause: JSPI; a slow one (Firefox): Asyncify from the cache, else JSPI while the cache fills', () => {
    expect(autoPlan({ jspiNs: 900, asyncifyNs: 1_200 }).backend.name).toBe('jspi');
    expect(autoPlan({ jspiNs: 2_900, asyncifyNs: 1_000 }).backend.name).toBe('jspi');
    const slow = autoPlan({ jspiNs: 14_000, asyncifyNs: 1_100 });
    expect(slow).toMatchObject({ fromCacheOnly: true });
    expect(slow.backend.name).toBe('asyncify');
    expect(slow.fromCacheOnly && slow.fallback.name).toBe('jspi');
  });

  const GUEST = `(module
    (import "env" "get" (func $get (param i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "main") (param $n i32) (result i32)
      (local $sum i32)
      block $done loop $l
        local.get $n i32.eqz br_if $done
        local.get $sum local.get $n call $get i32.add local.set $sum
        local.get $n i32.const 1 i32.sub local.set $n
        br $l
      end end
      local.get $sum))`;

  async function createAuto(moduleBytes: Uint8Array, cache: MemoryArtifactCache | undefined, phases: string[]): Promise<VirtualMachinePrototype> {
    return VirtualMachinePrototype.create({
      moduleBytes,
      backend: 'auto',
      symbols: () => 0,
      ...(cache === undefined ? {} : { cache }),
      onProgress: (event: ProgressEvent) => {
        if (event.status === 'end') phases.push(event.phase);
      },
    });
  }

  async function works(proto: VirtualMachinePrototype): Promise<void> {
    const outcome = await runToCompletion(proto.prepare().start('main', [WasmValue.i32(4)]), ({ params }) => WasmValue.i32(params[0]!.value as number));
    expect(outcome).toEqual({ type: 'finished', value: WasmValue.i32(10) });
  }

  test("on an engine whose JSPI pause is slow, 'auto' with a cache: JSPI at once and the artifact made meanwhile, then Asyncify from the cache", async () => {
    _overridePauseCosts({ jspiNs: 15_000, asyncifyNs: 1_000 });
    const moduleBytes = await wat(GUEST);
    const cache = new MemoryArtifactCache();
    const first: string[] = [];
    const proto = await createAuto(moduleBytes, cache, first);
    expect(proto.backend).toBe('jspi');
    expect(first).not.toContain('transform');
    await works(proto);
    // The artifact arrives in the background: a transform on its own thread.
    while (cache.size === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const second: string[] = [];
    const again = await createAuto(moduleBytes, cache, second);
    expect(again.backend).toBe('asyncify');
    expect(second).toEqual(['cache-lookup', 'load-artifact', 'compile', 'instantiate']);
    await works(again);
  });

  test("without a cache, or where JSPI's pause is cheap, 'auto' is JSPI and measures nothing it does not need", async () => {
    const moduleBytes = await wat(GUEST);
    _overridePauseCosts({ jspiNs: 15_000, asyncifyNs: 1_000 });
    expect((await createAuto(moduleBytes, undefined, [])).backend).toBe('jspi');
    _overridePauseCosts({ jspiNs: 800, asyncifyNs: 1_000 });
    const cache = new MemoryArtifactCache();
    expect((await createAuto(moduleBytes, cache, [])).backend).toBe('jspi');
    expect(cache.size).toBe(0);
  });
});
