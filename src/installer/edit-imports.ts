/**
 * Adds one path to a config's top-level `imports` by editing its text, not by re-serialising the
 * document: the user's comments, order and formatting stay as they were, and the only change is one
 * line (a new `imports = [...]` after `version`, or the existing `imports` value rewritten).
 */
import { stringify } from 'smol-toml';
import { internal, invalidArgument } from '../base/index.ts';
import { parseToml, readImports } from './containerd-config.ts';

interface Span {
  key: string;
  /** First and last line (inclusive) of the key/value pair. */
  first: number;
  last: number;
}

const HEADER = /^\s*\[/;
const KEY = /^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*[.=]/;

/** The top-level key/value pairs (before the first table header), each with its lines. */
function topLevelPairs(lines: string[], file: string): Span[] {
  const spans: Span[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (HEADER.test(line)) break;
    const m = KEY.exec(line);
    if (m === null) continue;
    // A value may span lines (arrays, multi-line strings): grow until the pair alone parses.
    let last = i;
    for (; last < lines.length; last++) {
      try {
        parseToml(lines.slice(i, last + 1).join('\n'), file);
        break;
      } catch {
        // not complete yet: the next line belongs to this value
      }
    }
    if (last === lines.length)
      throw invalidArgument(`${file}: the value at line ${i + 1} never ends`, {
        details: { file, line: i + 1 },
      });
    spans.push({ key: (m[1] ?? '').replace(/^["']|["']$/g, ''), first: i, last });
    i = last;
  }
  return spans;
}

/** `text` with `path` in its top-level `imports` (unchanged when it is already there). */
export function withImport(text: string, path: string, file: string): string {
  const doc = parseToml(text, file);
  const imports = readImports(doc, file);
  if (imports.includes(path)) return text;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(eol);
  const spans = topLevelPairs(lines, file);
  const line = stringify({ imports: [...imports, path] }).trim();
  const existing = spans.find((s) => s.key === 'imports');
  if (existing !== undefined) {
    lines.splice(existing.first, existing.last - existing.first + 1, line);
  } else {
    const version = spans.find((s) => s.key === 'version');
    lines.splice(version === undefined ? 0 : version.last + 1, 0, line);
  }
  const out = lines.join(eol);
  // The edit must change `imports` and nothing else: compare the parsed documents.
  const after = parseToml(out, file);
  const expect = { ...doc, imports: [...imports, path] };
  if (JSON.stringify(canonical(after)) !== JSON.stringify(canonical(expect))) {
    throw internal(`${file}: adding ${path} to imports changed more than imports; left the file as it was`, {
      details: { file },
    });
  }
  return out;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
