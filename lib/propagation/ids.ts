/**
 * Id codecs shared by the propagation styles. Every parser is bounded and regex-checked before BigInt sees
 * the text, so hostile header values cost a short regex test and never an exception.
 * @packageDocumentation
 */

/** 2^64 - 1: the largest id any propagation format can carry in 64 bits. */
export const MAX_U64 = 0xffffffffffffffffn;

// 20 digits is the length of 2^64-1; anything longer is either an overflow or padding we refuse to guess at.
const DECIMAL_U64 = /^[0-9]{1,20}$/;
const HEX16_LOWER = /^[0-9a-f]{16}$/;
const HEX16_ANY = /^[0-9a-fA-F]{16}$/;
const ZERO16 = '0000000000000000';

/** Parse an unsigned decimal 64-bit id; `null` for anything else (signs, spaces, overflow, empty). */
export function parseDecimalU64(text: string): bigint | null {
  if (!DECIMAL_U64.test(text)) return null;
  const value = BigInt(text);
  return value > MAX_U64 ? null : value;
}

/**
 * Parse exactly 16 hex digits into a 64-bit id; `null` otherwise. W3C demands lowercase, B3 tolerates
 * either case in the wild, hence the switch.
 */
export function parseHex16(text: string, allowUpper = false): bigint | null {
  if (!(allowUpper ? HEX16_ANY : HEX16_LOWER).test(text)) return null;
  return BigInt('0x' + text);
}

/** Whether `text` is exactly 16 lowercase hex digits (the only accepted form of `_dd.p.tid`). */
export function isHex16Lower(text: string): boolean {
  return HEX16_LOWER.test(text);
}

/** Format a 64-bit id as 16 lowercase hex digits, zero padded. */
export function toHex16(id: bigint): string {
  return id.toString(16).padStart(16, '0');
}

/**
 * Normalise the high half of a 128-bit trace id: all zeros means "a 64-bit trace", which the rest of the
 * tracer spells as the empty string.
 */
export function normaliseHigh(high: string): string {
  return high === ZERO16 ? '' : high;
}

/** The high half as 16 hex digits for formats that always carry 128 bits (W3C, 32-digit B3). */
export function highOrZeros(high: string): string {
  return high === '' ? ZERO16 : high;
}
