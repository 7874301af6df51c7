// `npm run faults`: the project's own fault suite from the command line. Parses options, runs the suite, prints the
// one table (and JSON with --json), exits 1 when anything failed and 2 for a bad option.
import { writeFileSync } from 'node:fs';
import { FaultOptionError, parseFaultArgs } from './options.ts';
import { formatTable } from './report.ts';
import { runFaults } from './runner.ts';

async function main(): Promise<number> {
  let options;
  try {
    options = parseFaultArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof FaultOptionError) {
      process.stderr.write(`npm run faults: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (!options) return 0;
  const report = await runFaults(options);
  process.stdout.write(`\n${formatTable(report)}\n`);
  if (options.json) {
    const text = `${JSON.stringify(report, null, 2)}\n`;
    if (options.json === '-') process.stdout.write(text);
    else writeFileSync(options.json, text);
  }
  return report.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`npm run faults: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
