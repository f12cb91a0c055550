// Builds an Agent for one instance: database, provider, tools.
import { useHouseholdUnits } from "../archive/metric-units.js";
import { ViewRenderer } from "../archive/render.js";
import type { LoadedConfig } from "../config/load.js";
import { type Db, openDatabase } from "../storage/db.js";
import { Agent } from "./loop.js";
import { type ChatProvider, createProvider, resolveProvider } from "./provider.js";

/** What an agent is built with besides the instance's config. */
export interface AgentSetup {
  warn?: (message: string) => void;
  /** Hears of every request to the model: the error that failed it, or undefined when it answered. */
  onProviderResult?: (failure: unknown) => void;
  /** The process's one connection to the database (the gateway's); without it the agent opens its own. */
  db?: Db;
  /** Called after each archive commit, with the member it changed (the gateway re-arms its scheduler). */
  onArchiveChange?: (memberId: string) => void;
}

/** Opens the instance's database (unless given one) and model provider and returns an agent over them. */
export function createAgent(loaded: LoadedConfig, setup: AgentSetup = {}): Agent {
  const { config, paths } = loaded;
  const { warn, onProviderResult } = setup;
  const resolved = resolveProvider(config);
  const provider =
    "problem" in resolved
      ? resolved
      : observed(createProvider(resolved, config.agents.defaults), onProviderResult);
  const db = setup.db ?? openDatabase(paths.database, { auditSigningKey: paths.auditSigningKey });
  useHouseholdUnits(db, config.archive.units);
  // The renderer needs the agent's archive; the agent calls it only after a commit, so it exists by then.
  let renderer: ViewRenderer | undefined;
  const agent = new Agent({
    config,
    paths,
    db,
    provider,
    warn,
    onArchiveChange: (memberId) => {
      renderer?.schedule(memberId);
      setup.onArchiveChange?.(memberId);
    },
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
