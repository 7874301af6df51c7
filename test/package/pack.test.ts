/**
 * The package other bots install: `npm pack` (which builds dist/ through prepack), the tarball unpacked into a
 * temporary project outside the repository, and each entry point of package.json "exports" imported there by plain
 * node (no tsx), its .d.ts files checked by tsc against a small consumer, and the installed client talking to a real
 * daemon on loopback (so the proto files it loads at run time are in the tarball).
 *
 * Offline and quick: the project's node_modules holds the tarball's own files, and for its dependencies symlinks to
 * the repository's installed packages, one per entry of the packed package.json's "dependencies" and nothing else, so
 * an import of an undeclared (or dev-only) package fails here as it would for a real installer.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureDaemon, type FixtureDaemon } from '../helpers/fixture-daemon.ts';

const execFileAsync = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');
const REPO_MODULES = path.join(REPO, 'node_modules');

interface PackReport {
  name: string;
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
}

interface PackedManifest {
  name: string;
  private?: boolean;
  exports: Record<string, { types: string; default: string } | string>;
  dependencies: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** Each entry point, and one named export it must have (a function other bots call). */
const ENTRY_POINTS = [
  { subpath: 'discord', exportName: 'createAnimatePlugin' },
  { subpath: 'slack', exportName: 'registerAnimate' },
  { subpath: 'core', exportName: 'createBotCore' },
  { subpath: 'client', exportName: 'connectAnimator' },
] as const;

let work: string;
let consumer: string;
let report: PackReport;
let manifest: PackedManifest;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'animate-pack-'));
  const started = Date.now();
  // --json: the report on stdout; the prepack build's output goes to stderr.
  const { stdout } = await execFileAsync('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: REPO,
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
  });
  const parsed = JSON.parse(stdout) as PackReport[];
  expect(parsed).toHaveLength(1);
  report = parsed[0]!;
  console.log(`[pack] ${report.filename}: ${report.files.length} files, ${report.size} bytes packed, ${report.unpackedSize} unpacked, in ${Date.now() - started} ms (build included)`);

  consumer = path.join(work, 'consumer');
  const installed = path.join(consumer, 'node_modules', report.name);
  await mkdir(installed, { recursive: true });
  await execFileAsync('tar', ['-xzf', path.join(work, report.filename), '-C', installed, '--strip-components=1']);
  manifest = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8')) as PackedManifest;
  await writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  // The declared runtime dependencies, and @types/node for the consumer's own tsc run.
  for (const dependency of [...Object.keys(manifest.dependencies), '@types/node']) {
    const link = path.join(consumer, 'node_modules', dependency);
    await mkdir(path.dirname(link), { recursive: true });
    await symlink(path.join(REPO_MODULES, dependency), link, 'dir');
  }
}, 300_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** What the README's plugin examples take as given: the bot's own client, message, Bolt app and thread. */
const README_EXAMPLE_PRELUDE =
  "declare const client: import('discord.js').Client;\n" +
  "declare const message: import('discord.js').Message;\n" +
  "declare const app: import('@slack/bolt').App;\n" +
  'declare const channel: string, threadTs: string, userId: string;\n';

