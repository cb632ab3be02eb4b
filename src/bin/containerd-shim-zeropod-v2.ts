/** containerd-shim-zeropod-v2: containerd's runtime v2 entrypoint (start | delete | daemon | -v). */
// `start` runs on every pod's creation path: load only what each action needs.
import module from 'node:module';
import { fileURLToPath } from 'node:url';
import { describeError } from '../base/index.ts';
import { parseFlags } from '../shim/flags.ts';

// V8's code cache on disk (Node >= 22.1): later starts skip most parsing and compiling.
(module as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache?.(
  '/var/cache/zeropod-ts/v8',
);

const VERSION = '0.1.0';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), process.cwd());
  switch (flags.action) {
    case 'version':
      process.stdout.write(`containerd-shim-zeropod-v2:\n  Version: ${VERSION}\n`);
      return process.exit(0);
    case 'start': {
      const { start } = await import('../shim/start.ts');
      process.stdout.write(await start(flags, fileURLToPath(import.meta.url)));
      return process.exit(0);
    }
    case 'delete': {
      const [{ deleteBundle }, { removeScaleLeftovers }] = await Promise.all([
        import('../shim/delete.ts'),
        import('../shim/scale/index.ts'),
      ]);
      process.stdout.write(await deleteBundle(flags, [removeScaleLeftovers]));
      return process.exit(0);
    }
    case 'info': {
      const { runtimeInfo, readStdin } = await import('../shim/info.ts');
      process.stdout.write(await runtimeInfo({ version: VERSION, options: await readStdin() }));
      return process.exit(0);
    }
    case 'serve': {
      if (process.env['ZEROPOD_SHIM_ROLE'] === 'keeper') {
        const { runKeeper } = await import('../shim/keeper/index.ts');
        return runKeeper(flags, fileURLToPath(import.meta.url));
      }
      const [{ serve, statusSocketPath, grouping, NODE_GROUP }, { scaleExtension, imageRootOf, WORK_ROOT }] =
        await Promise.all([import('../shim/index.ts'), import('../shim/scale/index.ts')]);
      return serve(flags, [
        scaleExtension({
          imageRoot: imageRootOf(flags.namespace),
          workRoot: WORK_ROOT,
          statusSocket: statusSocketPath(flags.namespace, grouping() === 'node' ? NODE_GROUP : flags.id),
        }),
      ]);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`containerd-shim-zeropod-v2: ${describeError(err)}\n`);
  process.exit(1);
});
