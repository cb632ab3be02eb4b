/** Rewrites docs/performance.md from bench/results/latest.json (after editing the page's prose in doc.ts). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDoc, type RunJson } from './write.ts';

const root = path.resolve(fileURLToPath(import.meta.url), '../../..');
const json = JSON.parse(readFileSync(path.join(root, 'bench/results/latest.json'), 'utf8')) as RunJson;
const chart = 'bench/results/wake-vs-memory.svg';
writeDoc(json, existsSync(path.join(root, chart)) ? chart : undefined);
console.log('wrote docs/performance.md');