/** Runs an ES module script with plain node inside the consumer project; returns its last stdout line as JSON. */
async function runInConsumer<T>(name: string, source: string, env: Record<string, string> = {}): Promise<T> {
  const file = path.join(consumer, name);
  await writeFile(file, source);
  const { stdout } = await execFileAsync(process.execPath, [file], { cwd: consumer, env: { ...process.env, ...env }, timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null') as T;
}

describe('the packed tarball', () => {
  it('is installable: named, dist/ with the proto files, no sources, models or tests', () => {
    expect(report.name).toBe('animate-chat');
    // Private on purpose: bots install the tarball or the git checkout; `npm publish` stays a deliberate change.
    expect(manifest.private).toBe(true);
    const paths = report.files.map((f) => f.path);
    expect(paths).toContain('package.json');
    expect(paths).toContain('dist/proto/animate/v1/animator.proto');
    expect(paths).toContain('dist/proto/grpc/health/v1/health.proto');
    for (const { subpath } of ENTRY_POINTS) {
      const entry = manifest.exports[`./${subpath}`];
      expect(entry, `exports["./${subpath}"]`).toMatchObject({ types: expect.stringMatching(/^\.\/dist\/.*\.d\.ts$/), default: expect.stringMatching(/^\.\/dist\/.*\.js$/) });
      if (typeof entry === 'object') {
        expect(paths).toContain(entry.default.slice(2));
        expect(paths).toContain(entry.types.slice(2));
      }
    }
    const outside = paths.filter((p) => !p.startsWith('dist/') && p !== 'package.json' && p !== 'README.md');
    expect(outside).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    expect(paths.some((p) => p.startsWith('dist/inference/') || p.startsWith('dist/test/') || p.includes('/models/'))).toBe(false);
    // Bots that install the plugin get no test-only packages.
    for (const testOnly of ['vitest', 'ws', 'discord-api-types', 'typescript']) expect(manifest.dependencies).not.toHaveProperty(testOnly);
  });
});

describe('installed into another project', () => {
  it('imports each entry point with plain node and finds its named export', async () => {
    for (const { subpath, exportName } of ENTRY_POINTS) {
      const result = await runInConsumer<{ type: string; count: number }>(
        `import-${subpath}.mjs`,
        `const m = await import('animate-chat/${subpath}');\n` +
          `console.log(JSON.stringify({ type: typeof m[${JSON.stringify(exportName)}], count: Object.keys(m).length }));\n`,
      );
      console.log(`[pack] animate-chat/${subpath}: ${result.count} exports, ${exportName} is a ${result.type}`);
      expect(result.type, `animate-chat/${subpath} ${exportName}`).toBe('function');
    }
  });

  it('keeps everything but "exports" private (a deep import is ERR_PACKAGE_PATH_NOT_EXPORTED)', async () => {
    const result = await runInConsumer<{ code: string }>(
      'deep-import.mjs',
      "try { await import('animate-chat/dist/bots/core/bot.js'); console.log(JSON.stringify({ code: 'imported' })); }\n" +
        'catch (error) { console.log(JSON.stringify({ code: error.code })); }\n',
    );
    expect(result.code).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it('the installed client lists the models of a real daemon (the proto files ship in the tarball)', async () => {
    let fx: FixtureDaemon | undefined;
    try {
      fx = await startFixtureDaemon();
      const result = await runInConsumer<{ models: string[]; defaultModel: string }>(
        'list-models.mjs',
        "import { connectAnimator } from 'animate-chat/client';\n" +
          'const client = connectAnimator(process.env.DAEMON);\n' +
          'await client.waitForReady(20_000);\n' +
          'const list = await client.listModels();\n' +
          'client.close();\n' +
          'console.log(JSON.stringify({ models: list.models.map((m) => m.name), defaultModel: list.defaultModel }));\n',
        { DAEMON: fx.daemon.address },
      );
      expect(result.models).toEqual([fx.fixture.options.name]);
      expect(result.defaultModel).toBe(fx.fixture.options.name);
    } finally {
      await fx?.close();
    }
  });

  it('its type declarations check a consumer and the README examples with tsc, and catch wrong calls', async () => {
    const tsc = path.join(REPO_MODULES, 'typescript', 'bin', 'tsc');
    const readmeExamples = [...(await readFile(path.join(REPO, 'README.md'), 'utf8')).matchAll(/```ts\n([\s\S]*?)```/g)]
      .map((m) => m[1] ?? '')
      .filter((code) => code.includes("from 'animate-chat/"));
    expect(readmeExamples.length).toBeGreaterThanOrEqual(2);
    // One tsc run over a correct consumer and a wrong one: errors in the wrong one only, so the types are real.
    // (skipLibCheck keeps this quick; with it off the same declarations check clean too.)
    await writeFile(
      path.join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
        files: ['good.ts', 'bad.ts', ...readmeExamples.map((_, i) => `readme-${i}.ts`)],
      }),
    );
    // The README's plugin examples, as written, against the installed declarations (their free names declared).
    for (const [i, example] of readmeExamples.entries()) await writeFile(path.join(consumer, `readme-${i}.ts`), README_EXAMPLE_PRELUDE + example);
    const imports =
      "import { createAnimatePlugin, type AnimatePluginOptions } from 'animate-chat/discord';\n" +
      "import { registerAnimate, type SlackAnimatePlugin } from 'animate-chat/slack';\n" +
      "import { createBotCore, type BotCore } from 'animate-chat/core';\n" +
      "import { connectAnimator, type AnimatorConnection } from 'animate-chat/client';\n";
    await writeFile(
      path.join(consumer, 'good.ts'),
      imports +
        "const client: AnimatorConnection = connectAnimator('127.0.0.1:50051');\n" +
        'const models: Promise<string[]> = client.listModels().then((list) => list.models.map((m) => m.name));\n' +
        "const core: BotCore = createBotCore({ daemonAddress: '127.0.0.1:50051' });\n" +
        "export const used: [typeof createAnimatePlugin, AnimatePluginOptions['daemon'], typeof registerAnimate, SlackAnimatePlugin | undefined, BotCore, typeof models] = [createAnimatePlugin, undefined, registerAnimate, undefined, core, models];\n",
    );
    await writeFile(
      path.join(consumer, 'bad.ts'),
      imports +
        'export const client = connectAnimator(50051);\n' +
        // A generated wire type (shared/proto/gen) reached through the client's declarations.
        "export const wrong: number = (null as unknown as Awaited<ReturnType<AnimatorConnection['listModels']>>).defaultModel;\n" +
        'export const unused: [typeof createAnimatePlugin, AnimatePluginOptions | undefined, typeof registerAnimate, SlackAnimatePlugin | undefined, typeof createBotCore, BotCore | undefined] = [createAnimatePlugin, undefined, registerAnimate, undefined, createBotCore, undefined];\n',
    );
    const run = await execFileAsync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumer }).then(
      () => ({ code: 0, out: '' }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code ?? -1, out: error.stdout ?? '' }),
    );
    console.log(`[pack] tsc on the consumers:\n${run.out.trim()}`);
    expect(run.code).toBe(2);
    expect(run.out.trim().split('\n')).toEqual([
      "bad.ts(5,39): error TS2345: Argument of type 'number' is not assignable to parameter of type 'string'.",
      "bad.ts(6,14): error TS2322: Type 'string' is not assignable to type 'number'.",
    ]);
    expect((await stat(path.join(consumer, 'node_modules/animate-chat/dist/bots/discord/index.d.ts'))).isFile()).toBe(true);
  });
});
