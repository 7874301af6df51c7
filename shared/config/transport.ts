// Transport-security settings shared by `npm start`, `npm run daemon`, `npm run animate` and the standalone bots:
// the token (inline, or from a file so it never shows in the process list), the daemon's TLS certificate and key
// (plus the CA that signs client certificates, for mutual TLS), and what a client needs to connect over TLS.
// Files are read here, once, at start-up; every problem names the flag or variable it came from and what is
// allowed, so a bad combination stops start-up with a message a person can act on.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BOOL_HINT, parseBoolWord } from './variables.ts';

/** One raw setting and where it came from ('ANIMATE_TLS_CERT' or '--tls-cert'), for messages. */
export interface Setting {
  value: string | undefined;
  source: string;
}

/** What the daemon serves TLS with (PEM contents). */
export interface ServerTlsFiles {
  cert: Buffer;
  key: Buffer;
  /** Clients must present a certificate signed by this CA (mutual TLS). */
  clientCa?: Buffer;
}

/** What a client connects with; an empty object means TLS verified against the system roots. */
export interface ClientTlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  serverName?: string;
}

export interface Resolved<T> {
  value: T;
  /** One line per problem, each naming its flag or variable. Empty when all is well. */
  problems: string[];
}

const given = (s: Setting | undefined): s is Setting & { value: string } => s?.value !== undefined && s.value.trim() !== '';

function readSettingFile(s: Setting & { value: string }, cwd: string, problems: string[]): Buffer | undefined {
  const file = path.resolve(cwd, s.value.trim());
  try {
    return readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a folder' : e.message;
    problems.push(`${s.source}: cannot read ${file} (${why}); it must name a readable file.`);
    return undefined;
  }
}

/** Parses a PEM certificate; undefined (and a problem) when it is not one. */
export function parseCertificate(pem: Buffer | string, what: string, problems: string[]): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    problems.push(`${what} is not a PEM certificate (expected a "-----BEGIN CERTIFICATE-----" block).`);
    return undefined;
  }
}

/** Parses a PEM private key; undefined (and a problem) when it is not one. */
export function parsePrivateKey(pem: Buffer | string, what: string, problems: string[]): KeyObject | undefined {
  try {
    return createPrivateKey(pem);
  } catch {
    problems.push(`${what} is not an unencrypted PEM private key (expected a "-----BEGIN … PRIVATE KEY-----" block).`);
    return undefined;
  }
}

/** Checks a certificate and its key, as PEM: each parses and the key belongs to the certificate. */
export function checkKeyPair(cert: Buffer | string, key: Buffer | string, names: { cert: string; key: string }, problems: string[]): void {
  const x509 = parseCertificate(cert, names.cert, problems);
  const keyObject = parsePrivateKey(key, names.key, problems);
  if (x509 && keyObject && !x509.checkPrivateKey(keyObject)) problems.push(`${names.key} is not the private key of ${names.cert}: give the key the certificate was made for.`);
}

const describe = (s: Setting & { value: string }) => `${s.source} (${s.value.trim()})`;

/**
 * The token, from the value or from a file (trailing newline trimmed). Both given is a problem naming both: the
 * file is the safer one, since a value on a command line is visible to every local user in the process list.
 */
export function resolveToken(input: { token?: Setting | undefined; tokenFile?: Setting | undefined }, cwd = process.cwd()): Resolved<string | undefined> {
  const problems: string[] = [];
  const { token, tokenFile } = input;
  if (given(token) && given(tokenFile)) {
    problems.push(`${token.source} and ${tokenFile.source} are both set: give the token one way (${tokenFile.source}, a file only the service's user can read, is the safer).`);
    return { value: undefined, problems };
  }
  if (given(token)) return { value: token.value.trim(), problems };
  if (!given(tokenFile)) return { value: undefined, problems };
  const contents = readSettingFile(tokenFile, cwd, problems);
  if (!contents) return { value: undefined, problems };
  const value = contents.toString('utf8').replace(/[\r\n]+$/, '');
  if (value.trim() === '') problems.push(`${describe(tokenFile)} is empty: it must hold the token.`);
  else if (/[\r\n]/.test(value)) problems.push(`${describe(tokenFile)} holds more than one line: it must hold only the token.`);
  return { value: problems.length ? undefined : value, problems };
}

