// Inbound media waits here, not downloaded, until the gateway has let its sender in and asks for it: a
// stranger's file is never fetched. Bounded by count and age, so media nobody asks for is forgotten.
import * as fs from "node:fs";
import type { WAMessage } from "@whiskeysockets/baileys";
import type { MediaPending } from "../../src/bridge-protocol/protocol.js";
import { type SavedMedia, sanitizeMediaName, saveMedia } from "./media.js";

/** Largest inbound file saved (WhatsApp allows more; a health assistant needs reports and photos). */
export const MAX_MEDIA_BYTES = 25 * 1024 * 1024;
/** How many media messages wait for a download request at most; the oldest go first. */
export const MAX_PENDING_MEDIA = 200;
/** How long a media message waits for a download request. */
export const PENDING_MEDIA_TTL_MS = 60 * 60 * 1000;

/** The file part of a baileys document or image message. */
export interface InboundFile {
  fileName?: string | null;
  mimetype?: string | null;
  fileLength?: number | { toNumber(): number } | null;
}

/** Fetches the bytes of a media message (baileys' downloadMediaMessage in production). */
export type MediaFetcher = (message: WAMessage) => Promise<Uint8Array>;

export interface PendingMediaOptions {
  mediaDir: string;
  maxBytes?: number;
  maxEntries?: number;
  ttlMs?: number;
  /** Milliseconds since the epoch; injectable so a test can age entries. */
  now?: () => number;
}

interface Entry {
  message: WAMessage;
  originalName: string | undefined;
  mimetype: string;
  declaredBytes: number | undefined;
  offeredAt: number;
  // Set once asked for: a repeated request (a gateway that crashed before storing) gets the same file.
  saved?: Promise<SavedMedia>;
}

/** Media messages the bridge announced and may still be asked to download. */
export class PendingMedia {
  private readonly entries = new Map<string, Entry>();
  private readonly maxBytes: number;
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly options: PendingMediaOptions) {
    this.maxBytes = options.maxBytes ?? MAX_MEDIA_BYTES;
    this.maxEntries = options.maxEntries ?? MAX_PENDING_MEDIA;
    this.ttlMs = options.ttlMs ?? PENDING_MEDIA_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /** Remembers a media message for a later download; returns what its message frame announces. */
  offer(message: WAMessage, file: InboundFile, originalName: string | undefined): MediaPending | undefined {
    const messageId = message.key.id;
    if (!messageId) return undefined;
    const mimetype = (file.mimetype ?? "").split(";")[0]!.trim().slice(0, 255) || "application/octet-stream";
    // protobuf hands 64-bit lengths over as Long objects.
    const raw = file.fileLength;
    const length = typeof raw === "object" && raw !== null ? raw.toNumber() : Number(raw ?? Number.NaN);
    const declaredBytes = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
    this.prune();
    this.entries.delete(messageId);
    this.entries.set(messageId, { message, originalName, mimetype, declaredBytes, offeredAt: this.now() });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
    return {
      filename: sanitizeMediaName(originalName, mimetype),
      mimetype,
      ...(declaredBytes !== undefined ? { size: declaredBytes } : {}),
    };
  }

  /** How many media messages are waiting (expired ones not counted). */
  size(): number {
    this.prune();
    return this.entries.size;
  }

  /** Downloads a waiting message's media into the media folder; rejects naming why (unknown, too big). */
  download(messageId: string, fetch: MediaFetcher): Promise<SavedMedia> {
    this.prune();
    const entry = this.entries.get(messageId);
    if (!entry) {
      return Promise.reject(
        new Error(`no media waiting for message ${messageId} (unknown, or forgotten after an hour)`),
      );
    }
    const earlier = entry.saved;
    if (!earlier) return this.fetchInto(entry, fetch);
    return earlier.then(
      (saved) => (fs.existsSync(saved.path) ? saved : this.fetchInto(entry, fetch)),
      () => this.fetchInto(entry, fetch),
    );
  }

  private fetchInto(entry: Entry, fetch: MediaFetcher): Promise<SavedMedia> {
    const saved = (async () => {
      this.refuseIfTooBig(entry.declaredBytes);
      const data = await fetch(entry.message);
      this.refuseIfTooBig(data.byteLength);
      return saveMedia(this.options.mediaDir, entry.originalName, entry.mimetype, data);
    })();
    entry.saved = saved;
    return saved;
  }

  private refuseIfTooBig(bytes: number | undefined): void {
    if (bytes !== undefined && bytes > this.maxBytes) {
      throw new Error(`the file is ${bytes} bytes, larger than the ${this.maxBytes}-byte limit`);
    }
  }

  private prune(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [id, entry] of this.entries) {
      // Insertion order is offer order, so the first young entry ends the expired run.
      if (entry.offeredAt > cutoff) break;
      this.entries.delete(id);
    }
  }
}
