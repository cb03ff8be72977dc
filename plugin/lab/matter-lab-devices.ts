import { mkdir, readFile } from 'node:fs/promises';
import { LabPlan } from './lab-plan';
import { isPidRunning, LabProcess, startInNamespace, stopLabProcess } from './lab-process';
import { labScript } from './lab-scripts';
import { runCommand } from '../../adapters/system/run-command';

/** Options of one `matter-device-agent` run (passed as JSON on its command line). */
export interface MatterDeviceAgentOptions {
  readonly kind: 'plug' | 'lock';
  readonly storagePath: string;
  readonly passcode: number;
  readonly discriminator: number;
  readonly productName: string;
  readonly serialNumber: string;
  readonly uniqueId: string;
  readonly port?: number;
  /** UDP transport and mDNS over IPv4 too (the dual-stack plug) or IPv6 only (the lock). */
  readonly ipv4?: boolean;
  readonly interfaceName?: string;
}

/** A Matter device of the lab: which host runs it and whether the lab commissions it. */
export interface LabMatterDevice {
  readonly role: 'plug' | 'lock';
  readonly process: string;
  readonly agent: MatterDeviceAgentOptions;
  /** Commissioned into the lab's fabric by the hub's controller at `lab up --matter`. */
  readonly commissioned: boolean;
  /** Vendor 0xFFF1 (test vendor), product id as advertised in `VP=`. */
  readonly vendorId: number;
  readonly productId: number;
}

/** Where the lab's Matter fabric (the hub's controller) is stored. */
export function labMatterPaths(plan: LabPlan) {
  return {
    root: `${plan.runDir}/matter`,
    controller: `${plan.runDir}/matter/hub`,
    device: (role: 'plug' | 'lock') => `${plan.runDir}/matter/${role}`,
    commissioned: `${plan.runDir}/matter/commissioned.json`,
  };
}

/**
 * The lab's two Matter devices: the dual-stack plug (commissioned into the
 * lab's fabric) and the IPv6-only lock (left uncommissioned, so it advertises
 * `_matterc._udp`).
 *
 * @example
 * ```ts
 * labMatterDevices(plan).find((d) => d.role === 'plug')!.agent.discriminator; // 3840
 * ```
 */
export function labMatterDevices(plan: LabPlan): LabMatterDevice[] {
  const paths = labMatterPaths(plan);
  return [
    {
      role: 'plug',
      process: 'matter-plug',
      commissioned: true,
      vendorId: 0xfff1,
      productId: 0x8001,
      agent: {
        kind: 'plug',
        storagePath: paths.device('plug'),
        passcode: 20202021,
        discriminator: 3840,
        productName: 'homenet lab plug',
        serialNumber: `${plan.prefix}-plug-0001`,
        uniqueId: `${plan.prefix}-plug`,
        ipv4: true,
      },
    },
    {
      role: 'lock',
      process: 'matter-lock',
      commissioned: false,
      vendorId: 0xfff1,
      productId: 0x8002,
      agent: {
        kind: 'lock',
        storagePath: paths.device('lock'),
        passcode: 20202022,
        discriminator: 3841,
        productName: 'homenet lab lock',
        serialNumber: `${plan.prefix}-lock-0001`,
        uniqueId: `${plan.prefix}-lock`,
        ipv4: false,
      },
    },
  ];
}

/** The first JSON line with `event === name` that `log` holds after `fromByte`, or undefined. */
async function findEvent(log: string, name: string, fromByte: number): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = (await readFile(log)).subarray(fromByte).toString('utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.event === name) return parsed;
    } catch {
      /* a partial line */
    }
  }
  return undefined;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await readFile(path)).length;
  } catch {
    return 0;
  }
}

/**
 * Starts one lab Matter device in its host's namespace (detached, logging to
 * `<runDir>/<process>.log`) and waits until it is online (advertising).
 * Resolves to the process record and the time it reported being online.
 */
export async function startLabMatterDevice(plan: LabPlan, device: LabMatterDevice, timeoutMs = 30_000): Promise<{ process: LabProcess; onlineAt: number }> {
  await mkdir(device.agent.storagePath, { recursive: true });
  const log = `${plan.runDir}/${device.process}.log`;
  const from = await fileSize(log);
  const proc = startInNamespace(device.process, plan.hosts[device.role].namespace, [process.execPath, labScript('matter-device-agent'), JSON.stringify(device.agent)], log);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const online = await findEvent(log, 'online', from);
    if (online) return { process: proc, onlineAt: Number(online.at) };
    // Only "is the pid running": right after the spawn, `ip netns exec` may not have entered the namespace yet.
    if (!isPidRunning(proc.pid)) {
      const { stdout } = await runCommand('tail', ['-n', '30', log], { allowFailure: true });
      throw new Error(`the Matter ${device.role} exited during start:\n${stdout}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await stopLabProcess(proc);
  throw new Error(`the Matter ${device.role} did not come online within ${timeoutMs} ms (log: ${log})`);
}

export interface LabCommissioning {
  readonly role: 'plug' | 'lock';
  readonly nodeId: string;
  readonly compressedFabricId: string;
  readonly elapsedMs: number;
}

/**
 * Commissions a lab device into the lab's fabric with the project's own
 * controller, run once in the hub's namespace (`matter-commissioner-agent`);
 * the fabric stays in `<runDir>/matter/hub` for every later controller run.
 */
export async function commissionLabMatterDevice(plan: LabPlan, device: LabMatterDevice, timeoutMs = 60_000): Promise<LabCommissioning> {
  const args = JSON.stringify({
    storagePath: labMatterPaths(plan).controller,
    passcode: device.agent.passcode,
    discriminator: device.agent.discriminator,
    timeoutMs,
  });
  const result = await runCommand('ip', ['netns', 'exec', plan.hosts.hub.namespace, process.execPath, labScript('matter-commissioner-agent'), args], {
    timeoutMs: timeoutMs + 15_000,
    allowFailure: true,
  });
  const line = result.stdout.split('\n').find((l) => l.startsWith('{"event":"commissioned"'));
  if (result.code !== 0 || !line) {
    throw new Error(`commissioning the Matter ${device.role} failed (exit ${result.code}): ${result.stderr.trim().split('\n').slice(-5).join('\n')}`);
  }
  const parsed = JSON.parse(line) as { nodeId: string; compressedFabricId: string; elapsedMs: number };
  return { role: device.role, nodeId: parsed.nodeId, compressedFabricId: parsed.compressedFabricId, elapsedMs: parsed.elapsedMs };
}

/** Stops a running lab Matter device (SIGTERM: it sends its mDNS goodbyes). */
export async function stopLabMatterDevice(proc: LabProcess): Promise<void> {
  await stopLabProcess(proc, 5000);
}