/** The daemon's TLS: a certificate and its key, both or neither; a client CA only on top of them. */
export function resolveServerTls(input: { cert?: Setting | undefined; key?: Setting | undefined; clientCa?: Setting | undefined }, cwd = process.cwd()): Resolved<ServerTlsFiles | undefined> {
  const problems: string[] = [];
  const { cert, key, clientCa } = input;
  const certSource = cert?.source ?? 'ANIMATE_TLS_CERT';
  const keySource = key?.source ?? 'ANIMATE_TLS_KEY';
  if (given(cert) !== given(key)) {
    problems.push(`${given(cert) ? certSource : keySource} is set without ${given(cert) ? keySource : certSource}: serving TLS needs both, a PEM certificate and its private key.`);
    return { value: undefined, problems };
  }
  if (!given(cert) || !given(key)) {
    if (given(clientCa)) problems.push(`${clientCa.source} needs ${certSource} and ${keySource}: mutual TLS runs on top of TLS, so the daemon needs its own certificate and key too.`);
    return { value: undefined, problems };
  }
  const certPem = readSettingFile(cert, cwd, problems);
  const keyPem = readSettingFile(key, cwd, problems);
  const caPem = given(clientCa) ? readSettingFile(clientCa, cwd, problems) : undefined;
  if (certPem && keyPem) checkKeyPair(certPem, keyPem, { cert: describe(cert), key: describe(key) }, problems);
  if (caPem && given(clientCa)) parseCertificate(caPem, describe(clientCa), problems);
  if (problems.length || !certPem || !keyPem) return { value: undefined, problems };
  return { value: { cert: certPem, key: keyPem, ...(caPem ? { clientCa: caPem } : {}) }, problems };
}

export interface ClientTlsInput {
  /** ANIMATE_TLS / --tls: true, false or unset (then TLS is on when any other TLS setting is given, or `defaultOn`). */
  enabled?: { value: boolean | undefined; source: string } | undefined;
  ca?: Setting | undefined;
  cert?: Setting | undefined;
  key?: Setting | undefined;
  serverName?: Setting | undefined;
  /** TLS is needed even with nothing else set (e.g. the embedded daemon serves TLS); `why` explains it. */
  defaultOn?: { why: string } | undefined;
}

/** How a client connects: undefined = plaintext; an object = TLS (empty = system roots). */
export function resolveClientTls(input: ClientTlsInput, cwd = process.cwd()): Resolved<ClientTlsFiles | undefined> {
  const problems: string[] = [];
  const { enabled, ca, cert, key, serverName } = input;
  const implied = [ca, cert, key, serverName].filter(given);
  if (enabled?.value === false) {
    if (implied.length) problems.push(`${enabled.source}=false contradicts ${implied.map((s) => s.source).join(', ')}: unset ${enabled.source} (or set it to true) to connect with TLS, or unset the others.`);
    else if (input.defaultOn) problems.push(`${enabled.source}=false, but ${input.defaultOn.why}: clients must connect with TLS; unset ${enabled.source}.`);
    return { value: undefined, problems };
  }
  if (enabled?.value !== true && !implied.length && !input.defaultOn) return { value: undefined, problems };
  const certSource = cert?.source ?? 'ANIMATE_TLS_CLIENT_CERT';
  const keySource = key?.source ?? 'ANIMATE_TLS_CLIENT_KEY';
  if (given(cert) !== given(key)) {
    problems.push(`${given(cert) ? certSource : keySource} is set without ${given(cert) ? keySource : certSource}: a client certificate for mutual TLS needs both, the PEM certificate and its private key.`);
    return { value: undefined, problems };
  }
  const value: ClientTlsFiles = {};
  if (given(ca)) {
    const pem = readSettingFile(ca, cwd, problems);
    if (pem && parseCertificate(pem, describe(ca), problems)) value.ca = pem;
  }
  if (given(cert) && given(key)) {
    const certPem = readSettingFile(cert, cwd, problems);
    const keyPem = readSettingFile(key, cwd, problems);
    if (certPem && keyPem) {
      checkKeyPair(certPem, keyPem, { cert: describe(cert), key: describe(key) }, problems);
      value.cert = certPem;
      value.key = keyPem;
    }
  }
  if (given(serverName)) {
    const name = serverName.value.trim();
    if (!/^[A-Za-z0-9.-]+$|^[0-9a-fA-F:]+$/.test(name)) problems.push(`${serverName.source}=${JSON.stringify(name)} is not a host name or IP address.`);
    else value.serverName = name;
  }
  return { value: problems.length ? undefined : value, problems };
}

