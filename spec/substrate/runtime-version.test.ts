/**
 * The runtime version: decoding its three historical lengths, the custom sections, and the
 * fallback to `Core_version` when the sections are absent or incomplete.
 */
import {
  RuntimeVersionError,
  SubstrateRuntime,
  coreVersion,
  decodeRuntimeApis,
  decodeRuntimeVersion,
  readEmbeddedRuntimeVersion,
  runtimeApiId,
} from '../../lib/substrate/index.js';
import { BACKENDS } from '../support/backends.js';
import { GUEST_VERSION, type TestVersion, encodeVersion, guest, versionSections, withCustomSections } from '../support/substrate-guest.js';

const CORE = { id: '0xdf6acb689907609b', name: 'Core', version: 4 };

const EXPECTED = {
  specName: 'guest',
  implName: 'test-guest',
  authoringVersion: 1,
  specVersion: 7,
  implVersion: 2,
  apis: [CORE],
  transactionVersion: 3,
  stateVersion: 1,
};

/** A runtime whose `Core_version` returns `version` from a data segment. */
async function coreVersionGuest(version: TestVersion, sections: { name: string; data: Uint8Array }[] = []): Promise<Uint8Array> {
  const encoded = encodeVersion(version);
  const escaped = [...encoded].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
  const module = await guest(
    '',
    `(data (i32.const 1024) "${escaped}")
     (func (export "Core_version") (param i32 i32) (result i64) (call $ps (i32.const 1024) (i32.const ${encoded.length})))`,
    '',
    false,
  );
  return withCustomSections(module, sections);
}

describe('decoding', () => {
  test('the three lengths of RuntimeVersion', () => {
    expect(decodeRuntimeVersion(encodeVersion(GUEST_VERSION))).toEqual(EXPECTED);
    const { stateVersion: _s, ...withoutState } = GUEST_VERSION;
    expect(decodeRuntimeVersion(encodeVersion(withoutState))).toEqual({ ...EXPECTED, stateVersion: null });
    const { transactionVersion: _t, ...withoutBoth } = withoutState;
    expect(decodeRuntimeVersion(encodeVersion(withoutBoth))).toEqual({ ...EXPECTED, transactionVersion: null, stateVersion: null });
  });

  test('API ids are BLAKE2b-64 of the API name; unknown ones keep name null', () => {
    expect(runtimeApiId('Core')).toBe('0xdf6acb689907609b');
    expect(runtimeApiId('Metadata')).toBe('0x37e397fc7c91f5e4');
    const apis = decodeRuntimeApis(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0]));
    expect(apis).toEqual([{ id: '0x0102030405060708', name: null, version: 9 }]);
  });

  test.each([
    ['trailing bytes', Uint8Array.from([...encodeVersion(GUEST_VERSION), 0])],
    ['a truncated struct', encodeVersion(GUEST_VERSION).subarray(0, 20)],
    ['an API count past the end', Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff])],
    ['a state version of 2', Uint8Array.from([...encodeVersion(GUEST_VERSION).subarray(0, -1), 2])],
    ['nothing', new Uint8Array()],
  ])('%s is InvalidEncoding', (_what, bytes) => {
    expect(() => decodeRuntimeVersion(bytes)).toThrow(expect.objectContaining({ name: 'RuntimeVersionError', kind: 'InvalidEncoding' }));
  });

  test('a runtime_apis section that is not made of 12-byte entries is InvalidApis', () => {
    expect(() => decodeRuntimeApis(new Uint8Array(13))).toThrow(RuntimeVersionError);
  });
});

describe.each(BACKENDS)('where the version comes from (%s)', (backend) => {
  test('the custom sections when both are present (the API list from runtime_apis)', async () => {
    const wasm = await guest('', '');
    expect(readEmbeddedRuntimeVersion(wasm)).toEqual(EXPECTED);
    const runtime = await SubstrateRuntime.create({ code: wasm, backend });
    expect(runtime.versionSource).toBe('custom-sections');
    expect(runtime.version).toEqual(EXPECTED);
  });

  test('Core_version when there are no sections', async () => {
    const runtime = await SubstrateRuntime.create({ code: await coreVersionGuest({ ...GUEST_VERSION, specVersion: 8 }), backend });
    expect(runtime.backend).toBe(backend); // the call to Core_version ran on it
    expect(runtime.versionSource).toBe('Core_version');
    expect(runtime.version).toEqual({ ...EXPECTED, specVersion: 8 });
  });

  test('Core_version when only runtime_apis is present (a historical accident real runtimes have)', async () => {
    const apisOnly = versionSections({ ...GUEST_VERSION, specVersion: 99 }).filter((s) => s.name === 'runtime_apis');
    const wasm = await coreVersionGuest(GUEST_VERSION, apisOnly);
    expect(readEmbeddedRuntimeVersion(wasm)).toBeNull();
    const runtime = await SubstrateRuntime.create({ code: wasm, backend });
    expect(runtime.versionSource).toBe('Core_version');
    expect(runtime.version.specVersion).toBe(7);
  });

  test('the sections and Core_version can be compared', async () => {
    const runtime = await SubstrateRuntime.create({ code: await coreVersionGuest(GUEST_VERSION, versionSections(GUEST_VERSION)), backend });
    expect(runtime.versionSource).toBe('custom-sections');
    expect(await coreVersion(runtime)).toEqual(runtime.version);
  });

  test('a runtime without any version is refused', async () => {
    await expect(SubstrateRuntime.create({ code: await guest('', '', '', false), backend })).rejects.toMatchObject({
      name: 'RuntimeVersionError',
      kind: 'CoreVersionFailed',
      message: expect.stringMatching(/no entry point named "Core_version"/),
    });
  });

  test('a malformed runtime_version section is refused', async () => {
    const wasm = withCustomSections(await guest('', '', '', false), [
      { name: 'runtime_version', data: Uint8Array.of(1, 2, 3) },
      { name: 'runtime_apis', data: new Uint8Array() },
    ]);
    await expect(SubstrateRuntime.create({ code: wasm, backend })).rejects.toMatchObject({ name: 'RuntimeVersionError', kind: 'InvalidEncoding' });
  });
});
