import { LabLanRole } from '../../lab/lab-plan';
import { labRenumber } from '../../lab/lab-renumber';
import { AdminDecision, AdminDevice, LabAdminApi, labAdminApi } from '../../lab/demo-admin-api';
import { labExec } from '../../lab/lab';
import { DemoStage } from './demo-stage';

/** What the demo's second act needs on its lab: `lab up --router homenet --matter`. */
export const GATEWAY_ACT_LAB = { router: 'homenet', matter: true } as const;

const GAME_PORT = 3074;
/** The plug asks for Matter's port over TCP (Matter 1.4's TCP transport): its UDP 5540 is taken by the running matter.js device, so the probe listener could not bind there. */
const MATTER_PORT = 5540;

/** Matter device types the lab's devices advertise (`DT=` in their commissionable record), by name. */
const MATTER_DEVICE_TYPES: Readonly<Record<number, string>> = {
  0x000a: 'Door Lock',
  0x0100: 'On/Off Light',
  0x010a: 'On/Off Plug-in Unit',
};

const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * The vendor and product a Matter device advertised, from the mDNS evidence
 * the router recorded (`mdns:_matterc._udp <instance> VP=65521+32769 DT=266
 * CM=1`), in words; undefined when the evidence carries no `VP=`.
 *
 * @example
 * ```ts
 * matterVendorProduct('mdns:_matterc._udp 42AF VP=65521+32769 DT=266 CM=1');
 * // 'vendor 0xFFF1, product 0x8001, device type 0x010A (On/Off Plug-in Unit)'
 * ```
 */
export function matterVendorProduct(evidence: string): string | undefined {
  const vp = /\bVP=(\d+)(?:\+(\d+))?/.exec(evidence);
  if (!vp) return undefined;
  const parts = [`vendor ${hex(Number(vp[1]))}`];
  if (vp[2] !== undefined) parts.push(`product ${hex(Number(vp[2]))}`);
  const dt = /\bDT=(\d+)/.exec(evidence);
  if (dt) {
    const type = Number(dt[1]);
    parts.push(`device type ${hex(type)}${MATTER_DEVICE_TYPES[type] ? ` (${MATTER_DEVICE_TYPES[type]})` : ''}`);
  }
  return parts.join(', ');
}

/** One decision as the demo narrates it: verdict, then each reason as rule/code and its detail. */
export function formatDecision(d: AdminDecision): string {
  const reasons = d.reasons.map((r) => `${r.rule}/${r.code}${r.conflictsWith ? ` [${r.conflictsWith.kind} ${r.conflictsWith.id}]` : ''}${r.detail ? `: ${r.detail}` : ''}`);
  return `${d.verdict} — ${reasons.join('; ')}`;
}

