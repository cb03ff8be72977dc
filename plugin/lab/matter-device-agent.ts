/**
 * A real matter.js device for the lab, run inside a LAN host's namespace as
 * `node matter-device-agent.js '<json options>'` (the lab starts it detached,
 * like miniupnpd, and records its pid). It advertises over real mDNS on the
 * namespace's `eth0` and prints one JSON line per lifecycle event:
 * `{"event":"online","at":<ms since epoch>,"commissioned":false,"manualPairingCode":"..."}`,
 * `{"event":"commissioned","at":...}`. Storage (fabrics, keys) lives in
 * `storagePath`, so a commissioned device stays commissioned across restarts.
 *
 * @example
 * ```sh
 * ip netns exec m1-plug node dist/plugin/lab/matter-device-agent.js \
 *   '{"kind":"plug","storagePath":"/run/homenet-lab/m1/matter/plug","passcode":20202021,"discriminator":3840}'
 * ```
 */
import type { MatterDeviceAgentOptions } from './matter-lab-devices';

function emit(event: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, at: Date.now(), ...extra })}\n`);
}

function parseOptions(argv: string[]): MatterDeviceAgentOptions {
  let options: MatterDeviceAgentOptions;
  try {
    options = JSON.parse(argv[0] ?? '') as MatterDeviceAgentOptions;
  } catch {
    process.stderr.write('usage: matter-device-agent.js \'{"kind":"plug"|"lock","storagePath":"...",...}\'\n');
    process.exit(2);
  }
  if (options.kind !== 'plug' && options.kind !== 'lock') {
    process.stderr.write(`matter-device-agent: kind must be plug or lock, got ${String(options.kind)}\n`);
    process.exit(2);
  }
  return options;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  // matter.js reads its settings from MATTER_* variables; pin mDNS to the lab
  // interface and keep every file in the lab's run directory.
  process.env.MATTER_STORAGE_PATH = options.storagePath;
  process.env.MATTER_MDNS_NETWORKINTERFACE = options.interfaceName ?? 'eth0';
  if (options.ipv4 === false) process.env.MATTER_MDNS_IPV4 = 'false';
  process.env.MATTER_LOG_LEVEL ??= 'warn';
  const { Environment, ServerNode, VendorId } = await import('@matter/main');
  const basic = {
    vendorName: 'homenet lab',
    vendorId: VendorId(0xfff1),
    productId: options.kind === 'plug' ? 0x8001 : 0x8002,
    serialNumber: options.serialNumber,
    uniqueId: options.uniqueId,
    hardwareVersion: 1,
    softwareVersion: 1,
  };
  let node;
  if (options.kind === 'plug') {
    const { OnOffPlugInUnitDevice } = await import('@matter/main/devices/on-off-plug-in-unit');
    node = await ServerNode.create({
      id: options.kind,
      environment: Environment.default,
      network: { port: options.port ?? 5540, ipv4: options.ipv4 !== false },
      commissioning: { passcode: options.passcode, discriminator: options.discriminator },
      productDescription: { name: options.productName, deviceType: OnOffPlugInUnitDevice.deviceType },
      basicInformation: { ...basic, productName: options.productName, nodeLabel: options.productName },
    });
    await node.add(OnOffPlugInUnitDevice, { id: 'plug' });
  } else {
    const { DoorLockDevice } = await import('@matter/main/devices/door-lock');
    const { DoorLock } = await import('@matter/main/clusters/door-lock');
    node = await ServerNode.create({
      id: options.kind,
      environment: Environment.default,
      network: { port: options.port ?? 5540, ipv4: options.ipv4 !== false },
      commissioning: { passcode: options.passcode, discriminator: options.discriminator },
      productDescription: { name: options.productName, deviceType: DoorLockDevice.deviceType },
      basicInformation: { ...basic, productName: options.productName, nodeLabel: options.productName },
    });
    // wrongCodeEntryLimit / userCodeTemporaryDisableTime belong to features the
    // base DoorLock type does not declare, but matter.js validates them (1-255).
    const doorLock = {
      lockState: DoorLock.LockState.Locked,
      lockType: DoorLock.LockType.DeadBolt,
      actuatorEnabled: true,
      operatingMode: DoorLock.OperatingMode.Normal,
      wrongCodeEntryLimit: 5,
      userCodeTemporaryDisableTime: 10,
    };
    await node.add(DoorLockDevice, { id: 'lock', doorLock: doorLock as unknown as { lockState: typeof DoorLock.LockState.Locked } });
  }
  node.lifecycle.commissioned.on(() => emit('commissioned'));
  node.lifecycle.online.on(() => {
    const commissioned = node.lifecycle.isCommissioned;
    const codes = commissioned ? {} : node.state.commissioning.pairingCodes;
    emit('online', { commissioned, ...codes });
  });
  const stop = async () => {
    emit('stopping');
    await node.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  await node.start();
}

main().catch((error: unknown) => {
  process.stderr.write(`matter-device-agent: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
