import { EVENT_TYPES, PolicyEvent } from './event';
import { NEED_CLASSES } from './need';

/** A malformed input event; the message says which field and why. */
export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

type Obj = Record<string, unknown>;

function fail(message: string): never {
  throw new InvalidEventError(message);
}
function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function str(o: Obj, k: string, where: string, optional = false): void {
  const v = o[k];
  if (v === undefined && optional) return;
  if (typeof v !== 'string' || v === '') fail(`${where}.${k} must be a non-empty string`);
}
function num(o: Obj, k: string, where: string, optional = false, nullable = false): void {
  const v = o[k];
  if (v === undefined && optional) return;
  if (v === null && nullable) return;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${where}.${k} must be a number`);
}
function bool(o: Obj, k: string, where: string): void {
  const v = o[k];
  if (v !== undefined && typeof v !== 'boolean') fail(`${where}.${k} must be a boolean`);
}
function oneOf(o: Obj, k: string, values: readonly unknown[], where: string, optional = false): void {
  const v = o[k];
  if (v === undefined && optional) return;
  if (!values.includes(v)) fail(`${where}.${k} must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
}

const KINDS = ['matter', 'thread-border-router', 'iot', 'game-console', 'hub', 'router', 'computer', 'phone', 'unknown'];

/**
 * Checks that a parsed JSON value is a well-formed {@link PolicyEvent} and
 * returns it typed. Unknown extra fields are allowed (forward compatibility).
 *
 * @throws InvalidEventError naming the offending field
 */
export function validateEvent(value: unknown): PolicyEvent {
  if (!isObj(value)) fail('an event must be a JSON object');
  const type = value.type;
  if (typeof type !== 'string') fail("an event needs a string 'type'");
  if (!EVENT_TYPES.includes(type as PolicyEvent['type'])) fail(`unknown event type '${type}'`);
  const w = type;
  switch (type) {
    case 'device-seen': {
      str(value, 'deviceId', w);
      if (value.identities !== undefined && !isObj(value.identities)) fail(`${w}.identities must be an object`);
      if (value.kinds !== undefined) {
        if (!Array.isArray(value.kinds)) fail(`${w}.kinds must be an array`);
        value.kinds.forEach((k, i) => {
          if (!isObj(k)) fail(`${w}.kinds[${i}] must be an object`);
          oneOf(k, 'kind', KINDS, `${w}.kinds[${i}]`);
          str(k, 'evidence', `${w}.kinds[${i}]`);
        });
      }
      if (value.addresses !== undefined) {
        if (!Array.isArray(value.addresses)) fail(`${w}.addresses must be an array`);
        value.addresses.forEach((a, i) => {
          if (!isObj(a)) fail(`${w}.addresses[${i}] must be an object`);
          str(a, 'address', `${w}.addresses[${i}]`);
          bool(a, 'temporary', `${w}.addresses[${i}]`);
          bool(a, 'deprecated', `${w}.addresses[${i}]`);
        });
      }
      if (value.ipv6Only !== undefined) oneOf(value, 'ipv6Only', ['dhcpv4-option-108', 'clat', null], w);
      break;
    }
    case 'device-left':
      str(value, 'deviceId', w);
      break;
    case 'owner-allow':
      str(value, 'deviceId', w);
      if (typeof value.allowed !== 'boolean') fail(`${w}.allowed must be a boolean`);
      break;
    case 'network-changed':
      oneOf(value, 'wanIpv4', ['public', 'private', 'cgnat', 'none'], w, true);
      if (value.ipv4OverIpv6 !== undefined) {
        const t = value.ipv4OverIpv6;
        if (!isObj(t)) fail(`${w}.ipv4OverIpv6 must be an object`);
        oneOf(t, 'mode', ['none', 'ds-lite', 'map-e'], `${w}.ipv4OverIpv6`);
        if (t.mode === 'map-e') {
          const ps = t.portSet;
          if (!isObj(ps)) fail(`${w}.ipv4OverIpv6.portSet is required for map-e`);
          for (const k of ['offset', 'psidLength', 'psid']) num(ps, k, `${w}.ipv4OverIpv6.portSet`);
          const { offset, psidLength, psid } = ps as { offset: number; psidLength: number; psid: number };
          if (offset < 0 || psidLength < 0 || offset + psidLength > 16 || psid < 0 || psid >= 2 ** psidLength) {
            fail(`${w}.ipv4OverIpv6.portSet is not a valid RFC 7597 port set`);
          }
        }
      }
      break;
    case 'gateway-seen':
      str(value, 'gatewayId', w);
      oneOf(value, 'grade', ['A', 'B', 'C', 'D'], w, true);
      for (const k of ['pinholes', 'portMappings', 'firewallEnabled', 'inboundPinholeAllowed']) bool(value, k, w);
      num(value, 'pinholeCapacity', w, true, true);
      num(value, 'portMappingCapacity', w, true, true);
      str(value, 'bootId', w, true);
      break;
    case 'need-submitted': {
      const n = value.need;
      if (!isObj(n)) fail(`${w}.need must be an object`);
      const nw = `${w}.need`;
      str(n, 'id', nw);
      if (!isObj(n.requester)) fail(`${nw}.requester must be an object`);
      str(n.requester, 'deviceId', `${nw}.requester`);
      str(n.requester, 'address', `${nw}.requester`, true);
      if (n.internalClient !== undefined && typeof n.internalClient !== 'string') fail(`${nw}.internalClient must be a string`);
      if (typeof n.protocol !== 'string' && typeof n.protocol !== 'number') fail(`${nw}.protocol must be a string`);
      num(n, 'internalPort', nw);
      num(n, 'externalPort', nw, true);
      num(n, 'remotePort', nw, true);
      if (n.remoteHost !== undefined && typeof n.remoteHost !== 'string') fail(`${nw}.remoteHost must be a string`);
      oneOf(n, 'family', ['ipv4', 'ipv6', 'both'], nw);
      num(n, 'leaseSeconds', nw, true);
      if (typeof n.leaseSeconds === 'number' && n.leaseSeconds < 0) fail(`${nw}.leaseSeconds must be >= 0`);
      oneOf(n, 'class', NEED_CLASSES, nw);
      num(n, 'priority', nw, true);
      str(n, 'sessionId', nw, true);
      str(n, 'gatewayId', nw, true);
      break;
    }
    case 'need-ended':
      str(value, 'needId', w);
      oneOf(value, 'why', ['session-ended', 'released'], w, true);
      break;
    case 'tick':
      break;
    case 'action-succeeded':
      str(value, 'key', w);
      num(value, 'uniqueId', w, true);
      num(value, 'externalPort', w, true);
      break;
    case 'action-failed':
      str(value, 'key', w);
      num(value, 'code', w);
      oneOf(value, 'source', ['upnp', 'pcp'], w, true);
      break;
    case 'gateway-rebooted':
      str(value, 'gatewayId', w);
      str(value, 'bootId', w, true);
      break;
    case 'capacity-exhausted':
      str(value, 'gatewayId', w);
      oneOf(value, 'table', ['pinhole', 'port-mapping'], w);
      num(value, 'capacity', w, true);
      break;
  }
  return value as unknown as PolicyEvent;
}
