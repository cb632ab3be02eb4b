/**
 * errno -> ZeropodError. Every failed system call in this folder goes through `sysError`, so callers
 * branch on `code` (or, where they must, on `errnoOf(err)`) and never on message text.
 *
 * details: { syscall: 'pidfd_open', errno: 3, errnoName: 'ESRCH', ...whatever the caller adds }
 */
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { ErrorCode, ZeropodError } from '../base/index.ts';

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, num]) => [num, name]));

/** The symbolic name of an errno value ('ESRCH'), or 'E<number>' when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** The number of a symbolic errno name, for comparisons in callers that must branch on errno. */
export function errnoNumber(name: string): number | undefined {
  return (constants.errno as Record<string, number | undefined>)[name];
}

const codeByErrno: Record<string, ErrorCode> = {
  ENOENT: ErrorCode.NotFound,
  ESRCH: ErrorCode.NotFound,
  EEXIST: ErrorCode.AlreadyExists,
  EADDRINUSE: ErrorCode.AlreadyExists,
  EINVAL: ErrorCode.InvalidArgument,
  EAFNOSUPPORT: ErrorCode.InvalidArgument,
  EADDRNOTAVAIL: ErrorCode.InvalidArgument,
  ENOTDIR: ErrorCode.InvalidArgument,
  EPERM: ErrorCode.FailedPrecondition,
  EACCES: ErrorCode.FailedPrecondition,
  ECHILD: ErrorCode.FailedPrecondition,
  ENXIO: ErrorCode.FailedPrecondition,
  EAGAIN: ErrorCode.Unavailable,
  EMFILE: ErrorCode.Unavailable,
  ENFILE: ErrorCode.Unavailable,
  ENOMEM: ErrorCode.Unavailable,
  ENOBUFS: ErrorCode.Unavailable,
  ECONNREFUSED: ErrorCode.Unavailable,
  ECONNRESET: ErrorCode.Unavailable,
  ENETUNREACH: ErrorCode.Unavailable,
  EHOSTUNREACH: ErrorCode.Unavailable,
  ETIMEDOUT: ErrorCode.DeadlineExceeded,
  ENOSYS: ErrorCode.Unimplemented,
};

/** The closed error code an errno maps to (anything unlisted is Internal). */
export function codeForErrno(errno: number): ErrorCode {
  return codeByErrno[errnoName(errno)] ?? ErrorCode.Internal;
}

function strerror(errno: number): string {
  return getSystemErrorMap().get(-errno)?.[1] ?? `errno ${errno}`;
}

/** A typed error for a failed system call. `message` (optional) says what we were doing. */
export function sysError(
  syscall: string,
  errno: number,
  options: { message?: string; details?: Record<string, unknown>; cause?: unknown } = {},
): ZeropodError {
  const name = errnoName(errno);
  const what = options.message === undefined ? syscall : `${options.message}: ${syscall}`;
  return new ZeropodError(codeForErrno(errno), `${what}: ${name} (${strerror(errno)})`, {
    cause: options.cause,
    details: { ...options.details, syscall, errno, errnoName: name },
  });
}

/**
 * The errno name carried by an error from this folder, or by a Node fs/net error ('ENOENT'), or by
 * any error in its cause chain; undefined when there is none.
 */
export function errnoOf(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; cur instanceof Error && depth < 8; depth++) {
    if (cur instanceof ZeropodError && typeof cur.details['errnoName'] === 'string')
      return cur.details['errnoName'];
    const code = (cur as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && errnoNumber(code) !== undefined) return code;
    cur = cur.cause;
  }
  return undefined;
}

/** Wraps a Node fs error (which carries `code`) into our error type, keeping it as the cause. */
export function fromNodeError(
  err: unknown,
  message: string,
  details: Record<string, unknown> = {},
): ZeropodError {
  const name = errnoOf(err);
  const num = name === undefined ? undefined : errnoNumber(name);
  if (num === undefined) return new ZeropodError(ErrorCode.Internal, message, { cause: err, details });
  const syscall = (err as NodeJS.ErrnoException).syscall ?? 'unknown';
  return sysError(syscall, num, { message, details, cause: err });
}
