// The tool contract: a zod schema for arguments, a run function; errors come back as results, never throws.
import { z } from "zod";
import type { Actor } from "../../access/actor.js";
import type { FamilyArchive } from "../../archive/archive.js";
import type { MedbotConfig } from "../../config/schema.js";
import type { TurnOrigin } from "../context.js";
import type { ToolCall, ToolDefinition } from "../provider.js";

/** What a tool may know about the turn it runs in. */
export interface ToolContext {
  workspace: string;
  restrictToWorkspace: boolean;
  /** Built-in skills folder: readable, never writable. */
  builtinSkills: string;
  sessionKey: string;
  /** The chat this turn answers (scheduled jobs belong to it); absent in some tests. */
  origin?: TurnOrigin;
  /** The person this turn acts for; archive tools only reach the members they are granted. */
  actor: Actor;
  archive: FamilyArchive;
  /** The loaded config, for tools with settings of their own (absent in some tests: defaults apply). */
  config?: MedbotConfig;
  signal?: AbortSignal;
  /** Adds medbot's own text below the model's reply (a draft to confirm), never shown to the model first. */
  tellPerson?: (text: string) => void;
}

export interface Tool<S extends z.ZodType = z.ZodType> {
  name: string;
  /** One or two sentences: the model reads this on every request. */
  description: string;
  parameters: S;
  run(args: z.infer<S>, context: ToolContext): Promise<string> | string;
}

/** Declares a tool with its argument types inferred from the schema. */
export function defineTool<S extends z.ZodType>(tool: Tool<S>): Tool {
  return tool as unknown as Tool;
}

/** A tool refusing or failing in a way the model should read and act on. */
export class ToolError extends Error {}

/** Tool definitions in the OpenAI format, as compact as JSON Schema allows. */
export function toolDefinitions(tools: readonly Tool[]): ToolDefinition[] {
  return tools.map((tool) => {
    const { $schema: _ignored, ...parameters } = z.toJSONSchema(tool.parameters, { io: "input" }) as Record<
      string,
      unknown
    >;
    return { type: "function", function: { name: tool.name, description: tool.description, parameters } };
  });
}

/** Runs one call: unknown tool, bad JSON, invalid arguments and thrown errors all become "Error: ..." text. */
export async function runToolCall(
  tools: readonly Tool[],
  call: ToolCall,
  context: ToolContext,
): Promise<string> {
  const tool = tools.find((t) => t.name === call.name);
  if (!tool)
    return `Error: there is no tool named "${call.name}". Available: ${tools.map((t) => t.name).join(", ")}.`;
  let args: unknown;
  try {
    args = call.arguments.trim() === "" ? {} : JSON.parse(call.arguments);
  } catch (error) {
    return `Error: the arguments for ${tool.name} are not valid JSON (${(error as Error).message}).`;
  }
  const parsed = tool.parameters.safeParse(args);
  if (!parsed.success) {
    return `Error: invalid arguments for ${tool.name}:\n${z.prettifyError(parsed.error)}`;
  }
  try {
    return await tool.run(parsed.data, context);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `Error: ${tool.name} failed: ${message}`;
  }
}
