// Tools that are off by default (exec, web_fetch): offered to the model only when the config switches them
// on, so their descriptions are not in every request and the model cannot ask for them otherwise.
import type { MedbotConfig } from "../../config/schema.js";
import { execTool } from "./exec.js";
import type { Tool } from "./tool.js";
import { webFetch } from "./web-fetch.js";

/** The switched-on optional tools, in the order the model sees them. */
export function optionalTools(config: MedbotConfig): Tool[] {
  return [...(config.tools.exec.enabled ? [execTool] : []), ...(config.tools.web.enabled ? [webFetch] : [])];
}
