import { spawn } from 'node:child_process';

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
  return (args, input) =>
    new Promise((resolve, reject) => {
      const argv = [...prefix, ...args];
      const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${argv[0]}: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), argv });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(input ?? '');
    });
}
