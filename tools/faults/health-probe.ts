// A health checker in a process of its own, for scenario (d): while the suite's own process is busy with thousands
// of flooded streams, its timings would measure the suite, not the daemon. Prints one JSON line per check.
// Usage: node --import tsx tools/faults/health-probe.ts ADDRESS EVERY_MS (token in ANIMATE_TOKEN); stops on SIGTERM.
import { healthCheck } from './probe.ts';
import { rawClient } from './wire.ts';

const [address, every = '250'] = process.argv.slice(2);
if (!address) {
  process.stderr.write('usage: health-probe.ts ADDRESS [EVERY_MS]\n');
  process.exit(2);
}
const client = rawClient(address);
let running = true;
process.on('SIGTERM', () => {
  running = false;
});
while (running) {
  const h = await healthCheck(client, process.env.ANIMATE_TOKEN, 15_000);
  process.stdout.write(`${JSON.stringify({ ms: Math.round(h.ms), serving: h.serving })}\n`);
  await new Promise((resolve) => setTimeout(resolve, Number(every)));
}
client.close();
process.exit(0);
