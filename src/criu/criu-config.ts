/**
 * CRIU configuration files. runc talks to CRIU over RPC and can only set what runc itself knows; the
 * rest (network lock method, skipping in-flight connections, ghost file limits, timeouts) reaches
 * CRIU through a configuration file. CRIU reads, in this order, later ones winning
 * (Documentation/criu.txt, "CONFIGURATION FILES"):
 *
 *   /etc/criu/default.conf, $HOME/.criu/default.conf, $CRIU_CONFIG_FILE,
 *   runc's RPC options, then the RPC configuration file: the container's `org.criu.config`
 *   annotation (an empty value means none) or else /etc/criu/runc.conf.
 *
 * So a file given through CRIU_CONFIG_FILE (what `Runc.checkpoint({ criuOptions })` does) can set
 * anything runc leaves unset (network-lock, ghost-limit, timeout, skip-mnt, ...) but loses to runc's
 * explicit RPC values (tcp-established, skip-in-flight, file-locks, ...) and to the RPC config file.
 * To override those, write a file with `writeCriuConfig` and name it in the container's
 * `org.criu.config` annotation before `runc create`/`runc restore`; runc reads it on every dump.
 *
 * Syntax: one option per line without the leading `--`, then its argument; arguments with spaces in
 * double quotes. `log-level` must not be set in a file: a dump then fails with errno 56 (FACTS.md).
 */
import { rename, writeFile } from 'node:fs/promises';
import { invalidArgument, internal, quoteValue } from '../base/index.ts';

/** The OCI annotation runc reads for a container-specific CRIU configuration file. */
export const CRIU_CONFIG_ANNOTATION = 'org.criu.config';
/** The file runc names when the annotation is absent. */
export const RUNC_DEFAULT_CRIU_CONFIG = '/etc/criu/runc.conf';

export interface CriuConfigOptions {
  /** `network-lock`: skip avoids the ~1 s SYN retry while locked and needs no iptables/nft. */
  networkLock?: 'iptables' | 'nftables' | 'skip';
  /** `skip-in-flight` (runc's --tcp-skip-in-flight): drop half-open connections instead of failing. */
  skipInFlight?: boolean;
  /** `tcp-established`: dump and restore established TCP connections. */
  tcpEstablished?: boolean;
  /** `tcp-close`: restore established connections closed. */
  tcpClose?: boolean;
  /** `link-remap`: allow linking unlinked-but-open files back. */
  linkRemap?: boolean;
  /** `ext-unix-sk`: allow unix sockets connected to peers outside the dumped tree (CRIU has no `no-` form). */
  extUnixSk?: true;
  /** `file-locks`: dump and restore file locks. */
  fileLocks?: boolean;
  /** `ghost-limit`: largest deleted-but-open file CRIU copies into the image, in bytes. */
  ghostLimitBytes?: number;
  /** `timeout`: seconds CRIU waits while freezing/collecting before it gives up. */
  timeoutSeconds?: number;
  /** `skip-mnt`: mount points CRIU should ignore. */
  skipMounts?: readonly string[];
  /** `manage-cgroups`: soft | full | strict | ignore. */
  manageCgroups?: 'soft' | 'full' | 'strict' | 'ignore';
  /**
   * `external mnt[KEY]:VALUE`: on a dump, mount point KEY is recorded as external under the name
   * VALUE (its content is not dumped); on a restore, the external named KEY is bind-mounted from
   * VALUE.
   */
  externalMounts?: readonly { key: string; value: string }[];
}

const booleans = {
  skipInFlight: 'skip-in-flight',
  tcpEstablished: 'tcp-established',
  tcpClose: 'tcp-close',
  linkRemap: 'link-remap',
  fileLocks: 'file-locks',
} as const satisfies Partial<Record<keyof CriuConfigOptions, string>>;

function quote(value: string): string {
  if (/[\n\r\0]/.test(value))
    throw invalidArgument(`CRIU config value ${quoteValue(value)} contains a line break or NUL`, {
      details: { value: quoteValue(value) },
    });
  return /[\s"#\\]/.test(value) ? `"${value.replace(/(["\\])/g, '\\$1')}"` : value;
}

function positiveInteger(name: string, value: number): string {
  if (!Number.isSafeInteger(value) || value < 0)
    throw invalidArgument(`CRIU config ${name} must be a non-negative integer`, { details: { value } });
  return String(value);
}

/** The text of a CRIU configuration file for `options` (stable order, one option per line). */
export function renderCriuConfig(options: CriuConfigOptions): string {
  const lines = ['# written by zeropod-ts'];
  if (options.networkLock !== undefined) lines.push(`network-lock ${options.networkLock}`);
  for (const [key, name] of Object.entries(booleans) as [keyof typeof booleans, string][]) {
    const v = options[key];
    // `no-<option>` turns a boolean off again after an earlier file or RPC turned it on.
    if (v !== undefined) lines.push(v ? name : `no-${name}`);
  }
  if (options.extUnixSk === true) lines.push('ext-unix-sk');
  if (options.ghostLimitBytes !== undefined)
    lines.push(`ghost-limit ${positiveInteger('ghost-limit', options.ghostLimitBytes)}`);
  if (options.timeoutSeconds !== undefined)
    lines.push(`timeout ${positiveInteger('timeout', options.timeoutSeconds)}`);
  for (const m of options.skipMounts ?? []) lines.push(`skip-mnt ${quote(m)}`);
  if (options.manageCgroups !== undefined) lines.push(`manage-cgroups ${options.manageCgroups}`);
  for (const m of options.externalMounts ?? []) {
    if (/[\s\]:]/.test(m.key) || /\s/.test(m.value))
      throw invalidArgument(
        `CRIU external mount ${quoteValue(m.key)}: key without spaces, ":" or "]", value without spaces`,
        { details: { key: quoteValue(m.key), value: quoteValue(m.value) } },
      );
    lines.push(`external mnt[${m.key}]:${m.value}`);
  }
  return lines.join('\n') + '\n';
}

/** Writes a CRIU configuration file atomically (temp file + rename), so CRIU never reads half a file. */
export async function writeCriuConfig(
  path: string,
  options: CriuConfigOptions,
  signal?: AbortSignal,
): Promise<void> {
  const text = renderCriuConfig(options);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, text, signal === undefined ? { mode: 0o644 } : { mode: 0o644, signal });
    await rename(tmp, path);
  } catch (err) {
    if (signal?.aborted === true) throw err;
    throw internal(`cannot write CRIU config ${path}`, { cause: err, details: { path } });
  }
}
