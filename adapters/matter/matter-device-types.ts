/**
 * Names of the Matter device types the controller reports (Matter 1.4 device
 * library); unknown ids get `0x....`.
 *
 * @example
 * ```ts
 * deviceTypeName(0x010a); // 'On/Off Plug-in Unit'
 * ```
 */
const NAMES: Readonly<Record<number, string>> = {
  0x0016: 'Root Node',
  0x0011: 'Power Source',
  0x000e: 'Aggregator',
  0x0013: 'Bridged Node',
  0x0100: 'On/Off Light',
  0x0101: 'Dimmable Light',
  0x010c: 'Color Temperature Light',
  0x010d: 'Extended Color Light',
  0x010a: 'On/Off Plug-in Unit',
  0x010b: 'Dimmable Plug-In Unit',
  0x000a: 'Door Lock',
  0x000b: 'Door Lock Controller',
  0x0015: 'Contact Sensor',
  0x0302: 'Temperature Sensor',
  0x0301: 'Thermostat',
  0x0202: 'Window Covering',
  0x0090: 'Network Infrastructure Manager',
  0x0091: 'Thread Border Router',
  0x0023: 'Casting Video Player',
  0x0028: 'Basic Video Player',
  0x0022: 'Speaker',
};

export function deviceTypeName(id: number): string {
  return NAMES[id] ?? `0x${id.toString(16).padStart(4, '0')}`;
}

/** Device types that make a node a Thread border router. */
export const THREAD_BORDER_ROUTER_TYPES: readonly number[] = [0x0090, 0x0091];
