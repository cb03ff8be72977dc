/**
 * The configuration `homenet serve --mode gateway` runs with: the config file
 * (or none) plus what a first start on a router needs and nobody wrote down —
 *
 * - the state directory (`stateDir`, `--state-dir`; default
 *   {@link DEFAULT_STATE_DIR}), holding the journal (`gateway.db`) and the
 *   admin token file (`admin-token`) unless the file names others;
 * - the LAN and WAN interfaces, found from the routes and addresses when the
 *   file names none (`adapters/system/route-interfaces.ts` has the rule);
 * - the admin token: when the API is on and neither `admin.token` nor
 *   `admin.tokenFile` is set, `<stateDir>/admin-token`, created (0600, in a
 *   0700 directory, 32 random bytes) if missing; an existing token file that
 *   group/others can read is refused.
 *
 * `check: true` (for `--check`) creates nothing: a token file still to be
 * made is reported as such.
 *
 * @example
 * ```ts
 * const { config, chosen } = await effectiveGatewayConfig({ file: {} });
 * chosen.interfaces.why.wan; // 'wan0: the IPv4 default route (via 198.51.100.2) leaves through it'
 * chosen.token;              // { path: '/var/lib/homenet/admin-token', state: 'created' }
 * ```
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chooseGatewayInterfaces, chooseHubInterface, InterfaceChoice, readRouterInterfaces, RouterInterfaces } from '../../adapters/system/route-interfaces';
import { AdminTokenFile, ensureAdminTokenFile, readAdminTokenFile } from './admin-token-file';
import { GatewayConfig, parseGatewayConfig } from './gateway-config';
import { checkGatewayConfigFile, GatewayConfigError } from './gateway-config-schema';

/** Where the gateway keeps its journal and admin token unless told otherwise. */
export const DEFAULT_STATE_DIR = '/var/lib/homenet';
/** The token file's name in the state directory. */
export const ADMIN_TOKEN_FILE_NAME = 'admin-token';
/** The journal's name in the state directory. */
export const JOURNAL_FILE_NAME = 'gateway.db';
/** The hub's journal's name in the state directory. */
export const HUB_JOURNAL_FILE_NAME = 'hub.db';

export interface EffectiveConfigOptions {
  /** The parsed JSON of the config file; `{}` when there is none. */
  readonly file: unknown;
  /** `--state-dir`: wins over the file's `stateDir`. */
  readonly stateDir?: string;
  /** Only report: create no file or directory. */
  readonly check?: boolean;
  /** Reads the router's links and routes (injected for tests). */
  readonly readInterfaces?: () => Promise<RouterInterfaces>;
}

/** How the token was found: inline in the file, read from a file, created now, or (with `check`) to be created at start. */
export type TokenOrigin = 'inline' | 'read' | 'created' | 'created-at-start' | 'none';

export interface EffectiveGatewayConfig {
  readonly config: GatewayConfig;
  readonly chosen: {
    readonly stateDir: string;
    readonly interfaces: InterfaceChoice & { readonly detected: boolean };
    readonly token: { readonly path?: string; readonly origin: TokenOrigin };
  };
}

/** A token standing in for one `--check` would create (never used to authenticate: `--check` starts nothing). */
const NOT_YET_CREATED = 'x'.repeat(64);

/**
 * Fills in the first-start defaults and checks the result.
 *
 * @throws GatewayConfigError (a bad key; the interfaces or the token file cannot be used, under their key).
 */
