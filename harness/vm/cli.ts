/** The cgroup v2 VM's command line: build | up [--fresh] [--systemd] | node [--images a,b] | down | status | exec -- CMD... */
import { describeError } from '../../src/base/index.ts';
import { ensureVmImage, vmDown, vmExec, vmNodeUp, vmStatus, vmUp } from './index.ts';

const log = (line: string) => console.log(line);

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'build':
      await ensureVmImage(log);
      return 0;
    case 'up':
      await vmUp({
        fresh: rest.includes('--fresh'),
        init: rest.includes('--systemd') ? 'systemd' : 'script',
        log,
      });
      return 0;
    case 'node': {
      const i = rest.indexOf('--images');
      await vmNodeUp(log, i >= 0 ? (rest[i + 1] ?? '').split(',').filter(Boolean) : undefined);
      return 0;
    }
    case 'down':
      await vmDown({ log });
      return 0;
    case 'status': {
      const st = vmStatus();
      console.log(st ? `running (qemu pid ${st.pid}, agent on 127.0.0.1:${st.agent.port})` : 'not running');
      return st ? 0 : 1;
    }
    case 'exec': {
      const args = rest[0] === '--' ? rest.slice(1) : rest;
      if (args.length === 0) throw new Error('usage: exec -- CMD [ARGS...]');
      const r = await vmExec(args, {
        cwd: process.cwd(),
        ...(process.stdin.isTTY ? {} : { input: process.stdin }),
        onStdout: (d) => process.stdout.write(d),
        onStderr: (d) => process.stderr.write(d),
      });
      return r.code;
    }
    default:
      console.error(
        'usage: harness/vm/cli.ts build | up [--fresh] [--systemd] | node [--images a,b] | down | status | exec -- CMD...',
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
