/**
 * The one-node Kubernetes cluster inside the node environment: certificates made at every start, the
 * programs bound in read-only, a veth between the host and the environment so the host's kubectl (and
 * the tests) reach the API server, then start.sh inside and the cluster's first objects applied.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { invalidArgument, unavailable } from '../../src/base/index.ts';
import { exec, paths, run, type BindMount } from '../env/index.ts';
import { k8sBin } from './binaries.ts';

/**
 * Which /30 of 10.87.0.0/16 links this environment to the host: 0 unless ZEROPOD_K8S_NET says
 * otherwise, so that environments started side by side (ZEROPOD_RUN/STATE/LOGS set apart) do not clash.
 */
const net = (() => {
  const raw = process.env['ZEROPOD_K8S_NET'] ?? '0';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 255)
    throw invalidArgument(
      `ZEROPOD_K8S_NET must be an integer from 0 to 255, got ${JSON.stringify(raw.slice(0, 20))}`,
    );
  return n;
})();

/** The cluster's addresses and names. */
export const CLUSTER = {
  nodeName: 'zeropod-node',
  /** The environment's end of the host veth: the node's InternalIP and the API server's address. */
  nodeIp: `10.87.${net}.2`,
  hostIp: `10.87.${net}.1`,
  hostLink: `zp-k8s${net}`,
  serviceCidr: '10.96.0.0/16',
  apiServiceIp: '10.96.0.1',
  clusterDns: '10.96.0.10',
  /** The CNI bridge's range (harness/env/files/10-zeropod.conflist). */
  podCidr: '10.88.0.0/16',
  /**
   * kubelet's cgroup root, under the environment's parent (removed by `down`). One per host link:
   * kubelet destroys pod cgroups under its root that it does not know as orphans, so two clusters
   * side by side must not share one (seen: each kubelet trying every 2 s to destroy the other's).
   */
  cgroupRoot: net === 0 ? '/zeropod-ts/kubelet' : `/zeropod-ts/kubelet-${net}`,
} as const;

const pkiDir = () => path.join(paths.state, 'k8s-pki');
const INSIDE_BIN = '/opt/kubernetes/bin';
const INSIDE_PKI = '/etc/kubernetes/pki';

/** The host's kubeconfig for the running cluster (admin). */
export const kubeconfigPath = (): string => path.join(paths.state, 'kubeconfig');

/** What `up` needs to host a cluster: certificates made before the start, programs and PKI bound in. */
export function clusterEnvOptions(): { mounts: BindMount[]; prepare: () => Promise<void> } {
  return {
    mounts: [
      { host: k8sBin(), inside: INSIDE_BIN, readonly: true },
      { host: pkiDir(), inside: INSIDE_PKI, readonly: true },
    ],
    prepare: async () => {
      mkdirSync(pkiDir(), { recursive: true });
      await run('bash', [
        path.join(paths.project, 'harness/k8s/node/pki.sh'),
        pkiDir(),
        CLUSTER.nodeName,
        CLUSTER.nodeIp,
        CLUSTER.apiServiceIp,
      ]);
      copyFileSync(path.join(pkiDir(), 'admin.kubeconfig'), kubeconfigPath());
    },
  };
}

/**
 * Starts the cluster in a running environment and waits until its node is Ready. `bare`: the node as
 * a user's cluster has it before installing zeropod: not labelled zeropod.ctrox.dev/node=true, no
 * `zeropod` RuntimeClass (config/ brings its own).
 */
