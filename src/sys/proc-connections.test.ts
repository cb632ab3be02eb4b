import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcNetTcpConnections } from './proc.ts';

const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0500580A:B4F2 0200580A:2328 01 00000000:00000000 00:00000000 00000000     0        0 2002 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:0050 0100007F:E7A0 06 00000000:00000000 03:00000D2D 00000000     0        0 0 3 0000000000000000
`;

test('connected sockets are parsed with both ends; listeners are left out', () => {
  const c = parseProcNetTcpConnections(tcp, 4);
  assert.equal(c.length, 2);
  assert.deepEqual(c[0], {
    family: 4,
    localAddress: '10.88.0.5',
    localPort: 46322,
    remoteAddress: '10.88.0.2',
    remotePort: 9000,
    state: '01',
    inode: 2002,
  });
  assert.equal(c[1]?.state, '06');
});
