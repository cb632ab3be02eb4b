/**
 * k3s and rke2 templates are Go templates: most start with `{{ template "base" . }}`, which renders
 * the distribution's own config, and add TOML after it. Such a file is not TOML, so the one line the
 * installer adds goes at its very top, which is the root table whatever follows; it is refused when
 * the rendered config (config.toml, written from this template) or the template already has
 * `imports`, since a second key would make the rendered file invalid.
 */
import { stringify } from 'smol-toml';
import { failedPrecondition } from '../base/index.ts';
import { parseToml, readImports } from './containerd-config.ts';

export const isGoTemplate = (text: string): boolean => text.includes('{{');

const IMPORTS_LINE = /^\s*imports\s*=/;

/** The imports a Go template sets on a line of its own (the line the installer adds). */
export function templateImports(text: string, file: string): string[] {
  const line = text.split(/\r?\n/).find((l) => IMPORTS_LINE.test(l));
  return line === undefined ? [] : readImports(parseToml(line, file), file);
}

export function withTemplateImport(
  text: string,
  path: string,
  renderedImports: readonly string[],
  file: string,
): string {
  if (renderedImports.length > 0 || text.split(/\r?\n/).some((l) => IMPORTS_LINE.test(l))) {
    throw failedPrecondition(
      `${file} is a Go template whose config already has imports, which the installer does not merge; ` +
        `expected none: add "${path}" to those imports by hand`,
      { details: { file } },
    );
  }
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  return stringify({ imports: [path] }).trim() + eol + text;
}
