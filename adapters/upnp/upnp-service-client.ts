import { SoapCaller, SoapClient } from './soap-client';
import { SoapArguments, SoapOutput } from './soap-envelope';

/** Where a service is: its control URL and type (a `UpnpServiceInfo` fits). */
export interface ServiceEndpoint {
  controlUrl: string;
  serviceType: string;
}

/** Options shared by the service clients. */
export interface ServiceClientOptions {
  /** Carries the calls; default: a new {@link SoapClient}. */
  caller?: SoapCaller;
  /** Local address every call is sent from (overridable per call). */
  localAddress?: string;
  /** Zone for a link-local control URL. */
  zone?: string;
  timeoutMs?: number;
}

/** Per-call options. */
export interface CallOptions {
  localAddress?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * What every service client shares: where the service is, how its calls are
 * carried ({@link SoapCaller}), and the default local address, zone and
 * timeout each call inherits unless it names its own.
 *
 * @example
 * ```ts
 * class MyServiceClient extends UpnpServiceClient {
 *   ping() { return this.call('Ping', [], {}); }
 * }
 * ```
 */
export abstract class UpnpServiceClient {
  readonly serviceType: string;
  readonly controlUrl: string;
  protected readonly caller: SoapCaller;

  protected constructor(
    service: ServiceEndpoint,
    protected readonly options: ServiceClientOptions,
    defaultServiceType: string,
  ) {
    this.serviceType = service.serviceType || defaultServiceType;
    this.controlUrl = service.controlUrl;
    this.caller = options.caller ?? new SoapClient();
  }

  protected call(action: string, args: SoapArguments, opts: CallOptions): Promise<SoapOutput> {
    const localAddress = opts.localAddress ?? this.options.localAddress;
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs;
    return this.caller.call({
      controlUrl: this.controlUrl,
      serviceType: this.serviceType,
      action,
      args,
      ...(localAddress !== undefined ? { localAddress } : {}),
      ...(this.options.zone !== undefined ? { zone: this.options.zone } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }
}
