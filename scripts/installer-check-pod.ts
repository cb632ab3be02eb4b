// A pod on the handler the installer added (the second containerd of scripts/installer-check.sh): nginx
// scales down through the copied node and criu, and wakes on a request.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Cri } from '../harness/cri/index.ts';
import { createClientHost, httpGetFrom, readStatus, type ScaledStatus } from '../harness/net/index.ts';

const statusDir = '/tmp/zp-real/run-zeropod/status';
const cri = await Cri.connect({ address: process.argv[2] ?? '', waitMs: 20_000 });
const client = createClientHost();
async function phase(id: string, want: string): Promise<ScaledStatus> {
  for (let i = 0; i < 300; i++) {
    for (const f of readdirSync(statusDir).filter((n) => n.endsWith('.sock'))) {
      const s = (await readStatus(`${statusDir}/${f}`).catch(() => [])).find((x) => x.container === id);
      if (s?.phase === want) return s;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${id.slice(0, 12)} never reached ${want}`);
}
try {
  const t0 = performance.now();
  const pod = await cri.runPod({
    name: 'installed',
    handler: 'zeropod',
    annotations: { 'zeropod.ctrox.dev/scaledown-duration': '1s' },
    containers: [{ name: 'nginx', image: 'zeropod.local/nginx:1' }],
  });
  console.log(
    `pod ${pod.id.slice(0, 12)} running on handler zeropod in ${Math.round(performance.now() - t0)} ms, ip ${pod.ip}`,
  );
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.includes('containerd-shim-zeropod-v2') && cmd.includes('/tmp/zpo/'))
        console.log(`shim pid ${p} exe ${readlinkSync(`/proc/${p}/exe`)}`);
    } catch {
      // gone
    }
  }
  const id = pod.containers.get('nginx') ?? '';
  console.log('first request:', (await httpGetFrom(client, pod.ip, 80)).status);
  const down = await phase(id, 'scaled-down');
  console.log(`scaled down: checkpoints ${down.checkpoints}, last checkpoint ${down.lastCheckpointMs} ms`);
  const r = await httpGetFrom(client, pod.ip, 80);
  const up = await phase(id, 'running');
  console.log(
    `request while asleep: ${r.status}; restores ${up.restores} via ${up.lastWakeVia}, ${up.lastRestoreMs} ms`,
  );
  await cri.removePod(pod);
  console.log('pod removed');
} finally {
  client.remove();
  cri.close();
}
