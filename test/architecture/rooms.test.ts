// The direction of imports is the architecture (docs/ARCHITECTURE.md): each room (a folder of src/, or the
// WhatsApp bridge) may import only rooms in a lower layer, and the few imports that still run back up are
// listed below with why. This test reads every import of src/ and bridge/src/ with TypeScript's own parser
// and fails on an import the table does not allow, on a file in no room, and on an exception no longer used.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Rooms from the bottom up: a room may import any room of an earlier layer, never one of its own or a later layer. */
const LAYERS: readonly (readonly string[])[] = [
  ["time", "package-root", "measures"],
  ["storage"],
  ["log", "security", "bridge-protocol", "audit"],
  ["config"],
  ["access"],
  ["archive", "channels"],
  ["delivery", "schedules"],
  ["sharing"],
  ["agent"],
  ["scheduler"],
  ["gateway", "setup", "doctor"],
  ["cli"],
];

/** The WhatsApp bridge is its own process beside the gateway: it may import only these rooms of src/. */
const BRIDGE_MAY_IMPORT: readonly string[] = ["bridge-protocol", "log", "storage", "config"];

/** Imports that run against the layers, each with why (docs/ARCHITECTURE.md, "Exceptions"); keep it short. */
const EXCEPTIONS: readonly { from: string; to: string; why: string }[] = [
  {
    from: "src/storage/db.ts",
    to: "src/audit/audit-head.ts",
    why:
      "every writer opens medbot.db with openDatabase, which hands the audit head its signing key and writes a " +
      "first head, so no process writes the archive without them; audit/ writes through storage, so it cannot sit below it",
  },
];

interface Edge {
  from: string;
  to: string;
}

/** The room of a file (relative to the repository): src/<folder>/…, src/<file>.ts, or bridge/src/…. */
function roomOf(file: string): string | undefined {
  const parts = file.split("/");
  if (parts[0] === "bridge" && parts[1] === "src") return "bridge";
  if (parts[0] !== "src") return undefined;
  if (parts.length === 2) return parts[1]!.replace(/\.ts$/, "");
  return parts[1];
}

function layerOf(room: string): number {
  return LAYERS.findIndex((layer) => layer.includes(room));
}

/** Why `edge` breaks the rules, or undefined when the table allows it. */
function violation(edge: Edge): string | undefined {
  const from = roomOf(edge.from);
  const to = roomOf(edge.to);
  if (from === undefined || to === undefined) return undefined;
  if (from === to) return undefined;
  if (EXCEPTIONS.some((exception) => exception.from === edge.from && exception.to === edge.to))
    return undefined;
  if (from === "bridge") {
    return BRIDGE_MAY_IMPORT.includes(to)
      ? undefined
      : `the bridge may import only ${BRIDGE_MAY_IMPORT.join(", ")}`;
  }
  if (to === "bridge") return "src/ never imports bridge/src/ (shared code lives in src/bridge-protocol/)";
  const fromLayer = layerOf(from);
  const toLayer = layerOf(to);
  if (fromLayer < 0) return `room "${from}" is not in the rooms table`;
  if (toLayer < 0) return `room "${to}" is not in the rooms table`;
  if (toLayer === fromLayer) return `"${from}" and "${to}" share a layer and may not import each other`;
  if (toLayer > fromLayer) return `"${from}" is below "${to}" and may not import it`;
  return undefined;
}

function sourceFiles(folder: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, folder), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"))
    .sort();
}

/** Every relative import (static, dynamic and type-only) of src/ and bridge/src/, resolved to a file. */
function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of [...sourceFiles("src"), ...sourceFiles("bridge/src")]) {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
      if (!imported.fileName.startsWith(".")) continue;
      const target = path.posix.join(path.posix.dirname(file), imported.fileName).replace(/\.js$/, ".ts");
      edges.push({ from: file, to: target });
    }
  }
  return edges;
}

describe("rooms and the direction of imports", () => {
  const edges = importEdges();

  it("reads the imports it judges", () => {
    expect(edges.length).toBeGreaterThan(500);
    expect(edges).toContainEqual({ from: "src/gateway/gateway.ts", to: "src/delivery/queue.ts" });
  });

  it("puts every source file in a room of the table", () => {
    const homeless = sourceFiles("src").filter((file) => layerOf(roomOf(file) as string) < 0);
    expect(homeless).toEqual([]);
  });

  it("has no import that runs back up", () => {
    const broken = edges.flatMap((edge) => {
      const why = violation(edge);
      return why === undefined ? [] : [`${edge.from} -> ${edge.to}: ${why}`];
    });
    expect(broken).toEqual([]);
  });

  it("lists no exception that is no longer needed", () => {
    const unused = EXCEPTIONS.filter(
      (exception) => !edges.some((edge) => edge.from === exception.from && edge.to === exception.to),
    );
    expect(unused).toEqual([]);
  });

  it("names a back-import with the rule it breaks", () => {
    expect(violation({ from: "src/storage/db.ts", to: "src/cli/main.ts" })).toBe(
      '"storage" is below "cli" and may not import it',
    );
    expect(violation({ from: "src/channels/whatsapp.ts", to: "bridge/src/server.ts" })).toMatch(
      /never imports/,
    );
    expect(violation({ from: "bridge/src/main.ts", to: "src/agent/loop.ts" })).toMatch(
      /bridge may import only/,
    );
  });
});
