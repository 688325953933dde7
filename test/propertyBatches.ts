/**
 * How the long randomized tests (the address-space and the Linux property tests) run their
 * property: in batches until enough operations ran, from fixed seeds (20261127 + batch) so that
 * CI is reproducible, from fresh seeds when `<PREFIX>_FRESH=1`, or once from `<PREFIX>_SEED` and
 * `<PREFIX>_PATH` to replay a reported failure. The first failing run is reported as is, with
 * its interpreted operations (shrinking a long multi-process sequence can take many minutes);
 * `<PREFIX>_SHRINK=1` shrinks it.
 */

import fc from "fast-check";

/** Runs `prop` as described above; `done()` says when enough ran. Returns true for a replay. */
export function runBatches<Ts>(
  prefix: string,
  prop: fc.IRawProperty<Ts>,
  numRuns: number,
  done: () => boolean,
): boolean {
  const env = process.env;
  const params = { numRuns, endOnFailure: env[`${prefix}_SHRINK`] !== "1" };
  const seed = env[`${prefix}_SEED`];
  if (seed !== undefined) {
    fc.assert(prop, { ...params, seed: Number(seed), path: env[`${prefix}_PATH`] });
    return true;
  }
  const fresh = env[`${prefix}_FRESH`] === "1";
  for (let b = 0; !done(); b++) fc.assert(prop, fresh ? params : { ...params, seed: 20261127 + b });
  return false;
}

/** One random program over a tree of processes (each test's Run). */
export interface TreeRun<Op> {
  spawnRoot(): void;
  step(op: Op): void;
  finish(): void;
}

/**
 * The property both tests check: a fresh run spawns its root process, performs every operation
 * (checking each against its model) and finishes (every process exits, every frame is free);
 * `totals` counts operations and runs.
 */
export function processTreeProperty<Op>(
  opArb: fc.Arbitrary<Op>,
  maxOps: number,
  newRun: () => TreeRun<Op>,
  totals: { ops: number; runs: number },
): fc.IRawProperty<[Op[]]> {
  return fc.property(
    fc.noBias(fc.array(opArb, { minLength: 1, maxLength: maxOps, size: "max" })),
    (ops) => {
      const run = newRun();
      run.spawnRoot();
      for (const op of ops) run.step(op);
      run.finish();
      totals.ops += ops.length;
      totals.runs++;
    },
  );
}
