/**
 * Tells a kubelet probe from a real client on a connection that reached the activator while the
 * container sleeps. Only connections from this node's own addresses are candidates (kubelet runs in
 * the host network); everyone else wakes the container at once.
 *
 *   data with `User-Agent: kube-probe/...`  -> HTTP probe: answer 200 here, do not wake
 *   closed without sending anything        -> TCP probe: do not wake
 *   anything else                          -> a client: wake and replay what was read
 */
export type ProbeVerdict = 'http-probe' | 'tcp-probe' | 'client' | 'undecided';

const KUBE_PROBE = /\r\nuser-agent:\s*kube-probe\//i;
const HEADERS_END = '\r\n\r\n';

export function classify(buffered: Buffer, ended: boolean, bufferLimit: number): ProbeVerdict {
  if (buffered.length === 0) return ended ? 'tcp-probe' : 'undecided';
  const text = buffered.toString('latin1');
  const headersDone = text.includes(HEADERS_END);
  if (KUBE_PROBE.test(text.slice(0, headersDone ? text.indexOf(HEADERS_END) + 2 : undefined))) {
    return 'http-probe';
  }
  if (headersDone || ended || buffered.length >= bufferLimit) return 'client';
  // An HTTP request line still arriving may yet show the probe's user agent.
  return /^[A-Z]+ \S+ HTTP\/1\.[01]\r?\n?/.test(text) || /^[A-Z]{1,10}( |$)/.test(text)
    ? 'undecided'
    : 'client';
}

export const PROBE_RESPONSE =
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
