import { join } from 'node:path';
import { CliIo } from '../command';
import { LabHandle } from '../../lab/lab';
import { LabLanRole } from '../../lab/lab-plan';
import { labProbe } from '../../lab/lab-probe';
import { CommandResult, runCommand } from '../../../adapters/system/run-command';
import { Reachability } from '../../agent/reachability';
import { formatVerdict } from './open';

/** A dropped probe takes about its window; one this slow had a listener that never got ready (e.g. the port was taken). */
const PROBE_WINDOW_MS = 1000;
const INCONCLUSIVE_AFTER_MS = 15_000;

/** The `homenet` CLI as the demo runs it inside lab namespaces (this very program). */
function self(): string {
  return process.argv[1] ?? join(__dirname, '../main.js');
}

/** Where the remote player sends one probe: a LAN host's port, through the router. */
export interface DemoProbe {
  readonly to: LabLanRole;
  readonly family: 'ipv4' | 'ipv6';
  readonly port: number;
  readonly protocol?: 'udp' | 'tcp';
  /** IPv4: the router's external port (default `port`). */
  readonly externalPort?: number;
  /** IPv6: the address sent to (default the host's stable address). */
  readonly address?: string;
}

/**
 * The demo's narrator on one lab: prints the steps, runs `homenet` inside a
 * LAN host, sends the remote player's packets, and keeps the score — every
 * claim is a check, and one failed check makes the demo exit non-zero.
 *
 * @example
 * ```ts
 * const stage = new DemoStage(io, lab);
 * stage.step('before: nobody on the Internet can reach the console');
 * await stage.expectDropped({ to: 'console', family: 'ipv6', port: 3074 });
 * stage.ok; // false if the packet arrived
 * ```
 */
export class DemoStage {
  private failures: string[] = [];

  constructor(
    readonly io: CliIo,
    readonly lab: LabHandle,
  ) {}

  /** True while every check so far held. */
  get ok(): boolean {
    return this.failures.length === 0;
  }

  get failed(): readonly string[] {
    return this.failures;
  }

  step(text: string): void {
    this.io.out(`\n== ${text}`);
  }

  line(text: string): void {
    this.io.out(`   ${text}`);
  }

  /** Records a claim; a false one is printed as a failed check. Returns `passed`. */
  check(claim: string, passed: boolean): boolean {
    if (!passed) {
      this.failures.push(claim);
      this.io.out(`   CHECK FAILED: ${claim}`);
    }
    return passed;
  }

  /** Sends one real packet from the WAN peer and prints where it went. */
  async probe(p: DemoProbe): Promise<boolean> {
    const r = await labProbe(this.lab.plan, {
      to: p.to,
      family: p.family,
      port: p.port,
      ...(p.protocol ? { protocol: p.protocol } : {}),
      timeoutMs: PROBE_WINDOW_MS,
      ...(p.externalPort !== undefined ? { externalPort: p.externalPort } : {}),
      ...(p.address !== undefined ? { address: p.address } : {}),
    });
    const listener = p.family === 'ipv4' ? ` (${p.to} listens on ${p.port})` : '';
    this.line(`remote player -> ${r.target}${listener}: ${r.delivered ? `DELIVERED to ${p.to} (from ${r.from})` : 'DROPPED by the router firewall'}`);
    if (!r.delivered && r.elapsedMs > INCONCLUSIVE_AFTER_MS) {
      this.check(`the probe listener on ${p.to} port ${p.port} got ready (it took ${r.elapsedMs} ms: is the port taken?)`, false);
    }
    return r.delivered;
  }

  async expectDelivered(p: DemoProbe): Promise<boolean> {
    return this.check(`a WAN packet to ${p.to} ${p.family} ${p.protocol ?? 'udp'} port ${p.externalPort ?? p.port} is delivered`, await this.probe(p));
  }

  async expectDropped(p: DemoProbe): Promise<boolean> {
    return this.check(`a WAN packet to ${p.to} ${p.family} ${p.protocol ?? 'udp'} port ${p.externalPort ?? p.port} is dropped`, !(await this.probe(p)));
  }

  /**
   * Runs `homenet open ARGS --once --json` inside a LAN host and prints its
   * verdicts as the user would see them. No verdicts is a failed check.
   */
  async open(role: LabLanRole, args: readonly string[]): Promise<Reachability[]> {
    const result = await this.homenet(role, ['open', ...args, '--once', '--json']);
    let verdicts: Reachability[] = [];
    try {
      verdicts = reachabilityOf(result);
    } catch (error) {
      this.check(`homenet open in ${role} prints its verdicts: ${(error as Error).message}`, false);
    }
    for (const r of verdicts) this.line(`${role}: ${formatVerdict(r)}`);
    return verdicts;
  }

  /** Runs `homenet ARGS` inside a LAN host, with its own agent state directory. */
  homenet(role: LabLanRole, args: readonly string[]): Promise<CommandResult> {
    return runCommand('ip', ['netns', 'exec', this.lab.plan.hosts[role].namespace, process.execPath, self(), ...args], {
      allowFailure: true,
      timeoutMs: 30_000,
      env: { ...process.env, HOMENET_STATE_DIR: `${this.lab.plan.runDir}/agent-${role}` },
    });
  }
}

/**
 * The verdicts `homenet open --json` printed: the last JSON line that carries
 * a `reachability` list. Throws, with what was printed, when there is none.
 */
export function reachabilityOf(result: CommandResult): Reachability[] {
  const lines = result.stdout.trim().split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as { reachability?: unknown };
      if (Array.isArray(parsed.reachability)) return parsed.reachability as Reachability[];
    } catch {
      // not a JSON line: keep looking
    }
  }
  throw new Error(`homenet open printed no verdicts (exit ${result.code}):\n${result.stdout}${result.stderr}`);
}