async function until<T>(check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** The highest decision sequence number so far: decisions after a step are those above it. */
async function lastSeq(api: LabAdminApi): Promise<number> {
  return (await api.decisions({ limit: 1 })).at(-1)?.seq ?? 0;
}

/** One datagram from a LAN host's `from` address to the router, as any host talking does: the router learns the address with the host's MAC. */
async function talkFrom(stage: DemoStage, role: LabLanRole, from: string, to: string): Promise<void> {
  const family = to.includes(':') ? 'udp6' : 'udp4';
  const script = `const s=require('dgram').createSocket('${family}');s.bind({address:'${from}'},()=>s.send('x',9,'${to}',()=>setTimeout(()=>process.exit(0),50)));`;
  await labExec(stage.lab.plan, role, [process.execPath, '-e', script], { allowFailure: true, timeoutMs: 10_000 });
}

/**
 * Act two of `homenet demo`: the mission. On the lab with `--router homenet
 * --matter` (the router is homenet's policy-enforcing IGD, real matter.js
 * devices on the LAN), it shows the plug learned as Matter from its own mDNS
 * advertisement (vendor/product), the console's pinhole granted and carrying
 * a WAN packet, the plug's own request refused with the reason naming the
 * device, two consoles settled on the same IPv4 port (the second gets
 * another external port, both reachable) and a renumbering that moves the
 * console's grant while the plug stays closed. Every line carries the
 * decision's rule/reason code from the gateway's admin API, and every claim
 * is a real packet; a failed claim is a failed check on `stage`.
 *
 * @example
 * ```ts
 * const lab = await labUp({ prefix: 'demo', ...GATEWAY_ACT_LAB });
 * const stage = new DemoStage(io, lab);
 * await gatewayAct(stage);
 * if (!stage.ok) process.exitCode = 1;
 * ```
 */
export async function gatewayAct(stage: DemoStage): Promise<void> {
  const { plan } = stage.lab;
  const api = await labAdminApi(plan);
  const stable = (role: LabLanRole) => plan.hosts[role].interfaces[0].ipv6.find((a) => a.kind === 'gua-stable')!.address;
  const ipv4 = (role: LabLanRole) => plan.hosts[role].interfaces[0].ipv4[0].address;
  const holding = (devices: readonly AdminDevice[], address: string) => devices.find((d) => d.addresses.some((a) => a.address === address));
  const decisionsAfter = async (seq: number) => (await api.decisions()).filter((d) => d.seq > seq);
  stage.line(`the router runs homenet serve --mode gateway; its admin API (${api.url}) is read from the hub`);

  // 1. The plug advertises itself; the router knows it as Matter, by vendor and product.
  stage.step('the plug advertises itself over mDNS: the router knows it as Matter, by vendor and product');
  const plugAddress = stable('plug');
  const advertised = await until(async () => {
    const device = holding(await api.devices(), plugAddress);
    const kind = device?.kinds.find((k) => k.kind === 'matter' && k.evidence.startsWith('mdns:') && matterVendorProduct(k.evidence));
    return device && kind ? { device, evidence: kind.evidence } : undefined;
  }, 20_000, 200);
  if (stage.check(`the router knows the plug (${plugAddress}) as Matter from its mDNS advertisement, with vendor and product`, advertised !== undefined)) {
    stage.line(`plug ${plugAddress}: device '${advertised!.device.id}' is Matter — ${matterVendorProduct(advertised!.evidence)}`);
    stage.line(`evidence: ${advertised!.evidence}`);
  }
  const plugId = advertised?.device.id;

  // 2. The console's pinhole is granted and carries a WAN packet.
  stage.step(`the console opens its game port through homenet: homenet open --protocol udp --port ${GAME_PORT} --once`);
  await stage.expectDropped({ to: 'console', family: 'ipv6', port: GAME_PORT });
  const opened = await stage.open('console', ['--protocol', 'udp', '--port', String(GAME_PORT)]);
  for (const family of ['ipv6', 'ipv4'] as const) {
    stage.check(`the console's ${family} port ${GAME_PORT} is open`, opened.some((r) => r.family === family && r.verdict === 'open'));
  }
  const consoleNeed = (await api.needs()).find((n) => n.family === 'ipv6' && n.protocol === 'udp' && n.internalClient === stable('console') && n.internalPort === GAME_PORT);
  const consoleGranted = consoleNeed ? (await api.decisions({ needId: consoleNeed.id })).at(-1) : undefined;
  if (stage.check('the router holds the console pinhole as a granted need', consoleGranted?.verdict === 'granted')) {
    stage.line(`router decision (console, ipv6): ${formatDecision(consoleGranted!)}`);
  }
  await stage.expectDelivered({ to: 'console', family: 'ipv6', port: GAME_PORT });
  await stage.expectDelivered({ to: 'console', family: 'ipv4', port: GAME_PORT });

  // 3. The plug's own request is refused, the reason naming the device.
  stage.step(`the plug asks for its own pinhole (Matter's port ${MATTER_PORT}, TCP): homenet open in the plug`);
  let seq = await lastSeq(api);
  const refused = await stage.open('plug', ['--protocol', 'tcp', '--port', String(MATTER_PORT), '--family', 'ipv6']);
  stage.check("the plug's request is denied", refused.length === 1 && refused[0].verdict === 'denied');
  stage.check("the plug's own answer carries the router's reason (errorDescription: matter-device-isolation)", refused.length === 1 && refused[0].reason.includes('matter-device-isolation'));
  const denial = (await decisionsAfter(seq)).find((d) => d.verdict === 'denied' && d.reasons.some((r) => r.code === 'matter-device-isolation'));
  const namesPlug = denial?.reasons.some((r) => r.code === 'matter-device-isolation' && plugId !== undefined && r.conflictsWith?.id === plugId) ?? false;
  if (stage.check(`the router's decision is matter-device-isolation naming the plug ('${plugId ?? '?'}')`, namesPlug)) {
    stage.line(`router decision (plug, ipv6): ${formatDecision(denial!)}`);
  }
  await stage.expectDropped({ to: 'plug', family: 'ipv6', port: MATTER_PORT, protocol: 'tcp' });

  // 4. Two consoles, one IPv4 port: settled, both reachable.
  stage.step(`a second console asks for the same IPv4 port ${GAME_PORT}: the engine settles it on another external port`);
  const second = (await stage.open('console2', ['--protocol', 'udp', '--port', String(GAME_PORT), '--family', 'ipv4'])).find((r) => r.family === 'ipv4');
  const altPort = second?.verdict === 'open' ? second.externalPort : undefined;
  stage.check(`console2 is open on an external port other than ${GAME_PORT}`, altPort !== undefined && altPort !== GAME_PORT);
  const secondNeed = (await api.needs()).find((n) => n.family === 'ipv4' && n.protocol === 'udp' && n.internalClient === ipv4('console2') && n.internalPort === GAME_PORT);
  const settled = secondNeed ? (await api.decisions({ needId: secondNeed.id })).at(-1) : undefined;
  const settledOk =
    settled?.verdict === 'granted-with-changes' &&
    settled.reasons.some((r) => r.code === 'external-port-in-use') &&
    settled.changes.some((c) => c.field === 'externalPort' && c.got === altPort);
  if (stage.check(`the router's decision for console2 is external-port-in-use, moved to ${altPort ?? '?'}`, settledOk)) {
    stage.line(`router decision (console2, ipv4): ${formatDecision(settled!)}`);
  }
  await stage.expectDelivered({ to: 'console', family: 'ipv4', port: GAME_PORT });
  if (altPort !== undefined) await stage.expectDelivered({ to: 'console2', family: 'ipv4', port: GAME_PORT, externalPort: altPort });

  // 5. Renumbering: the console's grant moves, the plug stays closed.
  stage.step("the ISP renumbers the LAN (a new /64, the old addresses deprecated): the console's grant follows it, the plug stays closed");
  seq = await lastSeq(api);
  const renumbered = await labRenumber({ prefix: plan.prefix });
  const newRouter = `${renumbered.current.replace(/::\/64$/, '::')}1`;
  const newConsole = renumbered.addresses.console;
  const newPlug = renumbered.addresses.plug;
  stage.line(`LAN now ${renumbered.current}; console ${stable('console')} -> ${newConsole}, plug ${plugAddress} -> ${newPlug}`);
  stage.line('the console and the plug talk from their new addresses: the router learns them, by MAC, from its neighbour table');
  await Promise.all((['console', 'plug'] as const).map((role) => talkFrom(stage, role, renumbered.addresses[role], newRouter)));
  const moved = await until(async () => {
    const grants = await api.grants();
    const grant = grants.find((g) => g.family === 'ipv6' && g.internalPort === GAME_PORT && g.internalClient === newConsole);
    return grant && !grants.some((g) => g.family === 'ipv6' && g.internalPort === GAME_PORT && g.internalClient === stable('console')) ? grant : undefined;
  }, 15_000);
  const followed = moved ? (await decisionsAfter(seq)).filter((d) => d.needId === moved.needId).at(-1) : undefined;
  const followedOk = followed?.reasons.some((r) => r.rule === 'address-churn' && r.code === 'address-followed') ?? false;
  if (stage.check(`the console's pinhole moved to ${newConsole} by address-churn/address-followed`, followedOk)) {
    stage.line(`router decision (console, ipv6): ${formatDecision(followed!)}`);
  }
  await stage.expectDelivered({ to: 'console', family: 'ipv6', port: GAME_PORT, address: newConsole });
  await stage.expectDropped({ to: 'console', family: 'ipv6', port: GAME_PORT, address: stable('console') });

  const plugMoved = await until(async () => {
    const device = holding(await api.devices(), newPlug);
    return device?.kinds.some((k) => k.kind === 'matter') ? device : undefined;
  }, 15_000);
  stage.check(`the router knows the plug's new address ${newPlug} as the same Matter device`, plugMoved !== undefined && plugMoved.id === plugId);
  // The hub (the admin, who may open a port for any LAN host) asks for the plug's new address: Matter isolation still holds.
  stage.line(`the hub asks the router (admin API open_port) for TCP ${MATTER_PORT} on the plug's new address ${newPlug}:`);
  const byAdmin = await api.command('open_port', { internal_client: newPlug, internal_port: MATTER_PORT, protocol: 'tcp', family: 'ipv6' });
  const adminDenial = byAdmin.decision;
  const adminOk =
    byAdmin.error_code === 'policy_denied' &&
    adminDenial?.verdict === 'denied' &&
    adminDenial.reasons.some((r) => r.code === 'matter-device-isolation' && plugId !== undefined && r.conflictsWith?.id === plugId);
  if (stage.check(`the router refuses the plug's new address with matter-device-isolation naming the plug ('${plugId ?? '?'}')`, adminOk)) {
    stage.line(`router answer: ${byAdmin.error_code}; decision: ${formatDecision(adminDenial!)}`);
  } else {
    stage.line(`router answer: ${JSON.stringify(byAdmin).slice(0, 300)}`);
  }
  await stage.expectDropped({ to: 'plug', family: 'ipv6', port: MATTER_PORT, protocol: 'tcp', address: newPlug });
}
