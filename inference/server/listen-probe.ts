// Is the daemon's gRPC address free? Asked before anything slow (the ffmpeg and watermark checks, the model and
// safety loads, minutes for a big model), so a busy ANIMATE_LISTEN is said at once rather than after them. A plain
// TCP listen and close on the same host and port: the real bind comes later (grpc-js), and its own error stays for the
// rare port taken in between. Port 0 (any free port) is not probed. Only "in use" is said here: any other failure
// (a name that resolves to an address family this machine lacks, as localhost's ::1 can) is left to grpc-js's bind,
// which tries every address the name has and words its own failure through the same listenError.
import net from 'node:net';
import { listenError, type ListenSetting } from '../../shared/listen-error.ts';

/** Resolves unless something listens on HOST:PORT now; then rejects with the ListenError (ADDRESS_IN_USE) the bind would give. */
export async function assertCanListen(address: string, setting: ListenSetting): Promise<void> {
  const at = address.lastIndexOf(':');
  const port = Number(address.slice(at + 1));
  if (port === 0) return;
  // '[::1]' as a host is '::1' to net; an empty host is every interface, as grpc-js reads it.
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? reject(listenError(address, setting, err)) : resolve()));
    server.listen({ port, ...(host ? { host } : {}), exclusive: true }, () => server.close(() => resolve()));
  });
}
