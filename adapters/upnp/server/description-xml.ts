/**
 * The XML documents of the IGD front, generated from the typed tree and service definitions:
 * the device description (with UDA 1.1 `configId`) and one SCPD per service. CONFIGID is a
 * 24-bit hash of every served document, so it changes exactly when a description changes.
 *
 * @example
 * ```ts
 * const igd = defineIgdDevice({ uuid: '2f1c9e3a-5b7d-4c1e-9a2b-000000000001' });
 * const docs = buildIgdDocuments(igd);
 * docs.byPath.get('/igd/desc.xml');  // '<?xml version="1.0"?>\n<root xmlns=...'
 * docs.configId;                      // e.g. 4911226 (0..16777215)
 * ```
 */
import { createHash } from 'node:crypto';
import { escapeXml } from '../safe-xml';
import { IgdDevice, ServedDevice, ServedService, allDevices } from './igd-device';
import { ServiceDefinition, StateVariableDefinition } from './igd-service-definitions';

/** The served documents. */
export interface IgdDocuments {
  readonly descriptionXml: string;
  /** Path -> XML, description and SCPDs. */
  readonly byPath: ReadonlyMap<string, string>;
  readonly configId: number;
}

const el = (name: string, text: string): string => `<${name}>${escapeXml(text)}</${name}>`;

function serviceXml(s: ServedService): string {
  return `<service>${el('serviceType', s.definition.serviceType)}${el('serviceId', s.definition.serviceId)}${el('SCPDURL', s.scpdPath)}${
    el('controlURL', s.controlPath)}<eventSubURL></eventSubURL></service>`;
}

function deviceXml(igd: IgdDevice, d: ServedDevice): string {
  let x = `<device>${el('deviceType', d.deviceType)}${el('friendlyName', d.friendlyName)}${el('manufacturer', igd.manufacturer)}${
    el('manufacturerURL', igd.manufacturerUrl)}${el('modelDescription', d.modelDescription)}${el('modelName', igd.modelName)}${
    el('modelNumber', igd.modelNumber)}${el('serialNumber', igd.serialNumber)}${el('UDN', d.udn)}`;
  if (d.services.length > 0) x += `<serviceList>${d.services.map(serviceXml).join('')}</serviceList>`;
  if (d.devices.length > 0) x += `<deviceList>${d.devices.map((c) => deviceXml(igd, c)).join('')}</deviceList>`;
  return `${x}</device>`;
}

function rootXml(igd: IgdDevice, configId: number | undefined): string {
  const attr = configId === undefined ? '' : ` configId="${configId}"`;
  return `<?xml version="1.0"?>\n<root xmlns="urn:schemas-upnp-org:device-1-0"${attr}><specVersion><major>1</major><minor>1</minor></specVersion>${
    deviceXml(igd, igd.root)}</root>`;
}

function stateVariableXml(v: StateVariableDefinition): string {
  let x = `<stateVariable sendEvents="${v.sendEvents ? 'yes' : 'no'}">${el('name', v.name)}${el('dataType', v.dataType)}`;
  if (v.defaultValue !== undefined) x += el('defaultValue', v.defaultValue);
  if (v.allowedValues) x += `<allowedValueList>${v.allowedValues.map((a) => el('allowedValue', a)).join('')}</allowedValueList>`;
  if (v.range) {
    x += `<allowedValueRange>${el('minimum', String(v.range.minimum))}${el('maximum', String(v.range.maximum))}${
      v.range.step !== undefined ? el('step', String(v.range.step)) : ''}</allowedValueRange>`;
  }
  return `${x}</stateVariable>`;
}

/**
 * The SCPD of a service definition; throws if an argument names an undefined state variable.
 *
 * @example
 * ```ts
 * buildScpdXml(WAN_IPV6_FIREWALL_CONTROL_1).includes('<name>AddPinhole</name>'); // true
 * ```
 */
export function buildScpdXml(service: ServiceDefinition): string {
  const names = new Set(service.stateVariables.map((v) => v.name));
  const actions = service.actions.map((a) => {
    const args = a.arguments.map((g) => {
      if (!names.has(g.relatedStateVariable)) {
        throw new Error(`${service.serviceType} ${a.name}.${g.name}: no state variable ${g.relatedStateVariable}`);
      }
      return `<argument>${el('name', g.name)}${el('direction', g.direction)}${el('relatedStateVariable', g.relatedStateVariable)}</argument>`;
    }).join('');
    return `<action>${el('name', a.name)}${args ? `<argumentList>${args}</argumentList>` : ''}</action>`;
  }).join('');
  return `<?xml version="1.0"?>\n<scpd xmlns="urn:schemas-upnp-org:service-1-0"><specVersion><major>1</major><minor>1</minor></specVersion><actionList>${
    actions}</actionList><serviceStateTable>${service.stateVariables.map(stateVariableXml).join('')}</serviceStateTable></scpd>`;
}

/**
 * Builds the description and SCPDs and the CONFIGID they imply.
 *
 * @example
 * ```ts
 * const { byPath, configId } = buildIgdDocuments(defineIgdDevice({ uuid: '2f1c9e3a-5b7d-4c1e-9a2b-000000000001' }));
 * ```
 */
export function buildIgdDocuments(igd: IgdDevice): IgdDocuments {
  const scpds = new Map<string, string>();
  for (const s of igd.services) scpds.set(s.scpdPath, buildScpdXml(s.definition));
  const hash = createHash('sha256').update(rootXml(igd, undefined));
  for (const [path, xml] of [...scpds].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(`\0${path}\0${xml}`);
  const configId = hash.digest().readUIntBE(0, 3); // 24 bits: UDA 1.1 caps CONFIGID at 16777215
  const descriptionXml = rootXml(igd, configId);
  const byPath = new Map<string, string>([[igd.descriptionPath, descriptionXml], ...scpds]);
  return { descriptionXml, byPath, configId };
}

/** Every (device, service) pair, for SSDP. */
export function servedTypes(igd: IgdDevice): Array<{ device: ServedDevice; types: string[] }> {
  return allDevices(igd).map((device) => ({ device, types: [device.deviceType, ...device.services.map((s) => s.definition.serviceType)] }));
}
