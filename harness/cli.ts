/** The node environment's command line: rootfs | up | down | status | exec -- CMD... */
import {
  ensureRootfs,
  rootfsPath,
  up,
  down,
  initPid,
  execVisible,
  criuCheck,
  preflight,
} from './env/index.ts';
import { describeError } from '../src/base/index.ts';
import { PAUSE_IMAGE } from './images/index.ts';
import { ensureImages, importImages } from './env/images.ts';

const log = (line: string) => console.log(line);

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'rootfs':
      if (rest.includes('--print-path')) {
        preflight();
        console.log(await ensureRootfs((l) => console.error(l)));
      } else {
        console.log(await ensureRootfs((l) => console.log(l)));
      }
      return 0;
    case 'up':
      await up({
        fresh: rest.includes('--fresh'),
        pauseImage: PAUSE_IMAGE,
        log,
        afterStart: async () => importImages(await ensureImages(await ensureRootfs(log), log), log),
      });
      console.log(`[env] criu check: ${await criuCheck()}`);
      return 0;
    case 'down':
      await down();
      return 0;
    case 'status': {
      const pid = initPid();
      console.log(pid === undefined ? 'not running' : `running (init pid ${pid}, rootfs ${rootfsPath()})`);
      return pid === undefined ? 1 : 0;
    }
    case 'exec': {
      const args = rest[0] === '--' ? rest.slice(1) : rest;
      if (args.length === 0) throw new Error('usage: exec -- CMD [ARGS...]');
      return execVisible(args[0]!, args.slice(1));
    }
    default:
      console.error(
        'usage: harness/cli.ts rootfs [--print-path] | up [--fresh] | down | status | exec -- CMD...',
      );
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`error: ${describeError(err)}`);
    process.exit(1);
  },
);
