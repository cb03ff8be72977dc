/**
 * The SOAP client: POSTs one UPnP action to a control URL and returns its output arguments.
 * The TCP connection is bound to `localAddress` (real routers check that the requester is the
 * InternalClient), connections are kept alive with one `http.Agent` per (gateway, local
 * address), and timeouts are always on. Faults come back as {@link UpnpFault}; garbage,
 * truncated or oversized answers as {@link UpnpProtocolError}; silence as
 * {@link UpnpTimeoutError}.
 *
 * @example
 * ```ts
 * const soap = new SoapClient({ timeoutMs: 3000 });
 * const out = await soap.call({
 *   controlUrl: 'http://[2001:db8:77::1]:5000/ctl/IP6FCtl',
 *   serviceType: 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1',
 *   action: 'GetFirewallStatus',
 *   localAddress: '2001:db8:77::10',
 * });
 * out.FirewallEnabled; // '1'
 * soap.close();
 * ```
 */
import http from 'node:http';
import { DEFAULT_CONNECT_TIMEOUT_MS, httpFetch } from './http-fetch';
import { parseHttpUrl } from './http-url';
import { isIpv4Literal, isIpv6Literal, toRfc5952 } from '../../policies/model/address';
import { SoapArguments, SoapOutput, buildSoapRequestBody, parseSoapResponseBody, soapActionHeader } from './soap-envelope';
import { UpnpInputError, UpnpProtocolError } from './upnp-errors';

/** One action call. */
export interface SoapCallRequest {
  controlUrl: string;
  serviceType: string;
  action: string;
  args?: SoapArguments;
  /** Local address to send from (the InternalClient for pinholes). */
  localAddress?: string;
  /** Zone (interface) for a link-local control URL. */
  zone?: string;
  timeoutMs?: number;
  connectTimeoutMs?: number;
  signal?: AbortSignal;
}

/** Anything that can carry out an action: {@link SoapClient}, or a fake in tests. */
export interface SoapCaller {
  call(request: SoapCallRequest): Promise<SoapOutput>;
}

export interface SoapClientOptions {
  /** Whole call, connect included. Default 3000 ms. */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Largest response accepted. Default 64 KiB (GetListOfPortMappings included). */
  maxResponseBytes?: number;
  /** Keep connections alive between calls (default true). */
  keepAlive?: boolean;
  /** User-Agent header (default 'homenet-controller UPnP/1.1'). */
  userAgent?: string;
}

export const DEFAULT_SOAP_TIMEOUT_MS = 3000;
export const DEFAULT_SOAP_MAX_RESPONSE_BYTES = 64 * 1024;

export class SoapClient implements SoapCaller {
  private readonly agents = new Map<string, http.Agent>();
  private readonly options: Required<SoapClientOptions>;

  constructor(options: SoapClientOptions = {}) {
    this.options = {
      timeoutMs: options.timeoutMs ?? DEFAULT_SOAP_TIMEOUT_MS,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULT_SOAP_MAX_RESPONSE_BYTES,
      keepAlive: options.keepAlive ?? true,
      userAgent: options.userAgent ?? 'homenet-controller UPnP/1.1',
    };
  }

  /**
   * Calls one action; resolves with its output arguments.
   *
   * @example
   * ```ts
   * await soap.call({ controlUrl, serviceType, action: 'DeletePinhole', args: [['UniqueID', 1]], localAddress: '2001:db8:77::10' });
   * ```
   */
  async call(request: SoapCallRequest): Promise<SoapOutput> {
    const target = parseHttpUrl(request.controlUrl);
    const localAddress = request.localAddress !== undefined ? normalizeLocalAddress(request.localAddress) : undefined;
    const body = buildSoapRequestBody(request.serviceType, request.action, request.args ?? []);
    const fetchOptions: Parameters<typeof httpFetch>[1] = {
      method: 'POST',
      headers: {
        'Content-Type': 'text/xml; charset="utf-8"',
        SOAPAction: soapActionHeader(request.serviceType, request.action),
        'User-Agent': this.options.userAgent,
      },
      body,
      timeoutMs: request.timeoutMs ?? this.options.timeoutMs,
      connectTimeoutMs: request.connectTimeoutMs ?? this.options.connectTimeoutMs,
      maxBodyBytes: this.options.maxResponseBytes,
      acceptStatus: (s) => s === 200 || s === 500,
    };
    if (localAddress) fetchOptions.localAddress = localAddress;
    if (request.zone) fetchOptions.zone = request.zone;
    if (request.signal) fetchOptions.signal = request.signal;
    if (this.options.keepAlive) fetchOptions.agent = this.agentFor(target.host, target.port, target.zone ?? request.zone, localAddress);
    else fetchOptions.headers = { ...fetchOptions.headers, Connection: 'close' };
    const res = await httpFetch(request.controlUrl, fetchOptions);
    const text = res.body.toString('utf8');
    if (text.trim() === '') {
      throw new UpnpProtocolError(`${request.action}: empty HTTP ${res.status} answer`, { httpStatus: res.status });
    }
    return parseSoapResponseBody(text, { serviceType: request.serviceType, action: request.action, httpStatus: res.status });
  }

  /** Number of keep-alive agents (one per gateway and local address). */
  get agentCount(): number {
    return this.agents.size;
  }

  /** Closes every kept-alive connection. The client stays usable (new connections are made). */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private agentFor(host: string, port: number, zone: string | undefined, localAddress: string | undefined): http.Agent {
    const key = `${host}%${zone ?? ''}|${port}|${localAddress ?? '*'}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: 2, maxFreeSockets: 1, keepAliveMsecs: 1000, timeout: 30000 });
      this.agents.set(key, agent);
    }
    return agent;
  }
}

/** RFC 5952 form of a local address; refuses anything that is not an IP literal. */
function normalizeLocalAddress(address: string): string {
  if (isIpv4Literal(address) || isIpv6Literal(address)) return toRfc5952(address);
  throw new UpnpInputError(`localAddress ${JSON.stringify(address)} is not an IP address literal`, 'localAddress');
}
