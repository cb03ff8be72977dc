import { UsageError } from '../command';
import { PortFamily } from '../../agent/open-port';

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
  return { protocol, port, family, externalPort, address, interfaces } as const;
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
  json: { type: 'boolean', default: false },
} as const;
