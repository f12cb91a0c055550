// A small DDInter on 127.0.0.1: the two endpoints medbot's client uses, with the response shapes of the
// public site (see src/archive/drug-interactions.ts), every request recorded, and faults on demand.
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeDrug {
  id: string;
  name: string;
}

export interface FakeInteraction {
  a: string;
  b: string;
  level: string;
  actions?: string[];
}

/** A fault for one request: an HTTP status, a reply that is not JSON, a connection cut, or no answer at all. */
export type FakeFault = { status: number } | { notJson: true } | { hangUp: true } | { stall: true };

/** A few drugs (ids in DDInter's format) and interactions that DDInter lists. */
export const SAMPLE_DRUGS: FakeDrug[] = [
  { id: "DDInter1951", name: "Warfarin" },
  { id: "DDInter20", name: "Aspirin" },
  { id: "DDInter1145", name: "Metformin" },
  { id: "DDInter933", name: "Ibuprofen" },
  { id: "DDInter1646", name: "Simvastatin" },
  { id: "DDInter392", name: "Clarithromycin" },
];

export const SAMPLE_INTERACTIONS: FakeInteraction[] = [
  { a: "Warfarin", b: "Aspirin", level: "Major", actions: ["Synergy"] },
  { a: "Warfarin", b: "Ibuprofen", level: "Major", actions: ["Synergy"] },
  { a: "Simvastatin", b: "Clarithromycin", level: "Major", actions: ["Metabolism"] },
  { a: "Aspirin", b: "Ibuprofen", level: "Moderate", actions: ["Antagonism"] },
];

export class FakeDdinter {
  /** Paths requested, in order (decoded), e.g. "/check-datasource/warfarin/". */
  readonly requests: string[] = [];
  readonly headers: http.IncomingHttpHeaders[] = [];
  private readonly faults: FakeFault[] = [];

  /** The base URL to configure: http://127.0.0.1:PORT (still this address once closed, to test "offline"). */
  readonly url: string;

  private constructor(
    private readonly server: http.Server,
    private readonly drugs: FakeDrug[],
    private readonly interactions: FakeInteraction[],
  ) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Starts the fake on a free loopback port. */
  static async start(
    drugs: FakeDrug[] = SAMPLE_DRUGS,
    interactions: FakeInteraction[] = SAMPLE_INTERACTIONS,
  ): Promise<FakeDdinter> {
    let fake: FakeDdinter | undefined;
    const server = http.createServer((req, res) => fake?.serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    fake = new FakeDdinter(server, drugs, interactions);
    return fake;
  }

  /** The next requests fail this way, one fault per request. */
  fail(...faults: FakeFault[]): this {
    this.faults.push(...faults);
    return this;
  }

  /** Stops listening (DDInter goes offline); safe to call twice. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://fake").pathname);
    this.requests.push(path);
    this.headers.push(req.headers);
    const fault = this.faults.shift();
    if (fault && "stall" in fault) return;
    if (fault && "hangUp" in fault) {
      res.socket?.destroy();
      return;
    }
    if (fault && "status" in fault) {
      res.writeHead(fault.status, { "content-type": "text/html" }).end("<h1>Server Error</h1>");
      return;
    }
    if (fault) {
      res.writeHead(200, { "content-type": "text/html" }).end("<html>maintenance</html>");
      return;
    }
    const search = /^\/check-datasource\/(.+)\/$/.exec(path);
    const graph = /^\/ddinter\/grapher-datasource\/(DDInter\d+)\/$/.exec(path);
    const drug = graph && this.drugs.find((d) => d.id === graph[1]);
    if (search) json(res, { data: this.search(search[1]!) });
    else if (drug) json(res, { info: { id: drug.id, Name: drug.name }, interactions: this.partners(drug) });
    else res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>");
  }

  /** Like the site's autocomplete: every drug whose name contains the query, case-insensitively. */
  private search(query: string): { name: string; internalID: string }[] {
    const q = query.toLowerCase();
    return this.drugs
      .filter((d) => d.name.toLowerCase().includes(q))
      .map((d) => ({ name: d.name, internalID: d.id }));
  }

  private partners(drug: FakeDrug) {
    return this.interactions.flatMap((i) => {
      const other = i.a === drug.name ? i.b : i.b === drug.name ? i.a : undefined;
      const partner = this.drugs.find((d) => d.name === other);
      return partner
        ? [{ id: partner.id, name: partner.name, level: [i.level], actions: i.actions ?? [] }]
        : [];
    });
  }
}

function json(res: http.ServerResponse, body: unknown): void {
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
}
