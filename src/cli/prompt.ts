// Terminal questions for interactive commands; secrets are read without echo.
import * as readline from "node:readline/promises";
import { Writable } from "node:stream";

/** Asks questions on the terminal; `secret` answers are not echoed. */
export class Prompter {
  private muted = false;
  private readonly rl: readline.Interface;

  constructor() {
    const output = new Writable({
      write: (chunk, _encoding, done) => {
        if (!this.muted) process.stdout.write(chunk);
        done();
      },
    });
    this.rl = readline.createInterface({ input: process.stdin, output, terminal: process.stdin.isTTY });
  }

  /** Asks once; an empty answer keeps `fallback`. */
  async ask(question: string, fallback = "", secret = false): Promise<string> {
    const shown = fallback ? (secret ? " [keep current]" : ` [${fallback}]`) : "";
    process.stdout.write(`${question}${shown}: `);
    this.muted = secret;
    const answer = (await this.rl.question("")).trim();
    this.muted = false;
    if (secret) process.stdout.write("\n");
    return answer || fallback;
  }

  close(): void {
    this.rl.close();
  }
}
