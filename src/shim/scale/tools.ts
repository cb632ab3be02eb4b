/** The real process boundaries of the scale logic (scale-types.ts names them; tests inject fakes). */
import { criuSupportsDirtyTracking, startLazyPages } from '../../criu/index.ts';
import { closeEstablished } from '../../ss/index.ts';
import { connectedTcpSockets } from '../../sys/index.ts';
import { reclaimMemory, setFrozen } from '../cgroup-control.ts';
import { cgroupDirsOf } from '../cgroups.ts';
import type { Container } from '../container.ts';
import { Activator } from './activator.ts';
import { NextWake } from './next-wake.ts';
import { containerPids, listeningPortsOf, pagesBytes, untilReaped } from './processes-and-images.ts';
import type { ScaleTools } from './scale-types.ts';
import { TrafficTable } from './traffic.ts';

export function systemTools(c: Container): ScaleTools {
  return {
    now: () => performance.now(),
    table: (o) => new TrafficTable(o),
    listen: (o) => Activator.start(o),
    wakePreparation: (o) => new NextWake(c, o.workPath, o.log, o.warnOnce),
    dirtyTracking: () => criuSupportsDirtyTracking(),
    openConnections: (pids) => connectedTcpSockets(pids),
    closeInbound: closeEstablished,
    freezerDirOf: (pid) => cgroupDirsOf(pid).get('freezer'),
    processesIn: containerPids,
    listeningPorts: listeningPortsOf,
    thaw: (dir) => setFrozen(dir, false),
    reclaimMemory: (dir) => {
      if (!dir) return;
      try {
        reclaimMemory(dir);
      } catch {
        // busy (a process is back) or not supported here: what is charged stays charged
      }
    },
    pagesBytes,
    startLazyPages,
    untilReaped,
  };
}
