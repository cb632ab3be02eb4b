import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { RuntimeInfoSchema } from '../gen/github.com/containerd/containerd/api/types/introspection_pb.js';
import { FEATURES_TYPE_URL, RUNTIME_NAME, runtimeInfo } from './info.ts';

test('-info answers name, version, the options echoed and runc features as containerd types them', async () => {
  const options = toBinary(
    AnySchema,
    create(AnySchema, { typeUrl: 'containerd.runc.v1.Options', value: new Uint8Array([8, 1]) }),
  );
  const features = '{"ociVersionMin":"1.0.0","mountOptions":["rro"]}';
  const info = fromBinary(
    RuntimeInfoSchema,
    await runtimeInfo({ version: '0.1.0', options, features: async () => features }),
  );
  assert.equal(info.name, RUNTIME_NAME);
  assert.equal(info.version?.version, '0.1.0');
  assert.equal(info.options?.typeUrl, 'containerd.runc.v1.Options');
  assert.equal(info.features?.typeUrl, FEATURES_TYPE_URL);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(info.features?.value)), JSON.parse(features));
});

test('-info without options, and with a runc that has no features, still answers', async () => {
  const info = fromBinary(
    RuntimeInfoSchema,
    await runtimeInfo({
      version: '0.1.0',
      options: new Uint8Array(),
      features: () => Promise.reject(new Error('no')),
    }),
  );
  assert.equal(info.name, RUNTIME_NAME);
  assert.equal(info.options, undefined);
  assert.equal(info.features, undefined);
});