export async function startCluster(
  initPid: number,
  log: (line: string) => void,
  options: { bare?: boolean } = {},
): Promise<void> {
  const bare = options.bare === true;
  const t0 = performance.now();
  const since = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  linkHost(initPid);
  const vars = {
    K8S_BIN: INSIDE_BIN,
    K8S_PKI: INSIDE_PKI,
    NODE_NAME: CLUSTER.nodeName,
    NODE_IP: CLUSTER.nodeIp,
    SERVICE_CIDR: CLUSTER.serviceCidr,
    CLUSTER_DNS: CLUSTER.clusterDns,
    POD_CIDR: CLUSTER.podCidr,
    CGROUP_ROOT: CLUSTER.cgroupRoot,
    NODE_LABELS: bare ? '' : 'zeropod.ctrox.dev/node=true',
  };
  const assignments = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  await exec('env', [...assignments, 'bash', path.join(paths.project, 'harness/k8s/node/start.sh')]);
  await waitUntil(
    async () => (await kubectl(['get', '--raw', '/readyz'], { check: false })).code === 0,
    60_000,
    'the API server',
  );
  log(`[k8s] API server ready after ${since()}`);
  const manifest = readFileSync(path.join(paths.project, 'harness/k8s/node/bootstrap.yaml'), 'utf8')
    .split(/^---\n/m)
    .filter((doc) => !(bare && /^kind: RuntimeClass\n(?:.*\n)*?  name: zeropod\n/m.test(doc)))
    .join('---\n')
    .replaceAll('@NODE_IP@', CLUSTER.nodeIp)
    .replaceAll('@CLUSTER_DNS@', CLUSTER.clusterDns);
  await kubectl(['apply', '-f', '-'], { input: manifest });
  await kubectl(['wait', '--for=condition=Ready', `node/${CLUSTER.nodeName}`, '--timeout=90s']);
  await waitUntil(
    async () => (await kubectl(['get', 'serviceaccount', 'default'], { check: false })).code === 0,
    30_000,
    'the default ServiceAccount',
  );
  log(`[k8s] node ${CLUSTER.nodeName} Ready after ${since()}; kubeconfig: ${kubeconfigPath()}`);
}

/** Whether a cluster of this environment answers (its kubeconfig exists and the API server is ready). */
export async function clusterAnswers(): Promise<boolean> {
  if (!existsSync(kubeconfigPath())) return false;
  const r = await kubectl(['get', '--raw', '/readyz', '--request-timeout=2s'], { check: false });
  return r.code === 0;
}

/** kubectl on the host against the environment's cluster. */
export function kubectl(args: readonly string[], options: { check?: boolean; input?: string } = {}) {
  return run(path.join(k8sBin(), 'kubectl'), ['--kubeconfig', kubeconfigPath(), ...args], options);
}

/** A veth pair: host side HOST_IP, environment side NODE_IP (both /30); gone with the environment. */
function linkHost(initPid: number): void {
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (existsSync(`/sys/class/net/${CLUSTER.hostLink}`)) ip('link', 'del', CLUSTER.hostLink);
  ip('link', 'add', CLUSTER.hostLink, 'type', 'veth', 'peer', 'name', 'node0', 'netns', String(initPid));
  ip('addr', 'add', `${CLUSTER.hostIp}/30`, 'dev', CLUSTER.hostLink);
  ip('link', 'set', CLUSTER.hostLink, 'up');
  const inside = (...args: string[]) =>
    execFileSync('nsenter', [`--target=${initPid}`, '--net', 'ip', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  inside('addr', 'add', `${CLUSTER.nodeIp}/30`, 'dev', 'node0');
  inside('link', 'set', 'node0', 'up');
  // A node's own processes reach Services too (a hostNetwork pod's client of `kubernetes`, 10.96.0.1):
  // they need a route for the Service range, as a node's default route gives them; kube-proxy's
  // OUTPUT rules then send it to the endpoint. Only this range, so nothing else leaves the node.
  inside('route', 'add', CLUSTER.serviceCidr, 'via', CLUSTER.hostIp);
}

async function waitUntil(probe: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await probe())) {
    if (performance.now() > deadline)
      throw unavailable(`timed out after ${ms} ms waiting for ${what} (logs: ${paths.logs}/k8s-*.log)`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
