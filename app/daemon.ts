// The daemon `npm start` embeds: the inference wing started in this process from the shared configuration, unless
// ANIMATE_DAEMON_ADDRESS names a daemon that runs elsewhere. Kept apart from start.ts so that the front door reads
// as its steps, and so that this is the one place above the wings where the daemon's options are filled in.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type AppConfig } from '../shared/config/index.ts';
import { createLogger } from '../inference/log.ts';
import { startDaemon } from '../inference/server/daemon.ts';

export interface EmbeddedDaemon {
  address: string;
  /** For the start-up summary: the address, the model and the execution provider. */
  where: string;
  /** graceMs: how long running jobs may take to finish before they are stopped. */
  close(options?: { graceMs?: number }): Promise<void>;
}

/** Starts the daemon with the embedded model; a ConfigError when ANIMATE_DEFAULT_MODEL is not in ANIMATE_MODELS_DIR. */
export async function startEmbeddedDaemon(config: AppConfig): Promise<EmbeddedDaemon> {
  const d = config.daemon;
  if (!existsSync(path.join(d.modelsDir, d.defaultModel)))
    throw new ConfigError([
      `ANIMATE_DEFAULT_MODEL=${d.defaultModel} is not a folder in ANIMATE_MODELS_DIR (${d.modelsDir}). Put a model package there (docs/model-package.md) or set ANIMATE_DAEMON_ADDRESS to use a running daemon.`,
    ]);
  // The bots reach the embedded daemon over gRPC, which a cluster worker does not serve.
  if (d.queueUrl && d.role === 'worker')
    throw new ConfigError(['ANIMATE_ROLE=worker takes no gRPC calls, so npm start has nothing for its bots to reach: use gateway or both here, and run workers with npm run daemon -- --role worker (README "Scale out").']);
  const daemon = await startDaemon({
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
    ...(d.queueUrl ? { queueUrl: d.queueUrl, role: d.role, leaseSeconds: d.leaseSeconds } : {}),
    ...(d.metricsListen ? { metricsListen: d.metricsListen } : {}),
    ...(d.token ? { token: d.token } : {}),
    ...(d.tls ? { tls: d.tls } : {}),
    logger: createLogger(d.logLevel),
  });
  return {
    address: daemon.address,
    where: `grpc://${daemon.address} (model ${d.defaultModel}, ${d.executionProvider}${d.queueUrl ? `, cluster ${d.role}` : ''})`,
    close: (options) => daemon.close(options),
  };
}
