/**
 * Keeps one StatusFeed per status socket in the shims' status directory: feeds for sockets that
 * appear (a shim daemon started), none for sockets that are gone. Driven by fs.watch, with a slow
 * rescan besides (inotify says nothing about a directory created after the watch began).
 */
import { existsSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { describeError, type Logger } from '../base/index.ts';
import { StatusFeed, type FeedMessage } from './status-feed.ts';

const RESCAN_MS = 5000;

export class StatusDir {
  readonly #dir: string;
  readonly #deliver: (m: FeedMessage) => void;
  readonly #log: Logger;
  readonly #feeds = new Map<string, StatusFeed>();
  #watcher: FSWatcher | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(dir: string, deliver: (m: FeedMessage) => void, log: Logger) {
    this.#dir = dir;
    this.#deliver = deliver;
    this.#log = log;
    this.#timer = setInterval(() => this.#scan(), RESCAN_MS);
    this.#timer.unref();
    this.#scan();
  }

  get sockets(): string[] {
    return [...this.#feeds.keys()];
  }

  #scan(): void {
    if (!this.#watcher && existsSync(this.#dir)) {
      try {
        this.#watcher = watch(this.#dir, () => this.#scan());
        this.#watcher.once('error', (err) => {
          this.#log.warn('status directory watch failed', { error: describeError(err) });
          this.#watcher?.close();
          this.#watcher = undefined;
        });
      } catch (err) {
        this.#log.warn('cannot watch the status directory', { dir: this.#dir, error: describeError(err) });
      }
    }
    let names: string[] = [];
    try {
      names = readdirSync(this.#dir).filter((n) => n.endsWith('.sock'));
    } catch {
      // no shim has made the directory yet
    }
    const present = new Set(names.map((n) => path.join(this.#dir, n)));
    for (const socket of present)
      if (!this.#feeds.has(socket)) {
        this.#log.info('following a status socket', { socket });
        this.#feeds.set(socket, new StatusFeed(socket, this.#deliver, this.#log));
      }
    for (const [socket, feed] of this.#feeds)
      if (!present.has(socket)) {
        this.#log.info('status socket gone', { socket });
        feed.close();
        this.#feeds.delete(socket);
        this.#deliver({ kind: 'unreachable', source: socket });
      }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#watcher?.close();
    for (const feed of this.#feeds.values()) feed.close();
    this.#feeds.clear();
  }
}
