/**
 * The fuzz engine: fast-check drives a mix of (a) mutations of captured inputs (bit flips,
 * byte insertions and deletions, a chunk repeated many times, splices of two seeds, a
 * seed's text with one token repeated up to the parser's size cap) and (b) raw random
 * bytes. Every case asserts: the parser returns or throws its declared error (anything
 * else fails), it finishes within a time bound, and an accepted output keeps the target's
 * invariants. It also keeps the slowest input per byte, which the parser benchmark prints.
 *
 * No jest globals: used by `test/fuzz/parsers.fuzz.test.ts` and by `bench/parsers.ts`.
 *
 * @example
 * ```ts
 * const result = fuzzParser(ssdpTarget(), { cases: 2000, seed: 1 });
 * result.failure; // undefined when every case held
 * result.slowest.msPerKiB;
 * ```
 */
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { ParserTarget } from './parser-targets';

export interface FuzzOptions {
  readonly cases: number;
  readonly seed: number;
  /**
   * Time allowed for one input: `fixedMs + perKiBMs * KiB`. A linear parser is far under it;
   * a quadratic one on a few KiB is far over it. Over-budget inputs are re-run three times and
   * the fastest run counts, so a GC pause does not fail a case; and one fails only when it is
   * also more than {@link MAX_RATIO_TO_TYPICAL} times slower per KiB than the typical input
   * timed at that moment, so a busy machine does not either.
   */
  readonly budget?: { readonly fixedMs: number; readonly perKiBMs: number };
}

export interface SlowInput {
  readonly input: Uint8Array;
  readonly ms: number;
  readonly msPerKiB: number;
}

export interface FuzzResult {
  readonly target: string;
  readonly cases: number;
  readonly accepted: number;
  readonly rejected: number;
  /** The input with the highest time per KiB (inputs of at least 256 bytes). */
  readonly slowest: SlowInput;
  /** The first broken property, with the input that broke it. */
  readonly failure?: { readonly message: string; readonly input: Uint8Array };
}

export const DEFAULT_BUDGET = { fixedMs: 40, perKiBMs: 2 } as const;

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'repeat'; at: number; length: number; times: number }
  | { kind: 'splice'; other: number; at: number; from: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0, 0xff, 0x7f, 0x80, 0xc0, 0x3c, 0x3e, 0x23, 0x22, 0x0a, 0x0d, 0x20, 0x3a, 0x2f, 0x26), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 48 }), times: fc.integer({ min: 2, max: 2000 }) }),
  fc.record({ kind: fc.constant('splice' as const), other: fc.nat(), at: fc.nat(), from: fc.nat() }),
);

function apply(input: Uint8Array, m: Mutation, seeds: readonly Uint8Array[], maxBytes: number): Uint8Array {
  const n = input.length;
  const at = n === 0 ? 0 : m.at % (n + 1);
  let out: Uint8Array;
  switch (m.kind) {
    case 'flip':
      if (n === 0) return input;
      out = input.slice();
      out[at % n] ^= 1 << m.bit;
      return out;
    case 'set':
      if (n === 0) return input;
      out = input.slice();
      out[at % n] = m.value;
      return out;
    case 'insert':
      out = new Uint8Array(n + m.bytes.length);
      out.set(input.subarray(0, at));
      out.set(m.bytes, at);
      out.set(input.subarray(at), at + m.bytes.length);
      break;
    case 'delete':
      out = new Uint8Array(Math.max(0, n - Math.min(m.length, n - at)));
      out.set(input.subarray(0, at));
      out.set(input.subarray(at + m.length), at);
      return out;
    case 'repeat': {
      const chunk = input.subarray(at, Math.min(n, at + m.length));
      if (chunk.length === 0) return input;
      const times = Math.min(m.times, Math.floor((maxBytes - n) / chunk.length));
      if (times <= 0) return input;
      out = new Uint8Array(n + chunk.length * times);
      out.set(input.subarray(0, at));
      for (let i = 0; i < times; i++) out.set(chunk, at + i * chunk.length);
      out.set(input.subarray(at), at + times * chunk.length);
      break;
    }
    case 'splice': {
      const other = seeds[m.other % seeds.length];
      const from = other.length === 0 ? 0 : m.from % other.length;
      const tail = other.subarray(from);
      out = new Uint8Array(at + tail.length);
      out.set(input.subarray(0, at));
      out.set(tail, at);
      break;
    }
  }
  return out.length > maxBytes ? out.subarray(0, maxBytes) : out;
}

/** The inputs a target is fuzzed with: mostly mutated seeds, some raw bytes. */
export function fuzzInputs(target: ParserTarget): fc.Arbitrary<Uint8Array> {
  // Crafted inputs of more than 32 KiB are benchmarked, not mutated: each case would cost ~0.1 s.
  // A known-slow target's crafted inputs are its known slow cases: benchmarked, not mutated.
  const crafted = target.knownSlow ? [] : target.crafted.map((c) => c.input).filter((input) => input.length <= 32 * 1024);
  const seeds = [...target.seeds, ...crafted];
  const mutated = fc
    .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 6 }))
    .map(([i, ms]) => ms.reduce((acc, m) => apply(acc, m, seeds, target.maxBytes), seeds[i]));
  const raw = fc.uint8Array({ maxLength: Math.min(target.maxBytes, 2048) });
  return fc.oneof({ weight: 8, arbitrary: mutated }, { weight: 1, arbitrary: raw }, { weight: 1, arbitrary: fc.constantFrom(...seeds) });
}

