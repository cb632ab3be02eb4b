/** The manager process: options from the environment, logs to stdout, SIGTERM/SIGINT end it cleanly. */
import { createLogger, describeError } from '../base/index.ts';
import { ClientNodeApi } from './kube-api.ts';
import { Manager } from './manager.ts';
import { managerOptions } from './options.ts';

export async function runManager(env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const opts = managerOptions(env);
  const log = createLogger({
    level: opts.logLevel,
    sink: (line) => process.stdout.write(line),
    fields: { component: 'zeropod-manager', node: opts.nodeName },
  });
  const manager = new Manager(opts, new ClientNodeApi(opts.nodeName), log);
  await manager.start();
  const stop = (signal: NodeJS.Signals) => {
    log.info('stopping', { signal });
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    manager
      .close()
      .catch((err: unknown) => log.error('stop failed', { error: describeError(err) }))
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
