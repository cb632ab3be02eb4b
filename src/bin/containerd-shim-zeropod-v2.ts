/** containerd-shim-zeropod-v2: containerd's runtime v2 entrypoint (start | delete | daemon | -v). */
import { fileURLToPath } from 'node:url';
import { describeError } from '../base/index.ts';
import { deleteBundle, parseFlags, serve, start, statusSocketPath } from '../shim/index.ts';
import { scaleExtension } from '../shim/scale/index.ts';

const VERSION = '0.1.0';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), process.cwd());
  switch (flags.action) {
    case 'version':
      process.stdout.write(`containerd-shim-zeropod-v2:\n  Version: ${VERSION}\n`);
      return process.exit(0);
    case 'start':
      process.stdout.write(await start(flags, fileURLToPath(import.meta.url)));
      return process.exit(0);
    case 'delete':
      process.stdout.write(await deleteBundle(flags));
      return process.exit(0);
    case 'info':
      throw new Error('-info is not implemented');
    case 'serve':
      return serve(flags, [
        scaleExtension({
          imageRoot: `/var/lib/zeropod-ts/images/${flags.namespace}`,
          workRoot: '/run/zeropod/work',
          statusSocket: statusSocketPath(flags.namespace, flags.id),
        }),
      ]);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`containerd-shim-zeropod-v2: ${describeError(err)}\n`);
  process.exit(1);
});
