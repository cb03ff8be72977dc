import { readFile } from 'node:fs/promises';
import { LabPlan } from './lab-plan';

/** Files miniupnpd keeps, all inside the lab's run directory. */
export function miniupnpdPaths(plan: LabPlan) {
  return {
    config: `${plan.runDir}/miniupnpd.conf`,
    pidFile: `${plan.runDir}/miniupnpd.pid`,
    leaseFile: `${plan.runDir}/upnp.leases`,
    leaseFile6: `${plan.runDir}/upnp.leases6`,
    minissdpdSocket: `${plan.runDir}/minissdpd.sock`,
    log: `${plan.runDir}/miniupnpd.log`,
  };
}

export interface MiniupnpdConfigOptions {
  /** Keep leases across restarts (default true). A router "reboot" test turns it off. */
  readonly leaseFiles?: boolean;
  readonly uuid?: string;
  /**
   * Accept PCP's THIRD_PARTY option (`pcp_allow_thirdparty=yes`; miniupnpd's
   * default is no, answering it UNSUPP_OPTION): a controller on one LAN host may
   * then map ports for another (`homenet lab up --pcp-third-party`).
   */
  readonly pcpAllowThirdParty?: boolean;
}

/** True when the lab's current miniupnpd.conf accepts THIRD_PARTY (so a restart keeps it). */
export async function miniupnpdAllowsThirdParty(plan: LabPlan): Promise<boolean> {
  try {
    return /^pcp_allow_thirdparty=yes$/m.test(await readFile(miniupnpdPaths(plan).config, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * miniupnpd.conf for the lab router (Debian `miniupnpd-nftables` 2.3.1: IGD:2,
 * IPv6, NAT-PMP/PCP). The WAN address is a documentation address, which
 * miniupnpd refuses unless a STUN test shows no NAT, so it runs that test
 * against the WAN peer's STUN server. `listening_ip` is the LAN interface name;
 *
 * Behind a NAT (`--wan cgnat|double-nat`) the STUN test is off, as on most
 * CPE: miniupnpd then reports the WAN interface's own CGNAT/private address
 * and the agent says `ineffective`. With the test on, Debian's 2.3.1 behaves
 * differently (seen in the lab): its STUN test gets 1 answer out of 4 through
 * the upstream's port-restricted NAT, logs "behind restrictive or symmetric
 * NAT with public IP address 198.51.100.1 which does not support port
 * forwarding ... Port forwarding is now disabled", then answers
 * GetExternalIPAddress with the STUN-mapped public 198.51.100.1 and every
 * AddPortMapping with 501 ActionFailed (the agent's verdict: `denied`), and
 * its start takes ~10 s of STUN waits.
 * `ipv6_listening_ip` is left unset on purpose (2.3.1 would then refuse IPv4
 * HTTP clients).
 */
export function miniupnpdConfig(plan: LabPlan, options: MiniupnpdConfigOptions = {}): string {
  const paths = miniupnpdPaths(plan);
  const leases = options.leaseFiles ?? true;
  return [
    'ext_ifname=wan0',
    `listening_ip=${plan.lan.bridge}`,
    ...(plan.upstream ? ['ext_perform_stun=no'] : ['ext_perform_stun=yes', `ext_stun_host=${plan.wan.peerIpv4}`, `ext_stun_port=${plan.stunPort}`]),
    `http_port=${plan.upnpHttpPort}`,
    'enable_upnp=yes',
    'enable_natpmp=yes',
    ...(options.pcpAllowThirdParty ? ['pcp_allow_thirdparty=yes'] : []),
    'min_lifetime=120',
    'max_lifetime=86400',
    'force_igd_desc_v1=no',
    'secure_mode=yes',
    `uuid=${options.uuid ?? '6c8d0f2a-8a5e-4b7c-9f11-0242c0a84d01'}`,
    `friendly_name=homenet lab router (${plan.prefix})`,
    'manufacturer_name=homenet lab',
    'model_name=miniupnpd-nftables',
    'model_number=2.3.1',
    'serial=00000001',
    'system_uptime=no',
    'notify_interval=30',
    'clean_ruleset_interval=600',
    ...(leases ? [`lease_file=${paths.leaseFile}`, `lease_file6=${paths.leaseFile6}`] : []),
    `minissdpdsocket=${paths.minissdpdSocket}`,
    'allow 1024-65535 192.168.77.0/24 1024-65535',
    'deny 0-65535 0.0.0.0/0 0-65535',
    '',
  ].join('\n');
}
