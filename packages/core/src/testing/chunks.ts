/**
 * `data` split at the given cut points, any numbers (each reduced modulo
 * the length + 1, duplicates dropped): for property tests that feed a
 * decoder the same bytes in every chunking.
 */
export function splitAt(data: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(data.subarray(last, p));
    last = p;
  }
  out.push(data.subarray(last));
  return out;
}
