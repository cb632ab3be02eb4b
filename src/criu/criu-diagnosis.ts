/**
 * Causes of CRIU failures that its own lines do not make plain, said in words a node operator acts
 * on. Matched on CRIU's `Error (...)` lines (text matching on CRIU output lives in this adapter).
 */
import type { CriuLogEntry } from './criu-log.ts';

interface KnownCause {
  /** Matches one Error line's message. */
  line: RegExp;
  cause: string;
}

const KNOWN: readonly KnownCause[] = [
  {
    // cr-dump.c reads each task's limits with prlimit(); for a task of another uid the kernel asks
    // for CAP_SYS_RESOURCE, which a sandbox may withhold from root (as on this project's test host).
    line: /^Can't get rlimit \d+: Operation not permitted/,
    cause:
      'the app runs as a non-root user, and CRIU here lacks the capability (CAP_SYS_RESOURCE) to read ' +
      "and restore another user's resource limits and credentials: the node's root runs in a sandbox " +
      'that withholds it. Such an app cannot be checkpointed on this node; it keeps running and does ' +
      'not scale down. Run it as root, or use a node whose root has the full capability set.',
  },
];

/** The plain-words causes of a failure, one per known cause found (in the order of the table). */
export function diagnoseCriuFailure(errors: readonly CriuLogEntry[]): string[] {
  return KNOWN.filter((k) => errors.some((e) => k.line.test(e.message))).map((k) => k.cause);
}
