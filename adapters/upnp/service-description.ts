/**
 * Service descriptions (SCPD): which actions a service offers and their arguments, so a
 * caller can tell "optional action absent" from "router refused".
 *
 * @example
 * ```ts
 * const scpd = parseServiceDescription(xml);
 * scpd.offers('AddAnyPortMapping'); // true on WANIPConnection:2
 * scpd.actions.get('AddPinhole')?.outArguments; // ['UniqueID']
 * ```
 */
import { childText, children, child, parseXmlDocument } from './safe-xml';
import { UpnpProtocolError } from './upnp-errors';

export interface ServiceAction {
  name: string;
  inArguments: string[];
  outArguments: string[];
}

export interface ServiceDescription {
  actions: ReadonlyMap<string, ServiceAction>;
  /** True when the SCPD lists `action`. */
  offers(action: string): boolean;
}

const MAX_ACTIONS = 256;

/** Parses an SCPD document; throws {@link UpnpProtocolError} for bad XML. */
export function parseServiceDescription(xml: string): ServiceDescription {
  const doc = parseXmlDocument(xml, 'service description');
  const scpd = child(doc, 'scpd');
  if (!scpd) throw new UpnpProtocolError('service description: no <scpd> element');
  const actions = new Map<string, ServiceAction>();
  const list = children(child(scpd, 'actionList'), 'action');
  if (list.length > MAX_ACTIONS) throw new UpnpProtocolError(`service description: more than ${MAX_ACTIONS} actions`);
  for (const a of list) {
    const name = childText(a, 'name');
    if (!name) continue;
    const action: ServiceAction = { name, inArguments: [], outArguments: [] };
    for (const arg of children(child(a, 'argumentList'), 'argument')) {
      const argName = childText(arg, 'name');
      if (!argName) continue;
      (childText(arg, 'direction')?.toLowerCase() === 'out' ? action.outArguments : action.inArguments).push(argName);
    }
    actions.set(name, action);
  }
  return { actions, offers: (n: string) => actions.has(n) };
}
