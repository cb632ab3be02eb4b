import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZeropodError } from '../base/index.ts';
import { codeForErrno, errnoName, errnoNumber, errnoOf, fromNodeError, sysError } from './sys-error.ts';

void test('errno values map to names and closed codes', () => {
  assert.equal(errnoName(3), 'ESRCH');
  assert.equal(errnoNumber('ECHILD'), 10);
  assert.equal(errnoName(4095), 'E4095');
  assert.equal(codeForErrno(3), 'NotFound');
  assert.equal(codeForErrno(98), 'AlreadyExists'); // EADDRINUSE
  assert.equal(codeForErrno(1), 'FailedPrecondition'); // EPERM
  assert.equal(codeForErrno(9), 'Internal'); // EBADF: our bug
});

void test('sysError carries syscall, errno and extra details', () => {
  const err = sysError('pidfd_open', 3, { message: 'watch', details: { pid: 42 } });
  assert.ok(err instanceof ZeropodError);
  assert.equal(err.code, 'NotFound');
  assert.deepEqual(err.details, { pid: 42, syscall: 'pidfd_open', errno: 3, errnoName: 'ESRCH' });
  assert.match(err.message, /^watch: pidfd_open: ESRCH \(/);
});

void test('errnoOf looks through causes and Node errors, fromNodeError keeps the cause', () => {
  const nodeErr = Object.assign(new Error('x'), { code: 'ENOENT', syscall: 'open' });
  const wrapped = fromNodeError(nodeErr, 'read thing', { path: '/nope' });
  assert.equal(wrapped.code, 'NotFound');
  assert.equal(wrapped.cause, nodeErr);
  assert.equal(wrapped.details['syscall'], 'open');
  assert.equal(errnoOf(new Error('outer', { cause: wrapped })), 'ENOENT');
  assert.equal(errnoOf(Object.assign(new Error('x'), { code: 'ERR_INVALID_FD_TYPE' })), undefined);
  assert.equal(fromNodeError(new Error('plain'), 'do').code, 'Internal');
});
