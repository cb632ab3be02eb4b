/**
 * Programs the shim runs besides CRIU: runc (containers), nsenter (to run nft inside a pod's network
 * namespace) and nft (holding connections while a container wakes). The installer's copy in
 * /opt/zeropod/bin comes first on the shim's PATH, so an nft there counts.
 */
import { fail, ok, type Finding } from './finding.ts';

export interface ToolSource {
  onPath(name: string): Promise<string | undefined>;
  exists(path: string): Promise<boolean>;
}

const TOOLS: ReadonlyArray<{ name: string; why: string; fix: string; ours?: string }> = [
  { name: 'runc', why: 'runs the containers', fix: 'install runc (containerd needs it too)' },
  { name: 'nsenter', why: "enters pods' network namespaces", fix: 'install util-linux' },
  {
    name: 'nft',
    why: 'holds connections while a container wakes',
    fix: 'install nftables, or let zeropod-installer put nft in /opt/zeropod/bin',
    ours: '/opt/zeropod/bin/nft',
  },
];

export async function checkTools(src: ToolSource): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const t of TOOLS) {
    const found = t.ours !== undefined && (await src.exists(t.ours)) ? t.ours : await src.onPath(t.name);
    out.push(
      found !== undefined
        ? ok(`tool ${t.name}`, found)
        : fail(`tool ${t.name}`, `not found (it ${t.why})`, t.fix),
    );
  }
  return out;
}
