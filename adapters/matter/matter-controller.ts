/**
 * A Matter controller built on matter.js (`@matter/main` 0.17): commissions
 * devices into its own fabric, or reopens the fabric kept in `storagePath`,
 * and reads what identifies each node and where it is: BasicInformation, the
 * device types of every endpoint and GeneralDiagnostics NetworkInterfaces
 * (every address and the hardware address).
 *
 * matter.js is loaded lazily (its import costs ~1.5 s and ~160 MB), so
 * importing this module is cheap.
 *
 * @example
 * ```ts
 * const controller = await MatterController.open({ storagePath: '/var/lib/homenet/matter', interfaceName: 'eth0' });
 * const nodeId = await controller.commission({ passcode: 20202021, discriminator: 3840 });
 * const report = await controller.read(nodeId);
 * console.log(report.vendorName, report.productName, report.interfaces.flatMap((i) => i.ipv6));
 * await controller.close();
 * ```
 */
import { bytesToIpv6, formatHardwareAddress, bytesToIpv4 } from './matter-bytes';
import { deviceTypeName } from './matter-device-types';

export interface MatterControllerOptions {
  /** Where the fabric, keys and peers are kept (created when missing). */
  readonly storagePath: string;
  /** Node id of the controller in its storage (default `homenet-controller`). */
  readonly id?: string;
  /** The interface to run mDNS on (default: all). */
  readonly interfaceName?: string;
  /** UDP port of the controller (default 5541). */
  readonly port?: number;
  /** Use IPv4 for mDNS and transport too (default false). */
  readonly ipv4?: boolean;
  readonly fabricLabel?: string;
}

export interface MatterNetworkInterface {
  readonly name: string;
  readonly operational: boolean;
  /** `aa:bb:cc:dd:ee:ff` (or 8 bytes for an IEEE 802.15.4 extended address). */
  readonly hardwareAddress: string;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
  /** 0 unspecified, 1 WiFi, 2 Ethernet, 3 cellular, 4 Thread. */
  readonly type: number;
}

export interface MatterEndpointTypes {
  readonly endpoint: number;
  readonly deviceTypes: readonly { readonly id: number; readonly name: string; readonly revision: number }[];
}

/** What one read of a commissioned node returned. */
export interface MatterNodeReport {
  /** Node id in this controller's fabric, 16 hex digits. */
  readonly nodeId: string;
  /** Compressed fabric id, 16 hex digits; with the node id, the node's identity on every observer. */
  readonly compressedFabricId: string;
  readonly vendorName?: string;
  readonly vendorId?: number;
  readonly productName?: string;
  readonly productId?: number;
  readonly serialNumber?: string;
  readonly uniqueId?: string;
  readonly nodeLabel?: string;
  readonly endpoints: readonly MatterEndpointTypes[];
  readonly interfaces: readonly MatterNetworkInterface[];
  /** Milliseconds the read took. */
  readonly elapsedMs: number;
}

