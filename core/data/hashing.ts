/** FNV-1a 32-bit hash of the UTF-8 bytes of a string: stable across runs, machines and languages. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  const byte = (b: number) => (hash = Math.imul(hash ^ b, 0x01000193));
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code < 0x80) byte(code);
    else if (code < 0x800) {
      byte(0xc0 | (code >> 6));
      byte(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      byte(0xe0 | (code >> 12));
      byte(0x80 | ((code >> 6) & 0x3f));
      byte(0x80 | (code & 0x3f));
    } else {
      byte(0xf0 | (code >> 18));
      byte(0x80 | ((code >> 12) & 0x3f));
      byte(0x80 | ((code >> 6) & 0x3f));
      byte(0x80 | (code & 0x3f));
    }
  }
  return hash >>> 0;
}

/** The bucket of a token among `buckets` (FNV-1a 32 modulo). */
export function hashToken(token: string, buckets: number): number {
  return fnv1a32(token) % buckets;
}
