import { type DistkvErrorCode, isDistkvError } from '../errors.js';

/** Whether `fn` throws a DistkvError of `code` (false when it returns, or throws anything else). */
export function throwsDistkvError(code: DistkvErrorCode, fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return isDistkvError(err, code);
  }
}
