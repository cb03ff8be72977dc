import { VirtualTimeScheduler } from 'rxjs';
import { GatewayConfig, parseGatewayConfig } from '../../../plugin/gateway/gateway-config';
import { GatewayDaemon, GatewayDaemonOptions, startGatewayDaemon } from '../../../plugin/gateway/gateway-daemon';
import { MemoryGatewayFirewall } from '../../../plugin/gateway/gateway-firewall';
import { MemoryGatewayJournal } from '../../../plugin/gateway/gateway-journal';
import { createLogger, Logger } from '../../../plugin/gateway/structured-log';
import type { Requester } from '../../../adapters/upnp/server/gateway-decider';

export const TOKEN = 'test-token-0123456789abcdef';

/** The lab's addresses (documentation prefixes). */
export const CONSOLE = '2001:db8:77::10';
export const CONSOLE_V4 = '192.168.77.10';
export const CONSOLE2_V4 = '192.168.77.11';
export const PLUG = '2001:db8:77::20';
export const PLUG_V4 = '192.168.77.20';

export function requester(address: string): Requester {
  return { address, family: address.includes(':') ? 'ipv6' : 'ipv4', port: 40000 };
}

/** Advances virtual time step by step, letting the promises each step starts settle. */
export async function advance(scheduler: VirtualTimeScheduler, byMs: number, stepMs = 250): Promise<void> {
  const toMs = scheduler.now() + byMs;
  while (scheduler.now() < toMs) {
    const target = Math.min(toMs, scheduler.now() + stepMs);
    scheduler.maxFrames = target;
    scheduler.flush();
    scheduler.frame = Math.max(scheduler.frame, target);
    for (let i = 0; i < 10; i += 1) await Promise.resolve();
  }
}

export interface TestWorld {
  readonly scheduler: VirtualTimeScheduler;
  readonly journal: MemoryGatewayJournal;
  readonly firewall: MemoryGatewayFirewall;
  readonly lines: Record<string, unknown>[];
  readonly log: Logger;
}

export function testWorld(): TestWorld {
  const scheduler = new VirtualTimeScheduler();
  scheduler.frame = 1_700_000_000_000; // a plausible wall clock
  const lines: Record<string, unknown>[] = [];
  return {
    scheduler,
    journal: new MemoryGatewayJournal(),
    firewall: new MemoryGatewayFirewall(() => scheduler.now()),
    lines,
    log: createLogger({ level: 'debug', now: () => scheduler.now(), write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }),
  };
}

export function testConfig(extra: Record<string, unknown> = {}): GatewayConfig {
  return parseGatewayConfig({
    journal: { path: null },
    wan: { interface: 'wan0', ipv4: { source: 'static', address: '198.51.100.1' } },
    admin: { listen: null },
    devices: { known: [{ id: 'plug', kind: 'matter', addresses: [PLUG, PLUG_V4] }], watchNeighbours: false },
    ...extra,
  });
}

/** A daemon on virtual time with in-memory journal and firewall, no sockets unless asked. */
export function startTestDaemon(world: TestWorld, config: GatewayConfig = testConfig(), extra: Partial<GatewayDaemonOptions> = {}): Promise<GatewayDaemon> {
  return startGatewayDaemon({
    config,
    scheduler: world.scheduler,
    log: world.log,
    openJournal: () => {
      world.journal.closed = false;
      return world.journal;
    },
    openFirewall: () => world.firewall,
    startIgdFront: null,
    startPcpFront: null,
    startAdminApi: null,
    readNeighbours: null,
    ...extra,
  });
}
