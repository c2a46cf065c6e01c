/**
 * The options that say which modules the VM accepts (`--features`, `--start-function`,
 * `--any-memory-import`, `--floats`, `--no-memory`), shared by `call` and `inspect` so that
 * `inspect` can say whether a module is accepted with the options `call` will be given, and the
 * backend options shared by `call` and `run` (and `prepare`'s `--asyncify-stack`).
 *
 * @module
 */

import { ASYNCIFY_STACK_NAMES, type AsyncifyStack, BACKEND_NAMES, type Backend } from '../base/engine.js';
import { isFeatureName, isFeatureSetName } from '../base/feature-set.js';
import type { VmConfig } from '../index.js';
import type { ParsedArgs } from './args.js';
import { type CommandName, UsageProblem } from './problems.js';

/** The option names, for a command's {@link OptionSpec}. */
export const MODULE_OPTION_VALUES = ['features'] as const;
export const MODULE_OPTION_FLAGS = ['start-function', 'any-memory-import', 'floats', 'no-memory'] as const;

/** What the module options set in a `VmConfig`. */
export type ModuleOptions = Pick<VmConfig, 'features' | 'floats' | 'startFunction' | 'anyMemoryImport' | 'requireMemory'>;

/** The module options of a command line, as `VmConfig` fields. */
export function moduleOptions(args: ParsedArgs, command: CommandName): ModuleOptions {
  const features = featuresOption(args.values.get('features'), command);
  return {
    ...(features === undefined ? {} : { features }),
    floats: args.flags.has('floats'),
    startFunction: args.flags.has('start-function'),
    anyMemoryImport: args.flags.has('any-memory-import'),
    requireMemory: !args.flags.has('no-memory'),
  };
}

/** The `--features` option: a preset or a comma-separated list of presets and features. */
function featuresOption(text: string | undefined, command: CommandName): VmConfig['features'] {
  if (text === undefined) return undefined;
  const items = text.split(',');
  if (!items.every((f) => isFeatureSetName(f) || isFeatureName(f))) {
    throw new UsageProblem(`--features must be a preset (mvp, default, modern) or a comma-separated list of presets and features, got ${JSON.stringify(text)}`, command);
  }
  return items.length === 1 && isFeatureSetName(items[0]) ? items[0] : (items as NonNullable<VmConfig['features']> & readonly string[]);
}

/** The `--backend` option: a backend's name or `auto` (the default). */
export function backendOption(args: ParsedArgs, command: CommandName): Backend | 'auto' {
  const backend = args.values.get('backend') ?? 'auto';
  if (backend !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw new UsageProblem(`--backend must be ${BACKEND_NAMES.join(', ')} or auto, got ${JSON.stringify(backend)}`, command);
  }
  return backend as Backend | 'auto';
}

/**
 * The `--asyncify-stack` option: where Asyncify keeps a paused stack (`VmConfig.asyncifyStack`),
 * `second-memory`, `single-memory` or `auto` (the default).
 */
export function asyncifyStackOption(args: ParsedArgs, command: CommandName): AsyncifyStack | 'auto' {
  const stack = args.values.get('asyncify-stack') ?? 'auto';
  if (stack !== 'auto' && !(ASYNCIFY_STACK_NAMES as readonly string[]).includes(stack)) {
    throw new UsageProblem(`--asyncify-stack must be ${ASYNCIFY_STACK_NAMES.join(', ')} or auto, got ${JSON.stringify(stack)}`, command);
  }
  return stack as AsyncifyStack | 'auto';
}
