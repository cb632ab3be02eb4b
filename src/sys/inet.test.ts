import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codeOf } from '../base/index.ts';
import { encodeSockaddr, formatIp, parseIp } from './inet.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

void test('parseIp reads IPv4 and IPv6 literals into network-order bytes', () => {
  assert.deepEqual(parseIp('127.0.0.1'), { family: 4, bytes: Uint8Array.from([127, 0, 0, 1]) });
  assert.equal(hex(parseIp('::').bytes), '0'.repeat(32));
  assert.equal(hex(parseIp('::1').bytes), '0'.repeat(30) + '01');
  assert.equal(hex(parseIp('fd00:1::2:3').bytes), 'fd000001000000000000000000020003');
  assert.equal(hex(parseIp('1:2:3:4:5:6:7:8').bytes), '00010002000300040005000600070008');
  assert.equal(hex(parseIp('::ffff:10.1.2.3').bytes), '00000000000000000000ffff0a010203');
  assert.equal(hex(parseIp('64:ff9b::192.0.2.33').bytes), '0064ff9b0000000000000000c0000221');
});

void test('parseIp refuses names, zone ids and junk with InvalidArgument', () => {
  for (const bad of ['localhost', 'fe80::1%eth0', '1.2.3', '', '::g']) {
    assert.throws(
      () => parseIp(bad),
      (err: unknown) => codeOf(err) === 'InvalidArgument',
      bad,
    );
  }
});

void test('formatIp follows RFC 5952 and round-trips', () => {
  const cases = [
    '0.0.0.0',
    '10.0.0.1',
    '::',
    '::1',
    'fd00:1::2:3',
    '1:2:3:4:5:6:7:8',
    '::ffff:10.1.2.3',
    '1::',
    '1:0:0:2::3',
  ];
  for (const text of cases) assert.equal(formatIp(parseIp(text)), text);
  assert.equal(formatIp(parseIp('1:0:0:0:2:0:0:3')), '1::2:0:0:3');
  assert.equal(formatIp(parseIp('1:0:2:3:4:5:6:7')), '1:0:2:3:4:5:6:7');
});

void test('encodeSockaddr lays out sockaddr_in and sockaddr_in6', () => {
  assert.equal(
    encodeSockaddr(parseIp('127.0.0.1'), 8080).toString('hex'),
    '02001f907f000001' + '00'.repeat(8),
  );
  const six = encodeSockaddr(parseIp('::1'), 443);
  assert.equal(six.length, 28);
  assert.equal(six.toString('hex'), '0a0001bb' + '00000000' + '0'.repeat(30) + '01' + '00000000');
  assert.throws(
    () => encodeSockaddr(parseIp('::1'), 70000),
    (err: unknown) => codeOf(err) === 'InvalidArgument',
  );
});
