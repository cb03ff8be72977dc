import { runCommand } from '../system/run-command';

/** What one `nft` run printed and how it ended. */
export interface NftResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The full argument vector that ran. */
  readonly argv: readonly string[];
}

/** Runs `nft` with these arguments and standard input. Injected so unit tests can script it. */
export type NftRunner = (args: readonly string[], input?: string) => Promise<NftResult>;

export interface NftRunnerOptions {
  /** Run inside this network namespace (`ip netns exec NS nft ...`). */
  readonly netns?: string;
  /** Path of the nft binary (default `nft` on PATH). */
  readonly nftPath?: string;
  /** Kill nft after this long (default 30 s). */
  readonly timeoutMs?: number;
}

/**
 * The real runner: spawns `nft` (in a namespace when asked), never a shell.
 *
 * @example
 * ```ts
 * const run = nftRunner({ netns: 'hn-router' });
 * const { stdout } = await run(['-j', 'list', 'table', 'inet', 'homenet']);
 * ```
 */
export function nftRunner(options: NftRunnerOptions = {}): NftRunner {
  const nft = options.nftPath ?? 'nft';
  if (options.netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(options.netns)) throw new Error(`netns name ${JSON.stringify(options.netns)} is invalid`);
  const prefix = options.netns !== undefined ? ['ip', 'netns', 'exec', options.netns, nft] : [nft];
  return async (args, input) => {
    const argv = [...prefix, ...args];
    const r = await runCommand(argv[0], argv.slice(1), { input: input ?? '', allowFailure: true, timeoutMs: options.timeoutMs ?? 30_000 });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr, argv };
  };
}
