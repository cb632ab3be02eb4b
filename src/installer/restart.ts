/**
 * Restarting containerd after its config changed: the adapter for `systemctl` (hosts booted with
 * systemd; k3s/rke2 nodes run one of two units) and for a configured command (anything else, e.g. the
 * node environment's `containerd-ctl.sh restart`). String matching on their output lives here only.
 */
import { execFile } from 'node:child_process';
import { failedPrecondition, invalidArgument, unavailable, type Logger } from '../base/index.ts';

export type RestartMethod =
  | { kind: 'systemd'; units: readonly string[]; systemctl: string }
  | { kind: 'command'; argv: readonly string[] }
  | { kind: 'none' };

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}
/** Runs argv[0] with the rest as arguments; resolves with its exit code, rejects only when it cannot run. */
export type RunTool = (argv: readonly string[], signal: AbortSignal) => Promise<ToolResult>;

export const runTool: RunTool = (argv, signal) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (file === undefined) return reject(invalidArgument('empty command'));
    execFile(file, args, { encoding: 'utf8', signal, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err === null) return resolve({ code: 0, stdout, stderr });
      if (typeof err.code === 'number') return resolve({ code: err.code, stdout, stderr });
      reject(unavailable(`cannot run ${file}`, { cause: err, details: { argv } }));
    });
  });

/** A command line split on blanks (no shell: quoting is not interpreted). */
export function parseCommand(text: string, flag: string): string[] {
  const argv = text.trim().split(/\s+/).filter(Boolean);
  if (argv.length === 0)
    throw invalidArgument(
      `${flag} must name a command, e.g. ${flag} "/usr/local/bin/containerd-ctl.sh restart"`,
    );
  return argv;
}

export interface ChooseRestartInput {
  /** An explicit command wins over systemd. */
  command?: readonly string[];
  /** The host was booted with systemd (it has /run/systemd/system). */
  hostHasSystemd: boolean;
  units: readonly string[];
  systemctl?: string;
  noRestart?: boolean;
}

export function chooseRestart(input: ChooseRestartInput): RestartMethod {
  if (input.noRestart === true) return { kind: 'none' };
  if (input.command !== undefined) return { kind: 'command', argv: input.command };
  if (input.hostHasSystemd)
    return { kind: 'systemd', units: input.units, systemctl: input.systemctl ?? 'systemctl' };
  throw failedPrecondition(
    'the host has no systemd (no /run/systemd/system) and no restart command was given; expected --restart-command "CMD ARGS" that restarts containerd, or --no-restart',
  );
}

const tail = (r: ToolResult) => `${r.stderr}${r.stdout}`.trim().split('\n').slice(-5).join(' | ');

export async function restartContainerd(
  method: RestartMethod,
  run: RunTool,
  signal: AbortSignal,
  log: Logger,
): Promise<string | undefined> {
  switch (method.kind) {
    case 'none':
      log.info('containerd not restarted (asked not to)');
      return undefined;
    case 'command': {
      const r = await run(method.argv, signal);
      if (r.code !== 0) {
        throw unavailable(`restart command ${method.argv.join(' ')} exited ${r.code}: ${tail(r)}`, {
          details: { argv: method.argv, exitCode: r.code },
        });
      }
      log.info('containerd restarted', { command: method.argv });
      return method.argv.join(' ');
    }
    case 'systemd': {
      // k3s and rke2 nodes run either the server or the agent unit: restart the one that is active.
      for (const unit of method.units) {
        const active = await run([method.systemctl, 'is-active', '--quiet', unit], signal);
        if (active.code !== 0) continue;
        const r = await run([method.systemctl, 'restart', unit], signal);
        if (r.code !== 0)
          throw unavailable(`systemctl restart ${unit} exited ${r.code}: ${tail(r)}`, {
            details: { unit, exitCode: r.code },
          });
        log.info('containerd restarted', { unit });
        return unit;
      }
      throw failedPrecondition(
        `none of the units ${method.units.join(', ')} is active; expected containerd running under one of them (or pass --restart-command)`,
        {
          details: { units: method.units },
        },
      );
    }
  }
}
