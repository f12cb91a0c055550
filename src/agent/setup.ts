// Builds an Agent for one instance: database, provider, tools.
import type { LoadedConfig } from "../config/load.js";
import { openDatabase } from "../storage/db.js";
import { Agent } from "./loop.js";
import { createProvider, resolveProvider } from "./provider.js";

/** Opens the instance's database and model provider and returns an agent over them. */
export function createAgent(loaded: LoadedConfig, warn?: (message: string) => void): Agent {
  const { config, paths } = loaded;
  const resolved = resolveProvider(config);
  const provider = "problem" in resolved ? resolved : createProvider(resolved, config.agents.defaults);
  const db = openDatabase(paths.database);
  return new Agent({ config, paths, db, provider, warn });
}
