// `medbot onboard`: create or update the config and the workspace, interactively or from flags.
import type { Command } from "commander";
import { KNOWN_PROVIDERS } from "../agent/provider.js";
import { resolvePaths } from "../config/paths.js";
import { currentChoice, onboard, type ProviderChoice } from "../setup/workspace.js";
import { didYouMean } from "./did-you-mean.js";
import { Prompter } from "./prompt.js";
import { CliFailure, type GlobalOptions, openInstance } from "./startup.js";

interface OnboardOptions extends GlobalOptions {
  provider?: string;
  apiKey?: string;
  apiBase?: string;
  model?: string;
  yes?: boolean;
  force?: boolean;
}

export function registerOnboard(program: Command): void {
  program
    .command("onboard")
    .description("create (or update) the config and the workspace; run it again any time")
    .option("--provider <name>", `model provider (${Object.keys(KNOWN_PROVIDERS).join(", ")})`)
    .option("--api-key <key>", "API key of the provider")
    .option("--api-base <url>", "OpenAI-compatible base URL (for ollama, vllm, custom, or a proxy)")
    .option("--model <model>", "model name, as the provider spells it")
    .option("-y, --yes", "do not ask; use the flags and the existing values")
    .option("--force", "reset config.json and the workspace templates to defaults (memory is kept)")
    .action(async (_options, command: Command) => {
      const options = command.optsWithGlobals<OnboardOptions>();
      const paths = resolvePaths({ configPath: options.config });
      const existing = options.force ? {} : currentChoice(paths);
      const flags: ProviderChoice = {
        provider: options.provider,
        apiKey: options.apiKey,
        apiBase: options.apiBase,
        model: options.model,
      };
      const interactive = !options.yes && process.stdin.isTTY === true;
      const choice = interactive
        ? await askChoice({ ...existing, ...defined(flags) })
        : {
            ...flags,
            provider: flags.provider ?? existing.provider ?? (flags.apiKey ? "openrouter" : undefined),
          };
      const unknown = unknownProviderProblem(choice, existing);
      if (unknown) throw new CliFailure(unknown, 2);
      const result = onboard(paths, choice, options.force === true);
      const { config } = openInstance(options);
      process.stdout.write(`Config:    ${paths.configFile} (0600)\n`);
      process.stdout.write(`Workspace: ${result.paths.workspace} (0700)\n`);
      if (result.created.length) process.stdout.write(`Created:   ${result.created.join(", ")}\n`);
      if (result.kept.length) process.stdout.write(`Kept:      ${result.kept.join(", ")} (already there)\n`);
      const { provider, model } = config.agents.defaults;
      if (!model) {
        process.stdout.write(
          "\nNo model set yet: run `medbot onboard` again with --provider, --api-key and --model.\n",
        );
      } else {
        process.stdout.write(`\nProvider ${provider}, model ${model}. Try: medbot agent -m "hello"\n`);
      }
    });
}

async function askChoice(start: ProviderChoice): Promise<ProviderChoice> {
  const prompter = new Prompter();
  try {
    const provider = await prompter.ask("Provider", start.provider ?? "openrouter");
    const apiKey = await prompter.ask("API key", start.apiKey ?? "", true);
    const apiBase = await prompter.ask("API base (empty for the provider's default)", start.apiBase ?? "");
    const model = await prompter.ask("Model", start.model ?? "");
    return { provider, apiKey, apiBase, model };
  } finally {
    prompter.close();
  }
}

function defined(choice: ProviderChoice): ProviderChoice {
  return Object.fromEntries(Object.entries(choice).filter(([, v]) => v !== undefined));
}

/**
 * Why the chosen provider name cannot be used, or undefined: a name medbot does not know is a typo unless it
 * comes with its own address (--api-base now, or one already in config.json for that name).
 */
function unknownProviderProblem(choice: ProviderChoice, existing: ProviderChoice): string | undefined {
  const name = choice.provider;
  if (!name || name in KNOWN_PROVIDERS || choice.apiBase) return undefined;
  if (existing.provider === name && existing.apiBase) return undefined;
  const known = Object.keys(KNOWN_PROVIDERS);
  const hint = didYouMean(name, known);
  return (
    `medbot: unknown provider "${name}"${hint ? `; ${hint}` : "."} Known providers: ${known.join(", ")}. ` +
    "For another OpenAI-compatible server use --provider custom --api-base URL. Nothing was written."
  );
}
