// Tools that are off by default (exec, web_fetch): offered to the model only when the config switches them
// on, so their descriptions are not in every request and the model cannot ask for them otherwise. exec is
// offered only where its sandbox (bubblewrap) is installed and can start.
import type { MedbotConfig } from "../../config/schema.js";
import { execTool } from "./exec.js";
import { execSandboxProblem } from "./sandbox.js";
import type { Tool } from "./tool.js";
import { webFetch } from "./web-fetch.js";

/** The switched-on optional tools, in the order the model sees them (exec only where its sandbox can start). */
export function optionalTools(config: MedbotConfig): Tool[] {
  const { exec: settings } = config.tools;
  const exec = settings.enabled && execSandboxProblem(settings.network) === undefined;
  return [...(exec ? [execTool] : []), ...(config.tools.web.enabled ? [webFetch] : [])];
}

/** Why a switched-on optional tool is not offered (for the gateway's log), or nothing. */
export function optionalToolProblems(config: MedbotConfig): string[] {
  const { exec } = config.tools;
  const problem = exec.enabled ? execSandboxProblem(exec.network) : undefined;
  return problem ? [problem] : [];
}
