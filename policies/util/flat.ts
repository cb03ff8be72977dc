/**
 * Flattens a string built by concatenation (a rope) so that a key kept for
 * the lifetime of a grant or need is one compact string instead of a tree of
 * pieces (V8 flattens a rope when a character is read from it; the GC then
 * drops the rope's nodes). The value is unchanged.
 */
export function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}
