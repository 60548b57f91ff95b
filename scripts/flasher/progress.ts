// A progress bar on stderr: redrawn in place on a terminal, a line per
// quarter otherwise (CI logs, pipes).

export class ProgressBar {
  private lastDraw = 0;
  private lastQuarter = -1;
  private done = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly write: (s: string) => void = (s) => void process.stderr.write(s),
    private readonly tty: boolean = process.stderr.isTTY === true,
  ) {}

  private line(): string {
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const width = 30;
    const fill = Math.round(frac * width);
    const mb = (n: number): string => (n / 1e6).toFixed(1);
    return `${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(Math.floor(frac * 100)).padStart(3)}% ${mb(this.done)}/${mb(this.total)} MB`;
  }

  add(n: number): void {
    this.done += n;
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw >= 100) {
        this.lastDraw = now;
        this.write(`\r${this.line()}`);
      }
      return;
    }
    const q = this.total > 0 ? Math.floor((4 * Math.min(this.done, this.total)) / this.total) : 4;
    if (q > this.lastQuarter && q < 4) {
      this.lastQuarter = q;
      this.write(`${this.line()}\n`);
    }
  }

  finish(): void {
    this.done = Math.max(this.done, this.total);
    this.write(this.tty ? `\r${this.line()}\n` : `${this.line()}\n`);
  }
}
