/** The node environment's command line: rootfs | k8s-build | up [--k8s] | manager-image | down | status | exec -- CMD... | kubectl ARGS... */
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
import { buildManagerImage } from './images/manager/index.ts';
import { paths } from './env/index.ts';
import {
  clusterAnswers,
  clusterEnvOptions,
  ensureK8sBinaries,
  kubeconfigPath,
  k8sBin,
  startCluster,
} from './k8s/index.ts';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

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
    case 'k8s-build':
      preflight();
      await ensureK8sBinaries(log);
      return 0;
    case 'up': {
      const k8s = rest.includes('--k8s');
      let fresh = rest.includes('--fresh');
      if (k8s) {
        preflight();
        await ensureK8sBinaries(log);
        // A running environment without a cluster (the CRI-only mode) is restarted with one.
        if (!fresh && initPid() !== undefined && !(await clusterAnswers())) fresh = true;
        if (!fresh && initPid() !== undefined) return 0;
      } else if (initPid() !== undefined && existsSync(kubeconfigPath())) {
        // The CRI-only tiers need an environment without kubelet (it removes pods it did not make).
        fresh = true;
      }
      const pid = await up({
        fresh,
        pauseImage: PAUSE_IMAGE,
        log,
        afterStart: async () => importImages(await ensureImages(await ensureRootfs(log), log), log),
        ...(k8s ? clusterEnvOptions() : {}),
      });
      console.log(`[env] criu check: ${await criuCheck()}`);
      if (k8s) await startCluster(pid, log);
      return 0;
    }
    case 'manager-image': {
      // After `npm run build`: the manager's image with the new bundle, into the running environment.
      const ref = await buildManagerImage({
        rootfs: await ensureRootfs(log),
        cacheDir: paths.images,
        project: paths.project,
        log,
      });
      if (!ref) return 1;
      await importImages([ref], log);
      return 0;
    }
    case 'kubectl': {
      const args = rest[0] === '--' ? rest.slice(1) : rest;
      const child = spawn(`${k8sBin()}/kubectl`, ['--kubeconfig', kubeconfigPath(), ...args], {
        stdio: 'inherit',
      });
      return new Promise<number>((resolve) => child.once('close', (c) => resolve(c ?? 1)));
    }
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
        'usage: harness/cli.ts rootfs [--print-path] | k8s-build | up [--fresh] [--k8s] | manager-image | down | status | exec -- CMD... | kubectl ARGS...',
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
