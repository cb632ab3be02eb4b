/**
 * The closed set of error codes every component speaks. Wire mappings (ttrpc/gRPC status) live in
 * exactly one place each; everything else branches on `code`, never on message text.
 */
export const ErrorCode = {
  NotFound: 'NotFound',
  AlreadyExists: 'AlreadyExists',
  FailedPrecondition: 'FailedPrecondition',
  InvalidArgument: 'InvalidArgument',
  Unavailable: 'Unavailable',
  DeadlineExceeded: 'DeadlineExceeded',
  Canceled: 'Canceled',
  Unimplemented: 'Unimplemented',
  Internal: 'Internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ZeropodErrorOptions {
  cause?: unknown;
  /** Structured facts for logs (ids, paths, exit codes); never parsed. */
  details?: Record<string, unknown>;
}

export class ZeropodError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: ZeropodErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ZeropodError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export const notFound = (message: string, options?: ZeropodErrorOptions) =>
  new ZeropodError(ErrorCode.NotFound, message, options);
export const alreadyExists = (message: string, options?: ZeropodErrorOptions) =>
  new ZeropodError(ErrorCode.AlreadyExists, message, options);
export const failedPrecondition = (message: string, options?: ZeropodErrorOptions) =>
  new ZeropodError(ErrorCode.FailedPrecondition, message, options);
export const invalidArgument = (message: string, options?: ZeropodErrorOptions) =>
  new ZeropodError(ErrorCode.InvalidArgument, message, options);
export const unavailable = (message: string, options?: ZeropodErrorOptions) =>
  new ZeropodError(ErrorCode.Unavailable, message, options);
export const deadlineExceeded = (message: string, options?: ZeropodErrorOptions) =>
  new ZeropodError(ErrorCode.DeadlineExceeded, message, options);
export const canceled = (message: string, options?: ZeropodErrorOptions) =>
  new ZeropodError(ErrorCode.Canceled, message, options);
export const unimplemented = (message: string, options?: ZeropodErrorOptions) =>
  new ZeropodError(ErrorCode.Unimplemented, message, options);
export const internal = (message: string, options?: ZeropodErrorOptions) =>
  new ZeropodError(ErrorCode.Internal, message, options);

/** The code of any thrown value: ours keep theirs, aborts become Canceled, the rest Internal. */
export function codeOf(err: unknown): ErrorCode {
  if (err instanceof ZeropodError) return err.code;
  if (err instanceof Error && err.name === 'AbortError') return ErrorCode.Canceled;
  if (err instanceof Error && err.name === 'TimeoutError') return ErrorCode.DeadlineExceeded;
  return ErrorCode.Internal;
}

/** A message that includes the chain of causes, for logs and wire errors. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && depth < 8; depth++) {
    parts.push(cur instanceof Error ? cur.message : String(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(': ');
}

/** Characters of a bad value an error quotes: enough to recognise it, never enough to bloat a reply. */
export const QUOTE_PREFIX = 64;

/**
 * A value for an error message: quoted whole when short, else its first `prefix` characters and its
 * length. An oversized annotation quoted whole made containerd's gRPC reply too big to deliver (the
 * user saw a transport error instead of ours).
 */
export function quoteValue(value: string, prefix = QUOTE_PREFIX): string {
  if (value.length <= prefix) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, prefix))}... (${value.length} characters)`;
}
