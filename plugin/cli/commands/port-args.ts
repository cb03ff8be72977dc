import { UsageError } from '../command';
import { PortFamily } from '../../agent/open-port';
import { parseHubUrl } from '../../agent/hub-client';

/** Reads and checks the options `open` and `close` share. */
export function portArgs(values: Record<string, string | boolean | undefined>) {
  const protocol = values.protocol;
  if (protocol !== 'udp' && protocol !== 'tcp') throw new UsageError('--protocol must be udp or tcp');
  const port = integer(values.port, '--port', 1, 65535, true)!;
  const family = (values.family ?? 'both') as PortFamily;
  if (!['ipv6', 'ipv4', 'both'].includes(family)) throw new UsageError('--family must be ipv6, ipv4 or both');
  const externalPort = integer(values['external-port'], '--external-port', 1, 65535, false);
  const address = typeof values.address === 'string' ? values.address : undefined;
  const interfaces = typeof values.interface === 'string' ? values.interface.split(',') : undefined;
  const hub = hubArg(values.hub);
  return { protocol, port, family, externalPort, address, interfaces, hub } as const;
}

/** `--hub auto|URL`: 'auto', or an http:// URL checked now (a typo is a usage error, not a silent fallback). */
export function hubArg(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw new UsageError('--hub must be auto or the hub URL (http://host:port/homenet/v1)');
  if (value === 'auto') return value;
  try {
    parseHubUrl(value);
  } catch (error) {
    throw new UsageError(`--hub: ${(error as Error).message}`);
  }
  return value;
}

export function integer(value: unknown, name: string, min: number, max: number, required: boolean): number | undefined {
  if (value === undefined) {
    if (required) throw new UsageError(`${name} is required`);
    return undefined;
  }
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}`);
  return n;
}

export const PORT_OPTIONS = {
  protocol: { type: 'string' },
  port: { type: 'string' },
  family: { type: 'string' },
  address: { type: 'string' },
  'external-port': { type: 'string' },
  interface: { type: 'string' },
  hub: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;
