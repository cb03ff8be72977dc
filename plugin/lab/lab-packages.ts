import { access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { runCommand } from '../../adapters/system/run-command';

/** A program the lab runs and the Debian package that ships it. */
export interface LabRequirement {
  readonly program: string;
  readonly paths: readonly string[];
  readonly debianPackage: string;
}

export const LAB_REQUIREMENTS: readonly LabRequirement[] = [
  { program: 'ip', paths: ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'], debianPackage: 'iproute2' },
  { program: 'nft', paths: ['/usr/sbin/nft', '/sbin/nft'], debianPackage: 'nftables' },
  { program: 'miniupnpd', paths: ['/usr/sbin/miniupnpd', '/sbin/miniupnpd'], debianPackage: 'miniupnpd-nftables' },
  { program: 'stund', paths: ['/usr/sbin/stund', '/usr/bin/stund'], debianPackage: 'stun-server' },
  { program: 'upnpc', paths: ['/usr/bin/upnpc'], debianPackage: 'miniupnpc' },
  { program: 'unshare', paths: ['/usr/bin/unshare', '/bin/unshare'], debianPackage: 'util-linux' },
];

/** What the ipv6-mostly profile runs besides the base lab. */
export const IPV6_MOSTLY_REQUIREMENTS: readonly LabRequirement[] = [
  { program: 'python3', paths: ['/usr/bin/python3'], debianPackage: 'python3' },
  { program: 'dnsmasq', paths: ['/usr/sbin/dnsmasq'], debianPackage: 'dnsmasq-base' },
  { program: 'unbound', paths: ['/usr/sbin/unbound'], debianPackage: 'unbound' },
  { program: 'tayga', paths: ['/usr/sbin/tayga'], debianPackage: 'tayga' },
];

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where each program is, or the packages that are missing. */
export async function findLabPrograms(
  requirements: readonly LabRequirement[] = LAB_REQUIREMENTS,
): Promise<{ found: Map<string, string>; missing: LabRequirement[] }> {
  const found = new Map<string, string>();
  const missing: LabRequirement[] = [];
  for (const requirement of requirements) {
    let path: string | undefined;
    for (const candidate of requirement.paths) {
      if (await exists(candidate)) {
        path = candidate;
        break;
      }
    }
    if (path) found.set(requirement.program, path);
    else missing.push(requirement);
  }
  return { found, missing };
}

/**
 * Makes sure every program the lab needs is installed. As root, missing
 * Debian packages are installed with apt-get; otherwise the error names them.
 */
export async function ensureLabPrograms(
  log: (line: string) => void = () => undefined,
  requirements: readonly LabRequirement[] = LAB_REQUIREMENTS,
): Promise<Map<string, string>> {
  const first = await findLabPrograms(requirements);
  if (first.missing.length === 0) return first.found;
  const packages = [...new Set(first.missing.map((r) => r.debianPackage))];
  if (process.getuid?.() !== 0) {
    throw new Error(
      `the lab needs these Debian packages: ${packages.join(' ')}. Install them as root: apt-get install -y ${packages.join(' ')}`,
    );
  }
  log(`installing Debian packages: ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runCommand('apt-get', ['update', '-qq'], { timeoutMs: 300_000, env });
  await runCommand('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { timeoutMs: 600_000, env });
  const second = await findLabPrograms(requirements);
  if (second.missing.length > 0) {
    throw new Error(`apt-get did not provide: ${second.missing.map((r) => r.program).join(', ')}`);
  }
  return second.found;
}
