/**
 * A plain text progress bar on stderr: redrawn in place on a terminal,
 * one line per step otherwise (CI logs).
 *
 * @module
 */
const enc = new TextEncoder();
const WIDTH = 28;

export class ProgressBar {
  readonly #tty = Deno.stderr.isTerminal();
  readonly #steps: number;
  #step = 0;
  #label = "";
  #fraction = 0;
  #detail = "";
  #drawn = 0;

  constructor(steps: number) {
    this.#steps = Math.max(1, steps);
  }

  #write(s: string): void {
    Deno.stderr.writeSync(enc.encode(s));
  }

  #draw(force = false): void {
    if (!this.#tty) return;
    const now = performance.now();
    if (!force && now - this.#drawn < 50) return;
    this.#drawn = now;
    const overall = Math.min(1, (this.#step - 1 + this.#fraction) / this.#steps);
    const full = Math.round(overall * WIDTH);
    const bar = "#".repeat(full) + ".".repeat(WIDTH - full);
    const pct = `${Math.floor(overall * 100)}`.padStart(3);
    const cols = Deno.consoleSize?.().columns ?? 100;
    const line = `[${bar}] ${pct}% ${this.#step}/${this.#steps} ${this.#label} ${this.#detail}`;
    this.#write(`\r\x1b[K${line.slice(0, cols - 1)}`);
  }

  /** Begins the next step. */
  start(label: string): void {
    this.#step++;
    this.#label = label;
    this.#fraction = 0;
    this.#detail = "";
    if (this.#tty) this.#draw(true);
    else this.#write(`[${this.#step}/${this.#steps}] ${label} …\n`);
  }

  /** Progress within the step, 0..1. */
  update(fraction: number, detail = ""): void {
    this.#fraction = Math.max(0, Math.min(1, fraction));
    this.#detail = detail;
    this.#draw();
  }

  /** Ends the step with a one-line summary. */
  end(summary: string): void {
    this.#fraction = 1;
    this.log(`[${this.#step}/${this.#steps}] ${this.#label}: ${summary}`);
  }

  /** Prints a line without breaking the bar. */
  log(line: string): void {
    if (this.#tty) {
      this.#write(`\r\x1b[K${line}\n`);
      this.#draw(true);
    } else {
      this.#write(`${line}\n`);
    }
  }

  /** Clears the bar. */
  done(): void {
    if (this.#tty) this.#write("\r\x1b[K");
  }
}
