// Terminal questions for interactive commands; secrets are read without echo.
import * as readline from "node:readline";
import { Writable } from "node:stream";

/** Asks questions on the terminal; `secret` answers are not echoed. Lines typed ahead are kept. */
export class Prompter {
  private muted = false;
  private readonly rl: readline.Interface;
  private readonly lines: AsyncIterator<string>;

  constructor() {
    const output = new Writable({
      write: (chunk, _encoding, done) => {
        if (!this.muted) process.stdout.write(chunk);
        done();
      },
    });
    this.rl = readline.createInterface({ input: process.stdin, output, terminal: process.stdin.isTTY });
    this.lines = this.rl[Symbol.asyncIterator]();
  }

  /** Asks once; an empty answer (or end of input) keeps `fallback`. */
  async ask(question: string, fallback = "", secret = false): Promise<string> {
    const shown = fallback ? (secret ? " [keep current]" : ` [${fallback}]`) : "";
    process.stdout.write(`${question}${shown}: `);
    this.muted = secret;
    const next = await this.lines.next();
    this.muted = false;
    if (secret) process.stdout.write("\n");
    const answer = next.done ? "" : next.value.trim();
    return answer || fallback;
  }

  close(): void {
    this.rl.close();
  }
}
