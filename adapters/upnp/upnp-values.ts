/**
 * Checked conversions between UPnP's text values and typed values (ui2, ui4, boolean), for
 * both directions: input validation (typed {@link UpnpInputError}) and output parsing
 * (typed {@link UpnpProtocolError}).
 *
 * @example
 * ```ts
 * readUi2({ UniqueID: '1' }, 'UniqueID', 'AddPinhole'); // 1
 * checkInteger(86401, 'LeaseTime', 1, 86400);           // throws UpnpInputError
 * ```
 */
import { SoapOutput } from './soap-envelope';
import { UpnpInputError, UpnpProtocolError } from './upnp-errors';

/** Throws {@link UpnpInputError} unless `value` is an integer in min..max. */
export function checkInteger(value: number, argument: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UpnpInputError(`${argument} must be an integer in ${min}..${max}, got ${String(value)}`, argument);
  }
  return value;
}

function output(out: SoapOutput, name: string, action: string): string {
  const v = out[name];
  if (v === undefined) throw new UpnpProtocolError(`${action}: the router's answer lacks ${name}`);
  return v.trim();
}

function readInteger(out: SoapOutput, name: string, action: string, max: number): number {
  const t = output(out, name, action);
  if (!/^\d{1,10}$/.test(t) || Number(t) > max) throw new UpnpProtocolError(`${action}: ${name} ${JSON.stringify(t)} is not an integer in 0..${max}`);
  return Number(t);
}

export const readUi2 = (out: SoapOutput, name: string, action: string): number => readInteger(out, name, action, 0xffff);
export const readUi4 = (out: SoapOutput, name: string, action: string): number => readInteger(out, name, action, 0xffffffff);

/** UPnP boolean: 1/0, true/false, yes/no (case-insensitive). */
export function readBoolean(out: SoapOutput, name: string, action: string): boolean {
  const t = output(out, name, action).toLowerCase();
  if (t === '1' || t === 'true' || t === 'yes') return true;
  if (t === '0' || t === 'false' || t === 'no') return false;
  throw new UpnpProtocolError(`${action}: ${name} ${JSON.stringify(t)} is not a boolean`);
}

export function readString(out: SoapOutput, name: string, action: string): string {
  return output(out, name, action);
}