export async function effectiveGatewayConfig(options: EffectiveConfigOptions): Promise<EffectiveGatewayConfig> {
  const file = checkGatewayConfigFile(options.file); // bad keys first, before looking at the system
  const raw = options.file as Record<string, Record<string, unknown> | undefined>;
  const stateDir = options.stateDir ?? file.stateDir ?? DEFAULT_STATE_DIR;
  if (options.stateDir !== undefined && !options.stateDir.startsWith('/')) throw new GatewayConfigError('--state-dir', options.stateDir, 'an absolute directory path');

  // Interfaces.
  const givenLan = file.lan?.interfaces;
  const givenWan = file.wan?.interface;
  const hub = file.mode === 'hub';
  let interfaces: InterfaceChoice & { detected: boolean };
  let hubRouter: string | undefined;
  if (hub) {
    // A hub: one LAN link (its default route's) and the router that route goes through; no WAN of its own.
    const needState = givenLan === undefined || file.hub?.router === undefined;
    const state = needState ? await (options.readInterfaces ?? (() => readRouterInterfaces()))() : { links: [], defaultRoutes: [] };
    let choice;
    try {
      choice = chooseHubInterface(state, givenLan !== undefined ? { lan: givenLan[0] } : {});
    } catch (error) {
      throw GatewayConfigError.unset('lan.interfaces', (error as Error).message);
    }
    const lan = givenLan ?? [choice.lan];
    interfaces = { wan: lan[0], lan, why: { wan: 'a hub has no WAN of its own: the router reports it', lan: choice.why }, detected: givenLan === undefined };
    hubRouter = file.hub?.router ?? choice.router;
  } else if (givenLan !== undefined && givenWan !== undefined) {
    interfaces = { wan: givenWan, lan: givenLan, why: { wan: `${givenWan}: set by wan.interface`, lan: `${givenLan.join(', ')}: set by lan.interfaces` }, detected: false };
  } else {
    const state = await (options.readInterfaces ?? (() => readRouterInterfaces()))();
    try {
      interfaces = { ...chooseGatewayInterfaces(state, { ...(givenWan !== undefined ? { wan: givenWan } : {}), ...(givenLan !== undefined ? { lan: givenLan } : {}) }), detected: true };
    } catch (error) {
      const key = givenWan === undefined ? 'wan.interface' : 'lan.interfaces';
      throw GatewayConfigError.unset(key, (error as Error).message);
    }
  }

  // Admin token: inline, a named file, or the state directory's (made on the first start).
  const apiOn = file.admin?.listen !== null;
  const implicitToken = apiOn && file.admin?.token === undefined && file.admin?.tokenFile === undefined;
  const tokenPath = file.admin?.tokenFile ?? (implicitToken ? join(stateDir, ADMIN_TOKEN_FILE_NAME) : undefined);
  const input = {
    ...raw,
    lan: { ...(raw.lan ?? {}), interfaces: interfaces.lan },
    wan: { ...(raw.wan ?? {}), interface: interfaces.wan },
    journal: raw.journal?.path !== undefined ? raw.journal : { ...(raw.journal ?? {}), path: join(stateDir, hub ? HUB_JOURNAL_FILE_NAME : JOURNAL_FILE_NAME) },
    ...(hub ? { hub: { ...(raw.hub ?? {}), ...(hubRouter !== undefined ? { router: hubRouter } : {}) } } : {}),
    ...(implicitToken ? { admin: { ...(raw.admin ?? {}), tokenFile: tokenPath } } : {}),
  };
  const parse = (secret: string): GatewayConfig =>
    parseGatewayConfig(input, (path) => {
      if (path === tokenPath) return secret;
      throw new Error(`unexpected file read: ${path}`);
    });
  parse(NOT_YET_CREATED); // every other key checked before anything is read or created

  let token: EffectiveGatewayConfig['chosen']['token'] = { origin: file.admin?.token !== undefined ? 'inline' : 'none' };
  let secret = NOT_YET_CREATED;
  // The state directory is private (0700) when we make it; the journal alone would make it 0755.
  if (!options.check && (implicitToken || raw.journal?.path === undefined)) mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  if (tokenPath !== undefined && file.admin?.token === undefined) {
    try {
      const found: AdminTokenFile = options.check || !implicitToken ? readAdminTokenFile(tokenPath) : ensureAdminTokenFile(tokenPath);
      token = { path: tokenPath, origin: found.created ? 'created' : 'read' };
      secret = found.token;
    } catch (error) {
      if (options.check && implicitToken && (error as NodeJS.ErrnoException).code === 'ENOENT') token = { path: tokenPath, origin: 'created-at-start' };
      else throw new GatewayConfigError('admin.tokenFile', tokenPath, `a usable token file: ${(error as Error).message}`);
    }
  }
  const config = parse(secret);
  return { config: { ...config, stateDir }, chosen: { stateDir, interfaces, token } };
}

/**
 * The effective configuration as `--check` prints it: every default filled in,
 * the token replaced by where it comes from.
 */
export function redactedGatewayConfig(effective: EffectiveGatewayConfig): Record<string, unknown> {
  const { config, chosen } = effective;
  const admin: Record<string, unknown> = { ...config.admin };
  delete admin.token;
  const shown = chosen.token.origin === 'none' ? {} : { token: chosen.token.origin === 'created-at-start' ? '(redacted: created at first start)' : '(redacted)' };
  return { ...config, admin: { ...admin, ...shown } };
}
