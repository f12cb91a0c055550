// Inbound media lands in one private folder under a name we make: a sender chooses the file name, so it is
// cut down to a plain, short, unique name that cannot leave the folder whatever bytes it held.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writePrivateFile } from "../../src/storage/private-fs.js";

/** Longest sanitised name in UTF-8 bytes: with the unique prefix and a temp suffix it stays under 255. */
export const MAX_MEDIA_NAME_BYTES = 120;

const EXTENSIONS: Record<string, string> = {
  "application/pdf": ".pdf",
  "image/jpeg": ".jpg",
  "image/png": ".png",
  "image/webp": ".webp",
  "image/gif": ".gif",
  "image/heic": ".heic",
  "text/plain": ".txt",
};

/** A sender's file name made safe: no separators, no "..", no control or bidi characters, capped length. */
export function sanitizeMediaName(name: string | null | undefined, mimetype: string): string {
  let clean = (name ?? "")
    .normalize("NFC")
    // Control, format (bidi overrides that disguise an extension) and separator characters.
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, "")
    .replace(/[/\\:*?"<>|]/g, "_")
    .replace(/\.{2,}/g, ".")
    .replace(/\s+/g, " ")
    // A leading dot would hide the file; trailing dots and spaces confuse some systems.
    .replace(/^[.\s_-]+|[.\s]+$/g, "");
  if (!clean) clean = "file";
  let ext = path.extname(clean);
  if (!ext && EXTENSIONS[mimetype]) {
    ext = EXTENSIONS[mimetype];
    clean += ext;
  }
  if (Buffer.byteLength(clean) > MAX_MEDIA_NAME_BYTES) {
    const keep = Buffer.byteLength(ext) <= 16 ? ext : "";
    let stem = "";
    // Cut by whole code points, so a name never ends in half a character.
    for (const char of clean.slice(0, clean.length - keep.length)) {
      if (Buffer.byteLength(stem + char) + Buffer.byteLength(keep) > MAX_MEDIA_NAME_BYTES) break;
      stem += char;
    }
    clean = stem.replace(/[.\s]+$/g, "") + keep;
    if (!stem.trim() || clean.startsWith(".")) clean = `file${keep}`;
  }
  return clean;
}

/** A saved media file: where it is and the name to show. */
export interface SavedMedia {
  path: string;
  filename: string;
  mimetype: string;
}

/** Stores `data` in `mediaDir` (0700) as a new 0600 file with a unique, sanitised name. */
export function saveMedia(
  mediaDir: string,
  originalName: string | null | undefined,
  mimetype: string,
  data: Uint8Array,
): SavedMedia {
  const folder = path.resolve(mediaDir);
  const filename = sanitizeMediaName(originalName, mimetype);
  for (let attempt = 0; attempt < 5; attempt++) {
    const target = path.join(folder, `${Date.now()}-${randomBytes(4).toString("hex")}-${filename}`);
    // Belt and braces: the name was cleaned above, and the result must still sit directly in the folder.
    if (path.dirname(target) !== folder)
      throw new Error(`media name ${JSON.stringify(filename)} leaves the folder`);
    if (fs.existsSync(target)) continue;
    writePrivateFile(target, data);
    return { path: target, filename, mimetype };
  }
  throw new Error(`could not find a free media file name in ${folder}`);
}
