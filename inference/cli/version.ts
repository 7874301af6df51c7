// `--version` of the command lines: the version in package.json, read from the file next to the code so that it is
// the version of what runs (npm_package_version is set only under npm run, and would be wrong for `npx tsx …`).
import { readFileSync } from 'node:fs';

const PACKAGE_JSON = new URL('../../package.json', import.meta.url);

/** "animate-chat 0.1.0": the package's name and version, as `--version` prints them. */
export function versionLine(): string {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { name?: string; version?: string };
  return `${pkg.name ?? 'animate-chat'} ${pkg.version ?? 'unknown'}`;
}