function timeOnce(target: ParserTarget, input: Uint8Array): { ms: number; output?: unknown; error?: unknown; threw: boolean } {
  const t0 = performance.now();
  try {
    const output = target.run(input);
    return { ms: performance.now() - t0, output, threw: false };
  } catch (error) {
    return { ms: performance.now() - t0, error, threw: true };
  }
}

/**
 * How many times the typical input's time per KiB an over-budget input may take before it
 * fails (the linear parsers here stay under ~15; the old SOAP code was at 40-110 on 16-32 KiB).
 */
export const MAX_RATIO_TO_TYPICAL = 25;

/** The typical input's median time per KiB, measured now (so a busy machine slows both sides). */
function typicalMsPerKiB(target: ParserTarget): number {
  const times: number[] = [];
  for (let i = 0; i < 21; i++) times.push(timeOnce(target, target.typical).ms);
  times.sort((a, b) => a - b);
  return ((times[10]) * 1024) / Math.max(1, target.typical.length);
}

type CaseOutcome = { kind: 'accepted' | 'rejected'; ms: number } | { kind: 'failed'; message: string };

/** One case: declared errors only, within the time budget, output invariants kept. */
function runCase(target: ParserTarget, input: Uint8Array, budget: { fixedMs: number; perKiBMs: number }): CaseOutcome {
  let run = timeOnce(target, input);
  const allowed = budget.fixedMs + (budget.perKiBMs * input.length) / 1024;
  for (let i = 0; i < 3 && run.ms > allowed; i++) {
    const again = timeOnce(target, input);
    if (again.ms < run.ms) run = again;
  }
  if (run.ms > allowed) {
    // Over the absolute budget: fail only if it is also far slower per KiB than the typical input
    // measured right now, so that a loaded machine does not fail a linear parser.
    const ratio = ((run.ms * 1024) / Math.max(1, input.length)) / typicalMsPerKiB(target);
    if (ratio > MAX_RATIO_TO_TYPICAL || target.knownSlow) {
      return { kind: 'failed', message: `${target.name}: ${run.ms.toFixed(1)} ms for ${input.length} bytes (budget ${allowed.toFixed(1)} ms; ${ratio.toFixed(0)}x the typical input's time per KiB)` };
    }
  }
  if (run.threw) {
    if (target.isDeclaredError(run.error)) return { kind: 'rejected', ms: run.ms };
    const e = run.error as Error;
    return { kind: 'failed', message: `${target.name}: undeclared ${e?.constructor?.name ?? typeof e}: ${String(e?.message ?? e)}` };
  }
  try {
    target.check(run.output, input);
  } catch (error) {
    return { kind: 'failed', message: (error as Error).message };
  }
  return { kind: 'accepted', ms: run.ms };
}

/** Runs `cases` fuzz cases on one parser; never throws for a broken property (see `failure`). */
export function fuzzParser(target: ParserTarget, options: FuzzOptions): FuzzResult {
  const budget = options.budget ?? target.knownSlow?.budget ?? DEFAULT_BUDGET;
  let accepted = 0;
  let rejected = 0;
  let slowest: SlowInput = { input: target.typical, ms: 0, msPerKiB: 0 };
  const inputs = fuzzInputs(target);
  // In chunks: 100k inputs of up to tens of KiB would not fit in memory at once.
  const CHUNK = 500;
  for (let chunk = 0; accepted + rejected < options.cases; chunk++) {
    const count = Math.min(CHUNK, options.cases - accepted - rejected);
    for (const input of fc.sample(inputs, { numRuns: count, seed: options.seed + chunk * 7919 })) {
      const outcome = runCase(target, input, budget);
      if (outcome.kind === 'failed') {
        return { target: target.name, cases: accepted + rejected + 1, accepted, rejected, slowest, failure: { message: outcome.message, input } };
      }
      if (outcome.kind === 'accepted') accepted++;
      else rejected++;
      const perKiB = (outcome.ms * 1024) / input.length;
      if (input.length >= 256 && perKiB > slowest.msPerKiB) slowest = { input, ms: outcome.ms, msPerKiB: perKiB };
    }
  }
  return { target: target.name, cases: accepted + rejected, accepted, rejected, slowest };
}

/** A printable excerpt of a failing input. */
export function describeInput(input: Uint8Array): string {
  const text = Buffer.from(input).toString('latin1');
  const shown = text.length > 300 ? `${text.slice(0, 300)}... (${input.length} bytes)` : text;
  return JSON.stringify(shown);
}
