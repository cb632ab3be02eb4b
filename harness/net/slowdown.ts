/**
 * How much slower than this host the machine running the tests is: `ZEROPOD_TEST_SLOWDOWN` (a factor,
 * default 1). The VM tier runs the host's tests under software emulation, where a checkpoint takes
 * ~10 s instead of ~0.3 s; it sets the factor so the host's bounds on waiting stay bounds, not races.
 * Only the limits of waits grow; nothing a test asserts about behaviour changes.
 */
const raw = process.env['ZEROPOD_TEST_SLOWDOWN'];
const factor = raw === undefined || raw === '' ? 1 : Number(raw);
if (!Number.isFinite(factor) || factor < 1) {
  throw new Error(`ZEROPOD_TEST_SLOWDOWN=${raw}: expected a number >= 1`);
}

export const SLOWDOWN = factor;

/** A wait's limit in milliseconds, on this machine. */
export const bound = (ms: number): number => Math.round(ms * factor);
