/**
 * Durable container records: one JSON file per container in a root-only directory, each replaced
 * atomically (a temp file written and fsynced, renamed over the old one, the directory fsynced), so
 * a daemon killed at any instant leaves either the old record or the new one, never half of one.
 * Writes of one container are serialized and coalesced (the latest wins); they never block the
 * event loop, and nothing on a wake's path waits for them.
 */
import { mkdirSync } from 'node:fs';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { describeError, type Logger } from '../../base/index.ts';
import { parseRecord, type ContainerRecord } from './record.ts';

export interface LoadedRecords {
  records: ContainerRecord[];
  /** Files that could not be read back, with why (left in place for a person to look at). */
  errors: { file: string; error: string }[];
}

export class RecordStore {
  readonly dir: string;
  readonly #log: Logger;
  /** Per container: the write in flight, and the record to write after it (the latest only). */
  readonly #writing = new Map<string, { done: Promise<void>; next?: ContainerRecord | 'remove' }>();

  constructor(dir: string, log: Logger) {
    this.dir = dir;
    this.#log = log;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  fileOf(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  /** Queues the record for writing; resolves once it (or a later one of the same id) is durable. */
  write(record: ContainerRecord): Promise<void> {
    return this.#enqueue(record.id, record);
  }

  remove(id: string): Promise<void> {
    return this.#enqueue(id, 'remove');
  }

  #enqueue(id: string, what: ContainerRecord | 'remove'): Promise<void> {
    const cur = this.#writing.get(id);
    if (cur) {
      cur.next = what; // written by the loop in flight, after its current write
      return cur.done;
    }
    const entry: { done: Promise<void>; next?: ContainerRecord | 'remove' } = { done: Promise.resolve() };
    entry.done = (async () => {
      let item: ContainerRecord | 'remove' | undefined = what;
      while (item !== undefined) {
        await this.#apply(id, item).catch((err: unknown) =>
          this.#log.error('container record not written', { container: id, error: describeError(err) }),
        );
        item = entry.next;
        delete entry.next;
      }
      this.#writing.delete(id);
    })();
    this.#writing.set(id, entry);
    return entry.done;
  }

  async #apply(id: string, what: ContainerRecord | 'remove'): Promise<void> {
    const file = this.fileOf(id);
    if (what === 'remove') {
      await rm(file, { force: true });
      return;
    }
    const tmp = `${file}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify({ ...what, updatedAt: new Date().toISOString() }, null, 1)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    const dh = await open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  /** Every record on disk; unreadable ones are reported, not fatal. */
  async load(): Promise<LoadedRecords> {
    const out: LoadedRecords = { records: [], errors: [] };
    for (const name of (await readdir(this.dir)).sort()) {
      if (!name.endsWith('.json')) continue; // a temp file of a write that was cut short
      const file = path.join(this.dir, name);
      try {
        const r = parseRecord(await readFile(file, 'utf8'));
        if (`${r.id}.json` !== name) throw new Error(`names container ${r.id}, not ${name}`);
        out.records.push(r);
      } catch (err) {
        out.errors.push({ file, error: describeError(err) });
      }
    }
    return out;
  }
}
