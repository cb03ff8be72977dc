/**
 * Turns a received SSDP datagram into a checked "a gateway is here" answer: strict parse,
 * message kind and target filtering, and the LOCATION check. Shared by discovery and watching.
 *
 * @example
 * ```ts
 * const a = readGatewayAnswer(datagram, systemInterfaceTable());
 * if (a.ok && a.answer.nts !== 'ssdp:byebye') console.log(a.answer.location.url);
 * ```
 */
import { CheckedLocation, checkLocation } from './location-check';
import { InterfaceTable } from './network-interfaces';
import { SsdpNts, parseSsdpMessage, udnOfUsn } from './ssdp-message';
import { SsdpDatagram } from './ssdp-transport';
import { describeError } from './upnp-errors';
import { DEVICE_IGD_1, DEVICE_IGD_2 } from './upnp-urns';

/** A checked answer (search response or NOTIFY). */
export interface GatewayAnswer {
  datagram: SsdpDatagram;
  /** 'response' for a search response. */
  nts: SsdpNts | 'response';
  /** ST of a response, NT of a NOTIFY. */
  target: string;
  usn: string;
  /** UDN part of the USN. */
  udn: string;
  /** Absent for byebye. */
  location?: CheckedLocation;
  maxAgeSeconds?: number;
  bootId?: number;
  nextBootId?: number;
  configId?: number;
  server?: string;
}

export type AnswerReading = { ok: true; answer: GatewayAnswer } | { ok: false; reason: string };

/** IGD device types worth a description fetch over `family` (over IPv6 only IGD:2 matters). */
export function gatewayTargets(family: 'ipv4' | 'ipv6'): string[] {
  return family === 'ipv6' ? [DEVICE_IGD_2] : [DEVICE_IGD_2, DEVICE_IGD_1];
}

/** Parses and checks one datagram; never throws. */
export function readGatewayAnswer(datagram: SsdpDatagram, table: InterfaceTable): AnswerReading {
  let msg;
  try {
    msg = parseSsdpMessage(datagram.data);
  } catch (e) {
    return { ok: false, reason: `unparseable SSDP datagram: ${describeError(e)}` };
  }
  if (msg.kind === 'm-search') return { ok: false, reason: 'an M-SEARCH from another client' };
  const base = msg.kind === 'search-response'
    ? { nts: 'response' as const, target: msg.searchTarget, locationText: msg.location as string | undefined }
    : { nts: msg.nts, target: msg.notificationType, locationText: msg.location };
  const answer: GatewayAnswer = { datagram, nts: base.nts, target: base.target, usn: msg.usn, udn: udnOfUsn(msg.usn) };
  if (msg.maxAgeSeconds !== undefined) answer.maxAgeSeconds = msg.maxAgeSeconds;
  if (msg.bootId !== undefined) answer.bootId = msg.bootId;
  if (msg.configId !== undefined) answer.configId = msg.configId;
  if (msg.server !== undefined) answer.server = msg.server;
  if (msg.kind === 'notify' && msg.nextBootId !== undefined) answer.nextBootId = msg.nextBootId;
  if (base.locationText !== undefined && base.nts !== 'ssdp:byebye') {
    try {
      const origin = { remoteAddress: datagram.remoteAddress, ...(datagram.interfaceName ? { interfaceName: datagram.interfaceName } : {}) };
      answer.location = checkLocation(base.locationText, origin, table);
    } catch (e) {
      return { ok: false, reason: describeError(e) };
    }
  }
  return { ok: true, answer };
}
