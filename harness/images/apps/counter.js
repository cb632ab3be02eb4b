// zeropod-ts test workload: an in-memory counter over HTTP, dependency-free.
//   GET /     -> {"count":n,"heapMB":m,"pid":p,"startedAt":"..."} after count += 1 (the first request sees 1)
//   GET /get  -> the same JSON without incrementing
// HEAP_MB (default 0) allocates and touches that many MiB on the V8 heap at start and keeps it
// referenced, so the process's memory (and a checkpoint's size) can be varied. PORT defaults to 8080.
// A restored process keeps its count and startedAt; a restarted one starts again from 0.
'use strict';
const http = require('node:http');

const port = Number(process.env.PORT || 8080);
const heapMB = Math.max(0, Number(process.env.HEAP_MB || 0));
const startedAt = new Date().toISOString();

// 1 MiB per chunk: 131072 doubles in a packed double array (8 bytes each), all non-zero and
// distinct per chunk so no page is left untouched or zero.
const ballast = [];
for (let i = 0; i < heapMB; i++) ballast.push(new Array(131072).fill(i + 0.5));

let count = 0;
const state = () => ({ count, heapMB: ballast.length, pid: process.pid, startedAt });

const server = http.createServer((req, res) => {
  const url = (req.url || '/').split('?')[0];
  let body;
  if (req.method === 'GET' && url === '/') {
    count += 1;
    body = state();
  } else if (req.method === 'GET' && url === '/get') {
    body = state();
  } else {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"not found"}\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body) + '\n');
});

server.listen(port, () => {
  console.log(JSON.stringify({ msg: 'listening', port, heapMB: ballast.length, pid: process.pid }));
});

// As PID 1 a process has no default signal actions: without these, SIGTERM would be ignored.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
