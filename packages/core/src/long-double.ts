/**
 * Redis's INCRBYFLOAT arithmetic, reproduced exactly and portably. Redis
 * parses both numbers with `strtold`, adds them as x87 80-bit long doubles
 * (a 64-bit significand) and prints the sum with `%.17Lf`, trailing zeros
 * trimmed — which is why `SET f 200; INCRBYFLOAT f 0.1` answers
 * `200.10000000000000001`. JavaScript has no long double, and a replica
 * must compute the same bytes on any machine, so this file does the same
 * steps in exact BigInt arithmetic: each value is `sign * m * 2^e` with
 * m < 2^64, every rounding is to nearest, ties to even, as the hardware does.
 */

/** A finite long double (m = 0 is zero), or an infinity. */
export type LongDouble = { negative: boolean; m: bigint; e: number } | { negative: boolean; infinite: true };

/** Redis refuses a float argument this long or longer (MAX_LONG_DOUBLE_CHARS). */
export const FLOAT_TEXT_BYTES_MAX = 5 * 1024 - 1;

const SIGNIFICAND_BITS = 64;
/** The smallest exponent: the least subnormal is 2^-16445. */
const E_MIN = -16445;
/** The largest exponent of a finite value: (2^64 - 1) * 2^16320 is the largest long double. */
const E_MAX = 16320;
const TWO_63 = 1n << 63n;
const TWO_64 = 1n << 64n;

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** num/den divided, rounded to nearest, ties to even. */
function divRound(num: bigint, den: bigint): bigint {
  const q = num / den;
  const twice = (num % den) * 2n;
  if (twice > den || (twice === den && (q & 1n) === 1n)) return q + 1n;
  return q;
}

/** The long double nearest to num/den (both positive, or num = 0). */
function fromRatio(negative: boolean, num: bigint, den: bigint): LongDouble {
  if (num === 0n) return { negative, m: 0n, e: 0 };
  let e = Math.max(bitLength(num) - bitLength(den) - (SIGNIFICAND_BITS - 1), E_MIN);
  const scaled = (exp: number): bigint => (exp >= 0 ? num / (den << BigInt(exp)) : (num << BigInt(-exp)) / den);
  while (e > E_MIN && scaled(e) < TWO_63) e--;
  while (scaled(e) >= TWO_64) e++;
  let m = e >= 0 ? divRound(num, den << BigInt(e)) : divRound(num << BigInt(-e), den);
  if (m === TWO_64) {
    m = TWO_63;
    e++;
  }
  if (e > E_MAX) return { negative, infinite: true };
  return { negative, m, e };
}

const DECIMAL = /^([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?$/;
const HEX = /^([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))(?:[pP]([+-]?[0-9]+))?$/;
const INFINITY = /^([+-]?)inf(?:inity)?$/i;

/**
 * Parses a float as Redis's string2ld does: strtold's grammar (decimal,
 * hexadecimal, `inf`), nothing before or after it, and neither NaN nor a
 * value that overflows to infinity or underflows to zero. undefined: not a
 * valid float.
 */
export function parseLongDouble(text: string): LongDouble | undefined {
  if (text.length === 0 || text.length > FLOAT_TEXT_BYTES_MAX) return undefined;
  const inf = INFINITY.exec(text);
  if (inf !== null) return { negative: inf[1] === '-', infinite: true };
  const hex = HEX.exec(text);
  const dec = hex === null ? DECIMAL.exec(text) : null;
  const match = hex ?? dec;
  if (match === null) return undefined;
  const negative = match[1] === '-';
  const whole = match[2] ?? '';
  const fraction = match[3] ?? match[4] ?? '';
  const digits = (whole + fraction).replace(/^0+/, '');
  if (digits === '') return { negative, m: 0n, e: 0 };
  const exponentText = match[5] ?? '0';
  // An exponent too long to matter: strtold overflows or underflows, and Redis refuses both.
  if (exponentText.replace(/^[+-]?0*/, '').length > 6) return undefined;
  const exponent = Number(exponentText);
  let value: LongDouble;
  if (hex !== null) {
    const e2 = exponent - 4 * fraction.length;
    const mantissa = BigInt(`0x${digits}`);
    value = e2 >= 0 ? fromRatio(negative, mantissa << BigInt(e2), 1n) : fromRatio(negative, mantissa, 1n << BigInt(-e2));
  } else {
    const e10 = exponent - fraction.length;
    // The decimal magnitude: beyond these the value is infinite or zero as a long double.
    const magnitude = digits.length + e10;
    if (magnitude > 4934 || magnitude < -4952) return undefined;
    const mantissa = BigInt(digits);
    value =
      e10 >= 0 ? fromRatio(negative, mantissa * 10n ** BigInt(e10), 1n) : fromRatio(negative, mantissa, 10n ** BigInt(-e10));
  }
  if ('infinite' in value || value.m === 0n) return undefined;
  return value;
}

/** a + b as the FPU adds long doubles; undefined for NaN (inf + -inf). */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | undefined {
  if ('infinite' in a || 'infinite' in b) {
    if ('infinite' in a && 'infinite' in b && a.negative !== b.negative) return undefined;
    return 'infinite' in a ? a : b;
  }
  const e = Math.min(a.e, b.e);
  const sum = (a.negative ? -1n : 1n) * (a.m << BigInt(a.e - e)) + (b.negative ? -1n : 1n) * (b.m << BigInt(b.e - e));
  const negative = sum < 0n || (sum === 0n && a.negative && b.negative);
  const magnitude = sum < 0n ? -sum : sum;
  return e >= 0 ? fromRatio(negative, magnitude << BigInt(e), 1n) : fromRatio(negative, magnitude, 1n << BigInt(-e));
}

export function isFiniteLongDouble(v: LongDouble): boolean {
  return !('infinite' in v);
}

/** printf("%.17Lf") with trailing zeros (and a bare point) removed, and "-0" as "0": Redis's LD_STR_HUMAN. */
export function formatLongDouble(v: LongDouble): string {
  if ('infinite' in v) return v.negative ? '-inf' : 'inf';
  const scale = 10n ** 17n;
  const n = v.e >= 0 ? (v.m << BigInt(v.e)) * scale : divRound(v.m * scale, 1n << BigInt(-v.e));
  const text = n.toString().padStart(18, '0');
  let out = `${text.slice(0, -17)}.${text.slice(-17)}`.replace(/0+$/, '').replace(/\.$/, '');
  if (v.negative) out = `-${out}`;
  return out === '-0' ? '0' : out;
}
