/** zeropod-installer: puts the zeropod runtime on this node and into containerd's config (--uninstall: out again). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeOf, createLogger, describeError, ErrorCode } from '../base/index.ts';
import { compileOptions, runInstaller, runTool, USAGE } from '../installer/index.ts';

async function main(): Promise<void> {
  const options = compileOptions(process.argv.slice(2));
  if (options.action === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const log = createLogger({ fields: { component: 'zeropod-installer' } });
  const report = await runInstaller(options, {
    run: runTool,
    log,
    selfDist: path.dirname(fileURLToPath(import.meta.url)),
    execPath: process.execPath,
  });
  process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`zeropod-installer: ${describeError(err)}\n`);
  process.exit(codeOf(err) === ErrorCode.InvalidArgument ? 2 : 1);
});
