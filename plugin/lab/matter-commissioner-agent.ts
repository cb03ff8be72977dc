/**
 * Commissions one lab Matter device into the lab's fabric, run once in the
 * hub's namespace: `node matter-commissioner-agent.js '{"storagePath":...,"passcode":...,"discriminator":...}'`.
 * Prints `{"event":"commissioned","nodeId":"...","compressedFabricId":"...","elapsedMs":...}` and exits 0,
 * or prints the error on stderr and exits 1. The fabric stays in `storagePath`.
 *
 * @example
 * ```sh
 * ip netns exec m1-hub node dist/plugin/lab/matter-commissioner-agent.js \
 *   '{"storagePath":"/run/homenet-lab/m1/matter/hub","passcode":20202021,"discriminator":3840}'
 * ```
 */
import { MatterController } from '../../adapters/matter/matter-controller';

interface CommissionerOptions {
  storagePath: string;
  passcode: number;
  discriminator: number;
  timeoutMs?: number;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as CommissionerOptions;
  if (!options.storagePath || !Number.isInteger(options.passcode) || !Number.isInteger(options.discriminator)) {
    throw new Error('usage: matter-commissioner-agent.js \'{"storagePath":"...","passcode":N,"discriminator":N}\'');
  }
  // IPv4 too: the lab's hub is dual-stack, and a controller without an IPv4 transport first tries a dual-stack
  // device's advertised IPv4 address and waits ~15 s before PASE over IPv6.
  const controller = await MatterController.open({ storagePath: options.storagePath, interfaceName: 'eth0', ipv4: true });
  try {
    const started = performance.now();
    const nodeId = await controller.commission(options);
    const elapsedMs = Math.round(performance.now() - started);
    const report = await controller.read(nodeId);
    process.stdout.write(`${JSON.stringify({ event: 'commissioned', nodeId, compressedFabricId: report.compressedFabricId, elapsedMs })}\n`);
  } finally {
    await controller.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`matter-commissioner-agent: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
