/** zeropod-manager: one per node (a DaemonSet pod); see src/manager. */
import { describeError } from '../base/index.ts';
import { runManager } from '../manager/index.ts';

runManager(process.env).catch((err: unknown) => {
  process.stderr.write(`zeropod-manager: ${describeError(err)}\n`);
  process.exit(1);
});
