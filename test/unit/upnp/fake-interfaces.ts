// An injectable interface table describing the lab's LAN host (lan0) and a second link (lan1).
import type os from 'node:os';
import type { InterfaceTable } from '../../../adapters/upnp';

function info(address: string, prefix: number, family: 'IPv4' | 'IPv6', internal = false, scopeid = 0): os.NetworkInterfaceInfo {
  const base = { address, netmask: '', mac: '02:00:00:00:00:01', internal, cidr: `${address}/${prefix}` };
  return family === 'IPv4' ? { ...base, family } : { ...base, family, scopeid };
}

export const LAB_TABLE: InterfaceTable = {
  lo: [info('127.0.0.1', 8, 'IPv4', true), info('::1', 128, 'IPv6', true)],
  lan0: [
    info('192.168.77.10', 24, 'IPv4'),
    info('2001:db8:77::10', 64, 'IPv6'),
    info('fd00:77::10', 64, 'IPv6'),
    info('fe80::10', 64, 'IPv6', false, 2),
  ],
  lan1: [info('10.9.0.2', 24, 'IPv4'), info('2001:db8:99::2', 64, 'IPv6'), info('fe80::2', 64, 'IPv6', false, 3)],
  ula0: [info('fd00:55::2', 64, 'IPv6'), info('fe80::55', 64, 'IPv6', false, 4)],
};

export const labTable = (): InterfaceTable => LAB_TABLE;
