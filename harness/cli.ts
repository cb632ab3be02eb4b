/** The node environment's command line: rootfs | k8s-build | installer-image | manager-image | up [--k8s [--bare]] | down | status | exec -- CMD... | kubectl ARGS... */
import {
  ensureRootfs,
  rootfsPath,
  up,
  down,
  initPid,
  isBare,
  execVisible,
  criuCheck,
  preflight,
  paths,
} from './env/index.ts';
import { describeError } from '../src/base/index.ts';
import { PAUSE_IMAGE } from './images/index.ts';
import { ensureImages, importImages } from './env/images.ts';
import { buildManagerImage } from './images/manager/index.ts';
import {
  clusterAnswers,
  clusterEnvOptions,
  ensureInstallerImage,
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
    case 'installer-image': {
      // The installer's image as an OCI layout tarball (to push to a registry); `up --k8s --bare` imports it.
      preflight();
      const ref = await ensureInstallerImage({
        rootfs: await ensureRootfs((l) => console.error(l)),
        project: paths.project,
        cacheDir: paths.images,
        log: (l) => console.error(l),
      });
      console.log(ref.tarball);
      return 0;
    }
    case 'up': {
      const k8s = rest.includes('--k8s');
      // --bare: the cluster as a user has it before installing zeropod (containerd without the
      // runtime, node unlabelled), plus the installer's image; see docs/installer.md.
      const bare = rest.includes('--bare');
      if (bare && !k8s) throw new Error('up --bare needs --k8s (usage: up --k8s --bare)');
      let fresh = rest.includes('--fresh');
      if (k8s) {
        preflight();
        await ensureK8sBinaries(log);
        // A running environment without a cluster (the CRI-only mode) is restarted with one, and
        // one of the other kind (bare or not) is restarted as the kind asked for.
        if (!fresh && initPid() !== undefined && !(await clusterAnswers())) fresh = true;
        if (!fresh && initPid() !== undefined && isBare() !== bare) fresh = true;
        if (!fresh && initPid() !== undefined) return 0;
      } else if (initPid() !== undefined && existsSync(kubeconfigPath())) {
        // The CRI-only tiers need an environment without kubelet (it removes pods it did not make).
        fresh = true;
      }
      const pid = await up({
        fresh,
        pauseImage: PAUSE_IMAGE,
        log,
        afterStart: async () => {
          const rootfs = await ensureRootfs(log);
          const refs = await ensureImages(rootfs, log);
          if (bare)
            refs.push(
              await ensureInstallerImage({ rootfs, project: paths.project, cacheDir: paths.images, log }),
            );
          await importImages(refs, log);
        },
        ...(k8s ? clusterEnvOptions() : {}),
        bare,
      });
      console.log(`[env] criu check: ${await criuCheck()}`);
      if (k8s) await startCluster(pid, log, { bare });
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
        'usage: harness/cli.ts rootfs [--print-path] | k8s-build | installer-image | manager-image | up [--fresh] [--k8s [--bare]] | down | status | exec -- CMD... | kubectl ARGS...',
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