/** A node that did not answer or refused a read. */
export class MatterReadError extends Error {
  constructor(
    readonly nodeId: string,
    cause: unknown,
  ) {
    super(`Matter node ${nodeId} did not answer: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'MatterReadError';
  }
}

function hex16(value: bigint | number): string {
  return BigInt(value).toString(16).toUpperCase().padStart(16, '0');
}

const loadMatterMain = () => import('@matter/main');
type MatterMain = Awaited<ReturnType<typeof loadMatterMain>>;
type ServerNodeInstance = Awaited<ReturnType<MatterMain['ServerNode']['create']>>;
type ClientNodeInstance = NonNullable<ReturnType<ServerNodeInstance['peers']['get']>>;

/** `getStateOf` of a node or endpoint, without matter.js's per-cluster overloads. */
function readState(target: object, client: unknown, attributes: string[]): Promise<Record<string, unknown>> {
  const fn = (target as { getStateOf: (type: unknown, attributes: string[]) => Promise<Record<string, unknown>> }).getStateOf;
  return fn.call(target, client, attributes);
}

export class MatterController {
  private constructor(
    private readonly node: ServerNodeInstance,
    private readonly main: MatterMain,
  ) {}

  /** Opens (or creates) the controller's fabric and starts it on the network. */
  static async open(options: MatterControllerOptions): Promise<MatterController> {
    process.env.MATTER_STORAGE_PATH = options.storagePath;
    if (options.interfaceName) process.env.MATTER_MDNS_NETWORKINTERFACE = options.interfaceName;
    if (options.ipv4 !== true) process.env.MATTER_MDNS_IPV4 = 'false';
    process.env.MATTER_LOG_LEVEL ??= 'warn';
    const main = await loadMatterMain();
    const { ControllerBehavior } = await import('@matter/main/node');
    const node = await main.ServerNode.create(main.ServerNode.RootEndpoint.with(ControllerBehavior), {
      id: options.id ?? 'homenet-controller',
      environment: main.Environment.default,
      network: { port: options.port ?? 5541, ipv4: options.ipv4 === true },
      commissioning: { enabled: false },
      controller: { adminFabricLabel: options.fabricLabel ?? 'homenet' },
    });
    await node.start();
    return new MatterController(node, main);
  }

  /** Node ids (16 hex digits) of the nodes commissioned into this fabric. */
  nodeIds(): string[] {
    const ids: string[] = [];
    for (const peer of this.node.peers) {
      const address = peer.peerAddress;
      if (address) ids.push(hex16(address.nodeId));
    }
    return ids.sort();
  }

  /**
   * Finds a commissionable device by its discriminator and commissions it
   * into this fabric; resolves to its node id.
   */
  async commission(options: { passcode: number; discriminator: number; timeoutMs?: number }): Promise<string> {
    const { Seconds } = this.main;
    const peer = await this.node.peers.commission({
      passcode: options.passcode,
      longDiscriminator: options.discriminator,
      timeout: Seconds(Math.ceil((options.timeoutMs ?? 30_000) / 1000)),
      regulatoryLocation: 0,
      regulatoryCountryCode: 'XX',
    });
    const address = peer.peerAddress;
    if (!address) throw new Error('commissioning finished without a node id');
    return hex16(address.nodeId);
  }

  private peer(nodeId: string): ClientNodeInstance {
    for (const peer of this.node.peers) {
      const address = peer.peerAddress;
      if (address && hex16(address.nodeId) === nodeId.toUpperCase()) return peer;
    }
    throw new Error(`no Matter node ${nodeId} in this fabric (known: ${this.nodeIds().join(', ') || 'none'})`);
  }

  private async compressedFabricId(fabricIndex: number): Promise<string> {
    const { FabricManager } = await import('@matter/main/protocol');
    const fabric = this.node.env.get(FabricManager).fabrics.find((f) => f.fabricIndex === fabricIndex);
    return fabric ? hex16(fabric.globalId) : '0000000000000000';
  }

  /**
   * Reads BasicInformation, the device types of every endpoint and
   * GeneralDiagnostics NetworkInterfaces of one node. Rejects with
   * {@link MatterReadError} when the node does not answer within `timeoutMs`.
   */
  async read(nodeId: string, timeoutMs = 10_000): Promise<MatterNodeReport> {
    const pending = this.readNow(nodeId, timeoutMs);
    this.pending.add(pending);
    const forget = () => this.pending.delete(pending);
    pending.then(forget, forget);
    return pending;
  }

  private readonly pending = new Set<Promise<MatterNodeReport>>();

  private async readNow(nodeId: string, timeoutMs: number): Promise<MatterNodeReport> {
    const peer = this.peer(nodeId);
    const started = performance.now();
    const { BasicInformationClient } = await import('@matter/main/behaviors/basic-information');
    const { GeneralDiagnosticsClient } = await import('@matter/main/behaviors/general-diagnostics');
    const { DescriptorClient } = await import('@matter/main/behaviors/descriptor');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const work = (async () => {
        const basic = await readState(peer, BasicInformationClient, [
          'vendorName',
          'vendorId',
          'productName',
          'productId',
          'serialNumber',
          'uniqueId',
          'nodeLabel',
        ]);
        const diagnostics = (await readState(peer, GeneralDiagnosticsClient, ['networkInterfaces'])) as {
          networkInterfaces?: { name: string; isOperational: boolean; hardwareAddress: Uint8Array; iPv4Addresses: Uint8Array[]; iPv6Addresses: Uint8Array[]; type: number }[];
        };
        const endpoints: MatterEndpointTypes[] = [];
        const seen = new Set<number>();
        for (const endpoint of [peer, ...peer.endpoints]) {
          if (seen.has(Number(endpoint.number))) continue;
          seen.add(Number(endpoint.number));
          let list: { deviceType: number; revision: number }[] = [];
          try {
            const state = (await readState(endpoint, DescriptorClient, ['deviceTypeList'])) as { deviceTypeList?: { deviceType: number; revision: number }[] };
            list = state.deviceTypeList ?? [];
          } catch {
            continue; // an endpoint without a readable descriptor says nothing about kinds
          }
          endpoints.push({
            endpoint: Number(endpoint.number),
            deviceTypes: list.map((d) => ({ id: Number(d.deviceType), name: deviceTypeName(Number(d.deviceType)), revision: Number(d.revision) })),
          });
        }
        return { basic, diagnostics, endpoints };
      })();
      const { basic, diagnostics, endpoints } = await Promise.race([work, timeout]);
      const address = peer.peerAddress!;
      return {
        nodeId: hex16(address.nodeId),
        compressedFabricId: await this.compressedFabricId(Number(address.fabricIndex)),
        ...(typeof basic.vendorName === 'string' ? { vendorName: basic.vendorName } : {}),
        ...(basic.vendorId !== undefined ? { vendorId: Number(basic.vendorId) } : {}),
        ...(typeof basic.productName === 'string' ? { productName: basic.productName } : {}),
        ...(basic.productId !== undefined ? { productId: Number(basic.productId) } : {}),
        ...(typeof basic.serialNumber === 'string' ? { serialNumber: basic.serialNumber } : {}),
        ...(typeof basic.uniqueId === 'string' ? { uniqueId: basic.uniqueId } : {}),
        ...(typeof basic.nodeLabel === 'string' && basic.nodeLabel ? { nodeLabel: basic.nodeLabel } : {}),
        endpoints,
        interfaces: (diagnostics.networkInterfaces ?? []).map((i) => ({
          name: i.name,
          operational: i.isOperational,
          hardwareAddress: formatHardwareAddress(i.hardwareAddress),
          ipv4: i.iPv4Addresses.map(bytesToIpv4).filter((a): a is string => a !== undefined),
          ipv6: i.iPv6Addresses.map(bytesToIpv6).filter((a): a is string => a !== undefined),
          type: Number(i.type),
        })),
        elapsedMs: Math.round((performance.now() - started) * 10) / 10,
      };
    } catch (error) {
      throw new MatterReadError(nodeId, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the node and matter.js's runtime (its timers would otherwise keep the process alive). */
  async close(): Promise<void> {
    // Let reads in flight finish first (bounded): closing under them leaves matter.js retrying.
    await Promise.race([Promise.allSettled([...this.pending]), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    await this.node.close();
    await this.main.Environment.default.runtime.close();
  }
}
