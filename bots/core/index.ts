// Public surface of the bot core, for adapters (bots/discord, bots/slack, bots/playground) and plugins.
export * from './adapter.ts';
export * from './errors.ts';
export * from './options.ts';
export * from './bot.ts';
export * from './clock.ts';
export * from './logger.ts';
export * from './jobs.ts';
export * from './limits.ts';
export * from './content-filter.ts';
export * from './conversation.ts';
export * from './qa.ts';
export * from './throttle.ts';
export { runJob, botErrorFromRpc, ClipAssembler } from './job-runner.ts';
export { buildGenerateRequest, clipFileName, toWireRequester } from './request.ts';
export * from './format.ts';
export * from './watchdog.ts';
export { describeRpcError, daemonErrorCode, ERROR_CODE_METADATA_KEY } from './rpc-errors.ts';
export { redactDetail } from './redact.ts';
