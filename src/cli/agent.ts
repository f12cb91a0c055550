// `medbot agent`: chat with medbot in the terminal, or send one message with -m.
import * as readline from "node:readline";
import type { Command } from "commander";
import { resolveProvider, TurnCancelled } from "../agent/provider.js";
import { describeProviderFailure } from "../agent/provider-problem.js";
import { sessionKey } from "../agent/sessions.js";
import { createAgent } from "../agent/setup.js";
import { CliFailure, type GlobalOptions, openInstance } from "./startup.js";

interface AgentCliOptions extends GlobalOptions {
  message?: string;
  session: string;
}

const EXIT_WORDS = new Set(["exit", "quit", ":q", "/exit", "/quit"]);

export function registerAgent(program: Command): void {
  program
    .command("agent")
    .description("chat with medbot in this terminal (or send one message with -m)")
    .option("-m, --message <text>", "send one message, print the reply, exit")
    .option("-s, --session <id>", "conversation to use; each has its own history", "default")
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<AgentCliOptions>();
      const loaded = openInstance(options);
      const resolved = resolveProvider(loaded.config);
      if ("problem" in resolved) throw new CliFailure(resolved.problem, 1);
      // The last request's outcome: a one-shot message whose model could not answer fails the command.
      let providerFailure: unknown;
      const agent = createAgent(loaded, {
        warn: (message) => process.stderr.write(`medbot: ${message}\n`),
        onProviderResult: (failure) => {
          providerFailure = failure;
        },
      });
      const key = sessionKey("cli", options.session, "local");
      const origin = { channel: "cli", chatId: options.session };
      if (options.message !== undefined) {
        const reply = await agent.handle({ sessionKey: key, text: options.message, origin });
        agent.close();
        if (providerFailure !== undefined && !(providerFailure instanceof TurnCancelled)) {
          throw new CliFailure(
            `medbot: the model could not answer: ${describeProviderFailure(providerFailure, resolved)}`,
            1,
          );
        }
        process.stdout.write(`${reply}\n`);
        return;
      }
      await chat(
        (text) => agent.handle({ sessionKey: key, text, origin }),
        () => agent.stop(key),
      );
      agent.close();
    });
}

/** The interactive loop: line editing and history from readline; Ctrl-C stops a turn, or exits when idle. */
async function chat(send: (text: string) => Promise<string>, stop: () => boolean): Promise<void> {
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: process.stdin.isTTY,
    historySize: 500,
    prompt: "you> ",
  });
  process.stdout.write("medbot: type a message; /help for commands, exit to leave.\n");
  let busy = false;
  // Piped input ends before its lines are answered: readline closes while the loop still works through them,
  // and from Node 22 on a prompt on a closed interface throws, so the prompt is skipped once closed.
  let closed = false;
  const done = new Promise<void>((resolve) =>
    rl.on("close", () => {
      closed = true;
      resolve();
    }),
  );
  const prompt = () => {
    if (!closed) rl.prompt();
  };
  rl.on("SIGINT", () => {
    if (busy && stop()) {
      process.stdout.write("\n(stopping...)\n");
      return;
    }
    rl.close();
  });
  prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (EXIT_WORDS.has(text.toLowerCase())) break;
    if (text) {
      busy = true;
      const reply = await send(text);
      busy = false;
      process.stdout.write(`\nmedbot> ${reply}\n\n`);
    }
    prompt();
  }
  rl.close();
  await done;
}
