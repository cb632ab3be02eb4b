/** Errors of the OCI runtime (runc) as containerd's runc shim words them. */
import { describeError, ZeropodError } from '../base/index.ts';

/**
 * A failed runc create/start/exec worded as containerd's runc shim words it ("OCI runtime exec
 * failed: <runc's own message>"): kubelet shows it in events and users search it. The wire message
 * is the whole cause chain, so runc's error is not chained as the cause (that would repeat runc's
 * message and add "runc exited with status 1"); it stays whole in `details` for our logs.
 */
export function ociRuntimeError(command: 'create' | 'start' | 'exec'): (err: unknown) => never {
  return (err) => {
    const said = err instanceof ZeropodError ? err.details['runcError'] : undefined;
    if (!(err instanceof ZeropodError) || typeof said !== 'string') throw err;
    throw new ZeropodError(err.code, `OCI runtime ${command} failed: ${said}`, {
      details: { ...err.details, runcFailure: describeError(err) },
    });
  };
}
