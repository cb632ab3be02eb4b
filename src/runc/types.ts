/**
 * What runc 1.3 prints and reads, typed. JSON fields keep runc's spelling; fields Go marshals with
 * `omitempty` are optional. uint64 values become numbers: the ones above 2^53 that runc prints are
 * cgroup v1's page-aligned "unlimited" (9223372036854771712 = 2^63 - 4096), which a double holds exactly.
 */

/** `runc state` .status (libcontainer Status.String()). */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'pausing' | 'paused' | 'stopped';
export const CONTAINER_STATUSES: readonly ContainerStatus[] = [
  'creating',
  'created',
  'running',
  'pausing',
  'paused',
  'stopped',
];

/** `runc state <id>` */
export interface ContainerState {
  ociVersion: string;
  id: string;
  /** 0 once stopped. */
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

/** Where one of runc's stdio goes, which for create/exec/restore is the container process's stdio. */
export type StdioTarget =
  /** An open file descriptor of this process (a pipe end, a pty slave, a file). */
  | number
  /** A path: opened read-only for stdin, append (created) for stdout/stderr, closed after runc exits. */
  | string;

export interface ProcessStdio {
  stdin?: StdioTarget;
  stdout?: StdioTarget;
  stderr?: StdioTarget;
}

/** OCI LinuxResources (runtime-spec config-linux.md), as `runc update -r -` reads it. */
export interface LinuxResources {
  memory?: {
    limit?: number;
    reservation?: number;
    swap?: number;
    kernel?: number;
    kernelTCP?: number;
    swappiness?: number;
    disableOOMKiller?: boolean;
    useHierarchy?: boolean;
    checkBeforeUpdate?: boolean;
  };
  cpu?: {
    shares?: number;
    quota?: number;
    burst?: number;
    period?: number;
    realtimeRuntime?: number;
    realtimePeriod?: number;
    cpus?: string;
    mems?: string;
    idle?: number;
  };
  pids?: { limit: number };
  blockIO?: { weight?: number; leafWeight?: number; [key: string]: unknown };
  hugepageLimits?: { pageSize: string; limit: number }[];
  network?: { classID?: number; priorities?: { name: string; priority: number }[] };
  unified?: Record<string, string>;
  devices?: { allow: boolean; type?: string; major?: number; minor?: number; access?: string }[];
}

export interface MemoryEntry {
  limit: number;
  usage?: number;
  max?: number;
  failcnt: number;
}

export interface BlkioEntry {
  major?: number;
  minor?: number;
  op?: string;
  value?: number;
}

/** runc's types.Stats, the `data` of `runc events --stats <id>` (cgroup v1 on this host). */
export interface RuncStats {
  cpu: {
    usage: {
      total?: number;
      percpu?: number[];
      percpu_kernel?: number[];
      percpu_user?: number[];
      kernel: number;
      user: number;
    };
    throttling: { periods?: number; throttledPeriods?: number; throttledTime?: number };
    psi?: unknown;
  };
  cpuset?: Record<string, unknown>;
  memory: {
    cache?: number;
    usage?: MemoryEntry;
    swap?: MemoryEntry;
    kernel?: MemoryEntry;
    kernelTCP?: MemoryEntry;
    raw?: Record<string, number>;
    psi?: unknown;
  };
  pids: { current?: number; limit?: number };
  blkio: {
    ioServiceBytesRecursive?: BlkioEntry[];
    ioServicedRecursive?: BlkioEntry[];
    ioQueueRecursive?: BlkioEntry[];
    ioServiceTimeRecursive?: BlkioEntry[];
    ioWaitTimeRecursive?: BlkioEntry[];
    ioMergedRecursive?: BlkioEntry[];
    ioTimeRecursive?: BlkioEntry[];
    sectorsRecursive?: BlkioEntry[];
    psi?: unknown;
  };
  hugetlb: Record<string, { usage?: number; max?: number; failcnt: number }>;
  intel_rdt?: Record<string, unknown>;
  network_interfaces?: Record<string, number | string>[] | null;
}
