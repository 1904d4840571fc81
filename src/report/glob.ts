/**
 * Expands the run-folder arguments of `tpt report` and `tpt merge`. Shells expand unquoted globs themselves;
 * quoted ones (`'runs/*overlap=0.8*'`), and every glob on Windows shells, arrive here verbatim, so the tool
 * expands `*`, `?`, `[abc]` and `**` itself (Node 20 has no fs.glob).
 */
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { TptError } from '../errors.js';

const GLOB_CHARS = /[*?[]/;

export function hasGlob(pattern: string): boolean {
  return GLOB_CHARS.test(pattern);
}

/** One path segment's glob as an anchored regular expression (`*` and `?` never cross a `/`). */
export function segmentRegExp(segment: string): RegExp {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i] as string;
    if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else if (ch === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      out += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = close;
    } else out += ch.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

async function expandFrom(base: string, segments: readonly string[]): Promise<string[]> {
  if (segments.length === 0) return [base];
  const [head, ...rest] = segments as [string, ...string[]];
  if (head === '**') {
    // zero or more directories
    const results = await expandFrom(base, rest);
    for (const name of await listDir(base)) {
      if (name.startsWith('.')) continue;
      results.push(...(await expandFrom(join(base, name), segments)));
    }
    return results;
  }
  if (!hasGlob(head)) return expandFrom(join(base, head), rest);
  const re = segmentRegExp(head);
  const results: string[] = [];
  for (const name of await listDir(base)) {
    // like shells, `*` does not match hidden entries unless the pattern starts with a dot
    if (name.startsWith('.') && !head.startsWith('.')) continue;
    if (re.test(name)) results.push(...(await expandFrom(join(base, name), rest)));
  }
  return results;
}

/** The directories matching one pattern, sorted; a plain path is returned as it is if it is a directory. */
export async function expandDirectoryPattern(pattern: string): Promise<string[]> {
  if (!hasGlob(pattern)) return (await isDirectory(pattern)) ? [pattern] : [];
  const normalized = pattern.split(sep).join('/');
  const absolute = isAbsolute(normalized);
  const segments = normalized.split('/').filter((s, i) => s !== '' || i === 0);
  const base = absolute ? '/' : '.';
  const found = await expandFrom(base, absolute ? segments.slice(1) : segments);
  const unique = [...new Set(found.map((p) => (absolute ? p : p.startsWith('./') ? p.slice(2) : p)))];
  const dirs: string[] = [];
  for (const p of unique) if (await isDirectory(p)) dirs.push(p);
  return dirs.sort();
}

/** A directory an argument named, and whether a glob found it (rather than the argument naming it). */
export interface ExpandedDirectory {
  dir: string;
  fromGlob: boolean;
}

/**
 * Expands every argument to directories, keeping argument order (each glob's matches sorted) and dropping
 * repeats. An argument that matches nothing is an error naming it, so a typo never silently shrinks a table.
 */
export async function expandDirectoryArgsTagged(patterns: readonly string[], what = 'run folder'): Promise<ExpandedDirectory[]> {
  const out: ExpandedDirectory[] = [];
  const seen = new Set<string>();
  for (const pattern of patterns) {
    const matches = await expandDirectoryPattern(pattern);
    if (matches.length === 0) {
      throw new TptError('NO_SUCH_RUN', `"${pattern}" ${hasGlob(pattern) ? 'matches no folder' : 'is not a folder'}`, {
        hint: `Pass ${what}s (folders holding config.json), or a glob such as 'runs/*' (quote it to let tpt expand it).`,
      });
    }
    for (const m of matches) {
      const key = resolve(m);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ dir: m, fromGlob: hasGlob(pattern) });
    }
  }
  return out;
}

/** `expandDirectoryArgsTagged`, the directories only. */
export async function expandDirectoryArgs(patterns: readonly string[], what = 'run folder'): Promise<string[]> {
  return (await expandDirectoryArgsTagged(patterns, what)).map((e) => e.dir);
}
