/**
 * CLIP's text cleanup (`basic_clean` + `whitespace_clean` + `.lower()` in simple_tokenizer.py), matching
 * CPython's `html.unescape`, the `regex` module's `\s`, and `str.strip()` character for character.
 *
 * Not ported: `ftfy.fix_text` (mojibake repair and Unicode normalisation). It is the identity on ordinary text
 * such as the ImageNet-A prompts; text with mojibake or unusual compatibility characters may tokenize
 * differently from the seed.
 */
import { decodeEntity } from 'html-entities';

// CPython html/__init__.py `_charref`: numeric references (';' optional) or up to 32 name characters
// (code points, hence the `u` flag).
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

// CPython html `_invalid_charrefs`: C1 controls read as Windows-1252, NUL and CR.
const INVALID_CHARREFS: ReadonlyMap<number, string> = new Map<number, string>([
  [0x00, '\ufffd'], [0x0d, '\r'], [0x80, '\u20ac'], [0x81, '\x81'], [0x82, '\u201a'], [0x83, '\u0192'],
  [0x84, '\u201e'], [0x85, '\u2026'], [0x86, '\u2020'], [0x87, '\u2021'], [0x88, '\u02c6'], [0x89, '\u2030'],
  [0x8a, '\u0160'], [0x8b, '\u2039'], [0x8c, '\u0152'], [0x8d, '\x8d'], [0x8e, '\u017d'], [0x8f, '\x8f'],
  [0x90, '\x90'], [0x91, '\u2018'], [0x92, '\u2019'], [0x93, '\u201c'], [0x94, '\u201d'], [0x95, '\u2022'],
  [0x96, '\u2013'], [0x97, '\u2014'], [0x98, '\u02dc'], [0x99, '\u2122'], [0x9a, '\u0161'], [0x9b, '\u203a'],
  [0x9c, '\u0153'], [0x9d, '\x9d'], [0x9e, '\u017e'], [0x9f, '\u0178'],
]);

// CPython html `_invalid_codepoints`: references to these decode to nothing.
function isInvalidCodepoint(cp: number): boolean {
  return (
    (cp >= 0x1 && cp <= 0x8) ||
    cp === 0xb ||
    (cp >= 0xe && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe // U+xFFFE and U+xFFFF of every plane
  );
}

/** The HTML5 named reference `name` (with or without ';') from html-entities' table, if it is one. */
function namedReference(name: string): string | undefined {
  // decodeEntity looks the whole string up (legacy names such as `amp` also match without ';', as in the
  // HTML5 table CPython uses) and returns it unchanged when it is not an entity.
  const entity = `&${name}`;
  const decoded = decodeEntity(entity, { level: 'html5' });
  return decoded === entity ? undefined : decoded;
}

function replaceCharref(match: string, body: string): string {
  void match;
  if (body.startsWith('#')) {
    const hex = body[1] === 'x' || body[1] === 'X';
    const digits = body.slice(hex ? 2 : 1).replace(/;$/, '');
    const cp = Number.parseInt(digits, hex ? 16 : 10);
    const replacement = INVALID_CHARREFS.get(cp);
    if (replacement !== undefined) return replacement;
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return '\ufffd';
    if (isInvalidCodepoint(cp)) return '';
    return String.fromCodePoint(cp);
  }
  const whole = namedReference(body);
  if (whole !== undefined) return whole;
  // HTML5: the longest prefix that is a (legacy, semicolon-free) name wins, the rest stays text.
  for (let x = body.length - 1; x > 1; x--) {
    const prefix = namedReference(body.slice(0, x));
    if (prefix !== undefined) return prefix + body.slice(x);
  }
  return `&${body}`;
}

/** CPython's `html.unescape`. */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF, replaceCharref);
}

// The `regex` module's `\s` on str patterns is Unicode White_Space (JS `\s` differs: it adds U+FEFF and lacks
// U+0085). CPython's `str.strip()` also strips U+001C..U+001F (bidi class B/S), which `\s` does not match.
const REGEX_WHITESPACE_RUN = /\p{White_Space}+/gu;
const PY_STRIP_EDGES = /^[\p{White_Space}\x1c-\x1f]+|[\p{White_Space}\x1c-\x1f]+$/gu;

function pyStrip(text: string): string {
  return text.replace(PY_STRIP_EDGES, '');
}

/** `whitespace_clean(basic_clean(text)).lower()` of the seed, without ftfy (see the module comment). */
export function cleanText(text: string): string {
  const unescaped = pyStrip(htmlUnescape(htmlUnescape(text)));
  const collapsed = pyStrip(unescaped.replace(REGEX_WHITESPACE_RUN, ' '));
  // Python's str.lower() and JS toLowerCase() both apply Unicode's default (locale-free) lower-casing,
  // including the final-sigma rule.
  return collapsed.toLowerCase();
}
