// The daemon `npm start` embeds: the inference wing started in this process from the shared configuration, unless
// ANIMATE_DAEMON_ADDRESS names a daemon that runs elsewhere. Kept apart from start.ts so that the front door reads
// as its steps, and so that this is the one place above the wings where the daemon's options are filled in.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, readSetting, type AppConfig } from '../shared/config/index.ts';
import { resolveWatermark, type WatermarkSettings } from '../inference/media/watermark.ts';
import { createLogger, type DaemonLogger } from '../inference/log.ts';
import type { DaemonMetrics } from '../inference/metrics/registry.ts';
import { startDaemon, type DaemonOptions } from '../inference/server/daemon.ts';

export interface EmbeddedDaemon {
  address: string;
  /** For the start-up summary: the address, the model and the execution provider. */
  where: string;
  /** graceMs: how long running jobs may take to finish before they are stopped. */
  close(options?: { graceMs?: number }): Promise<void>;
  /** Its metrics, which app/metrics.ts serves with the bots' on ANIMATE_METRICS_LISTEN. */
  metrics: DaemonMetrics;
}

export interface EmbeddedDaemonOptions {
  /** The process's logger for the daemon (app/start.ts makes it from the settings). Default: one at ANIMATE_LOG_LEVEL. */
  logger?: DaemonLogger;
}

/**
 * The daemon's options from the shared configuration: every daemon setting `npm start` validates is passed here (a
 * setting read and not passed would be "validated but ignored"). Throws ConfigError for a bad watermark.
 */
export function embeddedDaemonOptions(config: AppConfig, options: EmbeddedDaemonOptions = {}): DaemonOptions {
  const d = config.daemon;
  // The watermark (README "Provenance"): its PNG read and its font found now, so a bad one stops start-up naming it.
  const watermark = resolveWatermark({
    text: readSetting(config.env, 'ANIMATE_WATERMARK'),
    imagePath: readSetting(config.env, 'ANIMATE_WATERMARK_IMAGE'),
    fontPath: readSetting(config.env, 'ANIMATE_WATERMARK_FONT'),
    corner: readSetting(config.env, 'ANIMATE_WATERMARK_CORNER'),
    opacity: readSetting(config.env, 'ANIMATE_WATERMARK_OPACITY'),
  } as WatermarkSettings);
  if (watermark.problems.length > 0) throw new ConfigError(watermark.problems);
  const blocklistFile = readSetting(config.env, 'ANIMATE_BLOCKLIST_FILE') as string | undefined;
  return {
    listen: d.listen,
    modelsDir: d.modelsDir,
    defaultModel: d.defaultModel,
    concurrency: d.concurrency,
    maxQueue: d.maxQueue,
    maxQueuePerUser: d.maxQueuePerUser,
    threads: d.threads,
    executionProvider: d.executionProvider,
    maxStreamsPerJob: d.maxStreamsPerJob,
    maxStreamsPerConnection: d.maxStreamsPerConnection,
    styleCacheMb: d.styleCacheMb,
    previewIntervalMs: d.previewIntervalMs,
    ...(d.guidancePasses !== undefined ? { guidancePasses: d.guidancePasses } : {}),
    ...(d.queueUrl ? { queueUrl: d.queueUrl, role: d.role, leaseSeconds: d.leaseSeconds } : {}),
    // ANIMATE_METRICS_LISTEN is served by app/metrics.ts, the daemon's metrics and the bots' on one endpoint.
    ...(d.token ? { token: d.token } : {}),
    ...(d.tls ? { tls: d.tls } : {}),
    ...(d.safetyModelDir ? { safetyModelDir: d.safetyModelDir } : {}),
    ...(watermark.value ? { watermark: watermark.value } : {}),
    // The prompt policy (README "Moderation"): the file is read and checked by the daemon at start, naming the variable.
    ...(blocklistFile ? { blocklistFile: path.resolve(blocklistFile) } : {}),
    logPrompts: readSetting(config.env, 'ANIMATE_LOG_PROMPTS') === true,
    provenancePrompts: d.provenancePrompts,
    logger: options.logger ?? createLogger(d.logLevel),
  };
}

/** Starts the daemon with the embedded model; a ConfigError when ANIMATE_DEFAULT_MODEL is not in ANIMATE_MODELS_DIR. */
export async function startEmbeddedDaemon(config: AppConfig, options: EmbeddedDaemonOptions = {}): Promise<EmbeddedDaemon> {
  const d = config.daemon;
  if (!existsSync(path.join(d.modelsDir, d.defaultModel)))
    throw new ConfigError([
      `ANIMATE_DEFAULT_MODEL=${d.defaultModel} is not a folder in ANIMATE_MODELS_DIR (${d.modelsDir}). Put a model package there (docs/model-package.md) or set ANIMATE_DAEMON_ADDRESS to use a running daemon.`,
    ]);
  // The bots reach the embedded daemon over gRPC, which a cluster worker does not serve.
  if (d.queueUrl && d.role === 'worker')
    throw new ConfigError(['ANIMATE_ROLE=worker takes no gRPC calls, so npm start has nothing for its bots to reach: use gateway or both here, and run workers with npm run daemon -- --role worker (README "Scale out").']);
  const daemon = await startDaemon(embeddedDaemonOptions(config, options));
  return {
    address: daemon.address,
    where: `grpc://${daemon.address} (model ${d.defaultModel}, ${d.executionProvider}${d.queueUrl ? `, cluster ${d.role}` : ''})`,
    close: (closeOptions) => daemon.close(closeOptions),
    metrics: daemon.metrics,
  };
}
