// The Worker side of the differential fuzzer's "worker" move (see moves.ts): rebuilds the
// prototype from the module's artifact with the built package (dist/, which `npm test` builds
// first), restores the snapshot it is sent, and sends back a snapshot of the restored machine.
// Plain JavaScript: it runs in a thread of its own, outside the test runner's TypeScript loader.
import { parentPort } from 'node:worker_threads';
import { VirtualMachine, VirtualMachinePrototype } from '../../dist/index.js';

/** Prototypes by artifact, so that a module's many moves compile it once. */
const prototypes = new Map();

parentPort.on('message', async ({ id, prototype, snapshot }) => {
  try {
    const key = `${prototype.artifact.length}:${prototype.artifact.subarray(-8).join(',')}`;
    let template = prototypes.get(key);
    if (template === undefined) {
      template = await VirtualMachinePrototype.fromArtifact(prototype.artifact, {
        ...prototype.options,
        moduleBytes: prototype.moduleBytes,
        symbols: (module, name) => prototype.ids[`${module}\0${name}`],
      });
      if (prototypes.size > 8) prototypes.clear();
      prototypes.set(key, template);
    }
    const vm = await VirtualMachine.restore(template.clone(), snapshot);
    const bytes = vm.snapshot();
    vm.intoPrototype();
    parentPort.postMessage({ id, bytes }, [bytes.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
});
