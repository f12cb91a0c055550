// Builds an Agent for one instance: database, provider, tools.
import { useHouseholdUnits } from "../archive/metric-units.js";
import { ViewRenderer } from "../archive/render.js";
import type { LoadedConfig } from "../config/load.js";
import { openDatabase } from "../storage/db.js";
import { Agent } from "./loop.js";
import { type ChatProvider, createProvider, resolveProvider } from "./provider.js";

/**
 * Opens the instance's database and model provider and returns an agent over them. `onProviderResult` hears
 * of every request to the model: the error that failed it, or undefined when it answered.
 */
export function createAgent(
  loaded: LoadedConfig,
  warn?: (message: string) => void,
  onProviderResult?: (failure: unknown) => void,
): Agent {
  const { config, paths } = loaded;
  const resolved = resolveProvider(config);
  const provider =
    "problem" in resolved
      ? resolved
      : observed(createProvider(resolved, config.agents.defaults), onProviderResult);
  const db = openDatabase(paths.database, { auditSigningKey: paths.auditSigningKey });
  useHouseholdUnits(db, config.archive.units);
  // The renderer needs the agent's archive; the agent calls it only after a commit, so it exists by then.
  let renderer: ViewRenderer | undefined;
  const agent = new Agent({
    config,
    paths,
    db,
    provider,
    warn,
    onArchiveChange: (memberId) => renderer?.schedule(memberId),
    onClose: () => renderer?.flushNow(),
  });
  renderer = new ViewRenderer(paths.workspace, agent.archive, warn);
  renderer.flushNow(); // views left stale by a crash between a commit and its rendering
  return agent;
}

/** `provider` with every request's outcome reported to `report` (the provider itself when nobody listens). */
function observed(provider: ChatProvider, report?: (failure: unknown) => void): ChatProvider {
  if (!report) return provider;
  return {
    name: provider.name,
    model: provider.model,
    async complete(request) {
      try {
        const reply = await provider.complete(request);
        report(undefined);
        return reply;
      } catch (error) {
        report(error);
        throw error;
      }
    },
  };
}