/** Thrown by clientTransportFromEnv: every problem, one line each. */
export class TransportConfigError extends Error {
  readonly code = 'INVALID_TRANSPORT_SETTING';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'TransportConfigError';
  }
}

/** Parses a true/false setting with the settings table's words (BOOL_WORDS); a problem when it is neither. */
export function parseBoolSetting(s: Setting | undefined, problems: string[]): { value: boolean | undefined; source: string } | undefined {
  if (!given(s)) return undefined;
  const value = parseBoolWord(s.value);
  if (value !== undefined) return { value, source: s.source };
  problems.push(`${s.source} must be ${BOOL_HINT}, got ${JSON.stringify(s.value)}.`);
  return undefined;
}

/**
 * What a standalone front-end (a bot on its own, the CLI) needs to reach a daemon: the token and TLS, from the
 * ANIMATE_* variables, with `flags` (already named '--tls-ca' etc.) winning over them. Throws TransportConfigError.
 */
export function clientTransportFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  flags: { token?: string | undefined; tokenFile?: string | undefined; tls?: boolean | undefined; tlsCa?: string | undefined; tlsClientCert?: string | undefined; tlsClientKey?: string | undefined; tlsServerName?: string | undefined } = {},
  cwd = process.cwd(),
): { token: string | undefined; tls: ClientTlsFiles | undefined } {
  const pick = (flag: string | undefined, flagName: string, variable: string): Setting => (flag !== undefined ? { value: flag, source: flagName } : { value: env[variable], source: variable });
  const problems: string[] = [];
  // A token flag replaces both token variables: someone giving --token-file means that file, whatever the environment says.
  const tokenFromFlags = flags.token !== undefined || flags.tokenFile !== undefined;
  const token = resolveToken(
    tokenFromFlags
      ? { token: { value: flags.token, source: '--token' }, tokenFile: { value: flags.tokenFile, source: '--token-file' } }
      : { token: { value: env.ANIMATE_TOKEN, source: 'ANIMATE_TOKEN' }, tokenFile: { value: env.ANIMATE_TOKEN_FILE, source: 'ANIMATE_TOKEN_FILE' } },
    cwd,
  );
  problems.push(...token.problems);
  const enabled = flags.tls !== undefined ? { value: flags.tls, source: '--tls' } : parseBoolSetting({ value: env.ANIMATE_TLS, source: 'ANIMATE_TLS' }, problems);
  const tls = resolveClientTls(
    {
      enabled,
      ca: pick(flags.tlsCa, '--tls-ca', 'ANIMATE_TLS_CA'),
      cert: pick(flags.tlsClientCert, '--tls-client-cert', 'ANIMATE_TLS_CLIENT_CERT'),
      key: pick(flags.tlsClientKey, '--tls-client-key', 'ANIMATE_TLS_CLIENT_KEY'),
      serverName: pick(flags.tlsServerName, '--tls-server-name', 'ANIMATE_TLS_SERVER_NAME'),
    },
    cwd,
  );
  problems.push(...tls.problems);
  if (problems.length) throw new TransportConfigError(problems);
  return { token: token.value, tls: tls.value };
}
