import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import { ErrorCode, ZeropodError } from '../base/index.ts';
import { OptionsSchema as RuncOptionsSchema } from '../gen/github.com/containerd/containerd/api/types/runc/options/oci_pb.js';
import { OptionsSchema as GenericOptionsSchema } from '../gen/github.com/containerd/containerd/api/types/runtimeoptions/v1/api_pb.js';
import { parseRuntimeOptions } from './runtime-options.ts';

const generic = (o: { configBody?: string; configPath?: string }) => ({
  typeUrl: 'runtimeoptions.v1.Options',
  value: toBinary(
    GenericOptionsSchema,
    create(GenericOptionsSchema, {
      ...(o.configBody === undefined ? {} : { configBody: new TextEncoder().encode(o.configBody) }),
      ...(o.configPath === undefined ? {} : { configPath: o.configPath }),
    }),
  ),
});

const invalid = (err: unknown) => err instanceof ZeropodError && err.code === ErrorCode.InvalidArgument;

void test('no options: the defaults (containerd sends none without an options table)', () => {
  assert.deepEqual(parseRuntimeOptions(undefined), { systemdCgroup: false });
  assert.deepEqual(parseRuntimeOptions({ typeUrl: '', value: new Uint8Array() }), { systemdCgroup: false });
});

void test("our runtime type: CRI passes the options table as TOML (config_body), as containerd's TOML writer renders it", () => {
  assert.deepEqual(parseRuntimeOptions(generic({ configBody: 'SystemdCgroup = true\n' })), {
    systemdCgroup: true,
  });
  assert.deepEqual(parseRuntimeOptions(generic({ configBody: 'SystemdCgroup = false\n' })), {
    systemdCgroup: false,
  });
  assert.deepEqual(parseRuntimeOptions(generic({ configBody: 'BinaryName = "runc"\n' })), {
    systemdCgroup: false,
  });
  assert.deepEqual(parseRuntimeOptions(generic({ configBody: '' })), { systemdCgroup: false });
  assert.throws(() => parseRuntimeOptions(generic({ configBody: 'SystemdCgroup = "yes"\n' })), invalid);
  assert.throws(() => parseRuntimeOptions(generic({ configBody: 'SystemdCgroup = \n' })), invalid);
});

void test('config_path: the TOML file it names, read once', () => {
  const read = (p: string) => {
    assert.equal(p, '/etc/zeropod/runtime.toml');
    return 'SystemdCgroup = true\n';
  };
  assert.deepEqual(parseRuntimeOptions(generic({ configPath: '/etc/zeropod/runtime.toml' }), read), {
    systemdCgroup: true,
  });
  const missing = () => {
    throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  };
  assert.throws(() => parseRuntimeOptions(generic({ configPath: '/nonexistent.toml' }), missing), invalid);
});

void test("runc's own options message (runtime_type io.containerd.runc.v2 with our runtime_path), any type URL host", () => {
  const value = toBinary(
    RuncOptionsSchema,
    create(RuncOptionsSchema, { systemdCgroup: true, binaryName: 'runc' }),
  );
  assert.deepEqual(parseRuntimeOptions({ typeUrl: 'containerd.runc.v1.Options', value }), {
    systemdCgroup: true,
  });
  assert.deepEqual(
    parseRuntimeOptions({ typeUrl: 'type.googleapis.com/containerd.runc.v1.Options', value }),
    {
      systemdCgroup: true,
    },
  );
});

void test('options of another runtime are refused, not ignored', () => {
  assert.throws(
    () => parseRuntimeOptions({ typeUrl: 'io.containerd.runhcs.v1.Options', value: new Uint8Array([1]) }),
    invalid,
  );
});
