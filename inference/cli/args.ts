// The command lines' argument parser: shared/cli-args.ts (both wings' command lines use it; bots/ cannot import
// inference/). Re-exported here for the daemon's and the client's CLIs and their tests.
export { CliUsageError, parseCli, type CliProgram, type FlagSpec, type FlagSpecs } from '../../shared/cli-args.ts';
