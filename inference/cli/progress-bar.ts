// A one-line progress bar on stderr: redrawn in place on a terminal, a line per 25% otherwise (logs, CI).
export class ProgressBar {
  private lastBucket = -1;
  constructor(private readonly label: string, private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(done: number, total: number, note = ''): void {
    const ratio = total > 0 ? Math.min(1, done / total) : 0;
    if (this.stream.isTTY) {
      const width = 28;
      const filled = Math.round(ratio * width);
      this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}% ${note}`.padEnd(100).slice(0, 100));
    } else {
      const bucket = Math.floor(ratio * 4);
      if (bucket !== this.lastBucket) {
        this.lastBucket = bucket;
        this.stream.write(`${this.label} ${Math.round(ratio * 100)}% ${note}\n`);
      }
    }
  }

  message(text: string): void {
    this.stream.write(this.stream.isTTY ? `\r${text.padEnd(100)}\n` : `${text}\n`);
  }

  finish(note = ''): void {
    if (this.stream.isTTY) this.stream.write(`\r${`${this.label} done ${note}`.padEnd(100)}\n`);
    else this.stream.write(`${this.label} done ${note}\n`);
  }
}
