import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify } from './probe.ts';

const probe =
  'GET /healthz HTTP/1.1\r\nHost: 10.88.0.5:80\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n\r\n';
const curl = 'GET / HTTP/1.1\r\nHost: 10.88.0.5\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n';

test('a kubelet HTTP probe is recognised, whole or in pieces', () => {
  assert.equal(classify(Buffer.from(probe), false, 1024), 'http-probe');
  assert.equal(classify(Buffer.from(probe.slice(0, 20)), false, 1024), 'undecided');
  assert.equal(classify(Buffer.from(probe.slice(0, 70)), false, 1024), 'http-probe');
});

test('a connection closed without data is a TCP probe', () => {
  assert.equal(classify(Buffer.alloc(0), true, 1024), 'tcp-probe');
  assert.equal(classify(Buffer.alloc(0), false, 1024), 'undecided');
});

test('other HTTP clients and other protocols are clients', () => {
  assert.equal(classify(Buffer.from(curl), false, 1024), 'client');
  assert.equal(classify(Buffer.from('*1\r\n$4\r\nPING\r\n'), false, 1024), 'client');
  assert.equal(classify(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n'), true, 1024), 'client');
  assert.equal(classify(Buffer.from('GET /' + 'a'.repeat(2000)), false, 1024), 'client');
});

test('the user agent must be a header, not part of the body or path', () => {
  assert.equal(classify(Buffer.from('GET /kube-probe/ HTTP/1.1\r\nHost: x\r\n\r\n'), false, 1024), 'client');
});
