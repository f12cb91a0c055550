// Which IP addresses web_fetch may connect to: only globally routable unicast. Everything a request forged
// by a hostile page or prompt could use to reach this machine, the home network or a cloud metadata
// service is refused, including the same addresses hidden inside IPv4-mapped, NAT64 and 6to4 IPv6 forms.
import { isIPv4, isIPv6 } from "node:net";

/** Why an address may or may not be contacted; only "public" may. */
export type AddressKind =
  | "public"
  | "private"
  | "loopback"
  | "link-local"
  | "cgnat"
  | "unique-local"
  | "unspecified"
  | "multicast"
  | "broadcast"
  | "metadata"
  | "documentation"
  | "reserved"
  | "invalid";

interface Range4 {
  base: number;
  bits: number;
  kind: AddressKind;
}

/** Most specific first: the metadata address sits inside link-local, broadcast inside reserved. */
const IPV4_RANGES: Range4[] = [
  ["169.254.169.254", 32, "metadata"],
  ["255.255.255.255", 32, "broadcast"],
  ["0.0.0.0", 8, "unspecified"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "cgnat"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "reserved"],
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "reserved"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "reserved"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
].map(([address, bits, kind]) => ({
  base: ipv4Number(address as string),
  bits: bits as number,
  kind: kind as AddressKind,
}));

/** Classifies an IPv4 or IPv6 address (an IPv6 zone like `%eth0` is ignored). */
export function classifyAddress(address: string): AddressKind {
  const bare = address.replace(/%.*$/, "");
  if (isIPv4(bare)) return classifyIPv4(ipv4Number(bare));
  if (isIPv6(bare)) return classifyIPv6(ipv6Groups(bare));
  return "invalid";
}

/** True only for globally routable unicast addresses. */
export function isPublicAddress(address: string): boolean {
  return classifyAddress(address) === "public";
}

function classifyIPv4(value: number): AddressKind {
  for (const range of IPV4_RANGES) {
    const mask = range.bits === 0 ? 0 : (~0 << (32 - range.bits)) >>> 0;
    if ((value & mask) >>> 0 === range.base) return range.kind;
  }
  return "public";
}

function classifyIPv6(g: number[]): AddressKind {
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  const embedded = (hi: number, lo: number) => classifyIPv4(((hi << 16) | lo) >>> 0);
  if (zeroUpTo(8)) return "unspecified";
  if (zeroUpTo(7) && g[7] === 1) return "loopback";
  // ::ffff:a.b.c.d reaches a.b.c.d over an IPv4 socket; ::a.b.c.d is the deprecated compatible form.
  if (zeroUpTo(5) && g[5] === 0xffff) return embedded(g[6]!, g[7]!);
  if (zeroUpTo(6)) return embedded(g[6]!, g[7]!);
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address a gateway will connect to.
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return embedded(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return "private";
  if (g[0] === 0x2002) return embedded(g[1]!, g[2]!);
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && g.slice(2, 7).every((x) => x === 0) && g[7] === 0x254)
    return "metadata";
  if ((g[0]! & 0xfe00) === 0xfc00) return "unique-local";
  if ((g[0]! & 0xffc0) === 0xfe80) return "link-local";
  if ((g[0]! & 0xffc0) === 0xfec0) return "private";
  if ((g[0]! & 0xff00) === 0xff00) return "multicast";
  if (g[0] === 0x2001 && g[1] === 0x0db8) return "documentation";
  // 2001::/23 holds protocol assignments (Teredo among them), not hosts to fetch pages from.
  if (g[0] === 0x2001 && g[1]! < 0x0200) return "reserved";
  // Only 2000::/3 is global unicast; everything else (discard 100::/64 among it) is not a web server.
  if ((g[0]! & 0xe000) !== 0x2000) return "reserved";
  return "public";
}

function ipv4Number(address: string): number {
  return address.split(".").reduce((value, part) => ((value << 8) | Number(part)) >>> 0, 0);
}

/** The eight 16-bit groups of a valid IPv6 address (checked by isIPv6), with `::` and a dotted tail expanded. */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4Number(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const parse = (part: string | undefined) =>
    part ? part.split(":").map((x) => Number.parseInt(x, 16)) : [];
  const front = parse(head);
  const back = parse(tail);
  const missing = 8 - front.length - back.length;
  return tail === undefined ? front : [...front, ...new Array<number>(missing).fill(0), ...back];
}
