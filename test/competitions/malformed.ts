// A seeded generator of malformed tables: cells, rows, headers and bytes changed the ways real
// files go wrong (hand edits, truncated downloads, another encoding, spreadsheet exports).
import type { Random } from '../../core/random.js';

const JUNK_CELLS = [
  '',
  ' ',
  '"',
  '""',
  '"a,b"',
  'a\nb',
  'a\r\nb',
  '..',
  '../../../etc/passwd',
  '/etc/passwd',
  'x'.repeat(5000),
  '\u0000',
  '\uFEFF',
  'é',
  '😀',
  '-1',
  '0',
  '1e309',
  '-1e309',
  'NaN',
  'Infinity',
  '0x1F',
  '   7  ',
  ',,,',
  'Public',
  'Ignored',
  'new_whale',
  '1 2 3 4 5 6 7 8 9 10 11',
  'a 0.5',
  'a b c',
  '1 -0.5',
  '1 1e309',
  '1 NaN',
  'null',
  '{}',
  '[]',
];

function junk(random: Random): string {
  if (random.next() < 0.3)
    return Array.from({ length: 1 + random.int(12) }, () => String.fromCharCode(32 + random.int(95))).join('');
  return JUNK_CELLS[random.int(JUNK_CELLS.length)]!;
}

type TextChange = (lines: string[], random: Random) => void;

const pickLine = (lines: string[], random: Random) => random.int(Math.max(1, lines.length));

const TEXT_CHANGES: TextChange[] = [
  // A cell replaced by junk (the header too, now and then).
  (lines, random) => {
    const at = random.next() < 0.1 ? 0 : pickLine(lines, random);
    const cells = (lines[at] ?? '').split(',');
    cells[random.int(cells.length)] = junk(random);
    lines[at] = cells.join(',');
  },
  // A row with a cell too few or too many.
  (lines, random) => {
    const at = pickLine(lines, random);
    const cells = (lines[at] ?? '').split(',');
    if (random.next() < 0.5) cells.splice(random.int(cells.length), 1);
    else cells.splice(random.int(cells.length + 1), 0, junk(random));
    lines[at] = cells.join(',');
  },
  // A row given twice.
  (lines, random) => {
    const from = pickLine(lines, random);
    lines.splice(pickLine(lines, random), 0, lines[from] ?? '');
  },
  // A row (or the header) deleted.
  (lines, random) => {
    lines.splice(pickLine(lines, random), 1);
  },
  // Only the header, or nothing at all.
  (lines, random) => {
    lines.splice(random.next() < 0.5 ? 1 : 0);
  },
  // The header's columns shuffled or renamed.
  (lines, random) => {
    const header = (lines[0] ?? '').split(',');
    if (random.next() < 0.5) random.shuffle(header);
    else header[random.int(header.length)] = junk(random);
    lines[0] = header.join(',');
  },
  // An unterminated quote.
  (lines, random) => {
    const at = pickLine(lines, random);
    lines[at] = `${lines[at] ?? ''}"`;
  },
];

type ByteChange = (bytes: Buffer, random: Random) => Buffer;

const BYTE_CHANGES: ByteChange[] = [
  // Truncated at a random byte (a download cut short).
  (bytes, random) => bytes.subarray(0, random.int(bytes.length + 1)),
  // Bytes that are not UTF-8 (a Latin-1 export), or random bytes, inserted.
  (bytes, random) => {
    const at = random.int(bytes.length + 1);
    const inserted =
      random.next() < 0.5
        ? Buffer.from([0xe9])
        : Buffer.from(Array.from({ length: 1 + random.int(16) }, () => random.int(256)));
    return Buffer.concat([bytes.subarray(0, at), inserted, bytes.subarray(at)]);
  },
  // Windows line ends and a byte-order mark.
  (bytes) =>
    Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(bytes.toString('latin1').replace(/\n/g, '\r\n'), 'latin1'),
    ]),
];

/** A binary file truncated or with bytes inserted (what a text change would do to it is the same). */
export function malformedBinary(original: Buffer, random: Random): Buffer {
  return BYTE_CHANGES[random.int(2)]!(original, random);
}

/** One to three random changes of a table's bytes, line-wise and byte-wise. */
export function malformed(original: Buffer, random: Random): Buffer {
  let bytes = original;
  for (let changes = 1 + random.int(3); changes > 0; changes--) {
    if (random.next() < 0.75) {
      const lines = bytes.toString('utf8').split('\n');
      TEXT_CHANGES[random.int(TEXT_CHANGES.length)]!(lines, random);
      bytes = Buffer.from(lines.join('\n'), 'utf8');
    } else {
      bytes = BYTE_CHANGES[random.int(BYTE_CHANGES.length)]!(bytes, random);
    }
  }
  return bytes;
}

/** A JSON document with one value somewhere replaced by junk of another type (or the text broken). */
export function malformedJson(original: Buffer, random: Random): Buffer {
  if (random.next() < 0.3) return malformed(original, random);
  const value = JSON.parse(original.toString('utf8')) as unknown;
  let node = value;
  for (let depth = 0; depth < 6 && node !== null && typeof node === 'object'; depth++) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[random.int(keys.length)]!;
    const child = (node as Record<string, unknown>)[key];
    if (child === null || typeof child !== 'object' || random.next() < 0.3) {
      const replacements = [null, junk(random), -1, 1e308, [], {}, true];
      (node as Record<string, unknown>)[key] = replacements[random.int(replacements.length)];
      break;
    }
    node = child;
  }
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** A random string for an id or a label: commas, quotes, line breaks, spaces and non-ASCII included. */
export function awkwardString(random: Random): string {
  return junk(random).replaceAll('\u0000', '');
}
