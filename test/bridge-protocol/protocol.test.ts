// The bridge protocol: every frame of wa-protocol.md parses, and anything else is refused with a reason
// that names the field but never echoes the (possibly health) text.
import { describe, expect, it } from "vitest";
import {
  encodeFrame,
  MAX_FRAME_BYTES,
  type MessageFrame,
  ProtocolError,
  parseBridgeFrame,
  parseFrame,
  parseGatewayFrame,
} from "../../src/bridge-protocol/protocol.js";

const MESSAGE: MessageFrame = {
  type: "message",
  messageId: "3EB0ABC",
  chatJid: "120363025@g.us",
  senderJid: "4915123456789@s.whatsapp.net",
  senderNumber: "4915123456789",
  text: "blood pressure 140/90",
  isGroup: true,
  mentioned: false,
  pushName: "Anna",
  timestamp: 1_700_000_000,
  mediaPending: { filename: "report.pdf", mimetype: "application/pdf", size: 48_213 },
};
const SAVED = {
  path: "/home/anna/.medbot/workspace/media/whatsapp/1-ab-report.pdf",
  filename: "report.pdf",
  mimetype: "application/pdf",
};

describe("bridge protocol frames", () => {
  it("parses every gateway -> bridge frame", () => {
    expect(parseGatewayFrame('{"type":"auth","token":"s3cret"}')).toEqual({ type: "auth", token: "s3cret" });
    expect(parseGatewayFrame('{"type":"send","id":"r1","to":"49151@s.whatsapp.net","text":"hi"}')).toEqual({
      type: "send",
      id: "r1",
      to: "49151@s.whatsapp.net",
      text: "hi",
    });
    const doc = {
      type: "send",
      id: "r2",
      to: "49151@s.whatsapp.net",
      text: "",
      document: { path: "/tmp/x.pdf", filename: "x.pdf", mimetype: "application/pdf" },
    };
    expect(parseGatewayFrame(JSON.stringify(doc))).toEqual(doc);
    expect(parseGatewayFrame(Buffer.from('{"type":"ack","messageId":"m1"}'))).toEqual({
      type: "ack",
      messageId: "m1",
    });
    expect(parseGatewayFrame('{"type":"download","id":"r3","messageId":"3EB0ABC"}')).toEqual({
      type: "download",
      id: "r3",
      messageId: "3EB0ABC",
    });
  });

  it("parses every bridge -> gateway frame and round-trips them through encodeFrame", () => {
    const frames = [
      { type: "ready", state: "open" },
      { type: "status", state: "qr", qr: "2@abc,def" },
      { type: "status", state: "logged_out", detail: "run `medbot channels login whatsapp`" },
      MESSAGE,
      { ...MESSAGE, senderNumber: null, mediaPending: undefined },
      { ...MESSAGE, mediaPending: { filename: "photo.jpg", mimetype: "image/jpeg" } },
      { type: "result", id: "r1", ok: true },
      { type: "result", id: "r3", ok: true, media: SAVED },
      { type: "result", id: "r2", ok: false, error: "WhatsApp is not connected" },
    ];
    for (const frame of frames) {
      const clean = JSON.parse(JSON.stringify(frame));
      expect(parseBridgeFrame(encodeFrame(clean))).toEqual(clean);
      expect(parseFrame(encodeFrame(clean))).toEqual(clean);
    }
  });

  it("keeps the directions apart", () => {
    expect(() => parseGatewayFrame(encodeFrame(MESSAGE))).toThrow(ProtocolError);
    expect(() => parseBridgeFrame('{"type":"auth","token":"x"}')).toThrow(ProtocolError);
    expect(() => parseBridgeFrame('{"type":"download","id":"r","messageId":"m"}')).toThrow(ProtocolError);
  });

  it.each([
    ["not JSON", "{type:auth", /not JSON/],
    ["an unknown type", '{"type":"exec","cmd":"rm"}', /bad frame: type exec/],
    ["an unknown key", '{"type":"ack","messageId":"m1","extra":1}', /bad frame/],
    ["an empty token", '{"type":"auth","token":""}', /token/],
    [
      "a relative document path",
      '{"type":"send","id":"r","to":"1@s.whatsapp.net","text":"","document":{"path":"x.pdf","filename":"x.pdf","mimetype":"application/pdf"}}',
      /document\.path: must be an absolute path/,
    ],
    ["a failed result without error", '{"type":"result","id":"r","ok":false}', /bad frame/],
    ["a download without a message id", '{"type":"download","id":"r"}', /messageId/],
    [
      "a message carrying a saved media path (media is downloaded only on request)",
      JSON.stringify({ ...MESSAGE, media: SAVED }),
      /bad frame: type message/,
    ],
    [
      "pending media with a path",
      JSON.stringify({ ...MESSAGE, mediaPending: { ...MESSAGE.mediaPending, path: SAVED.path } }),
      /mediaPending/,
    ],
    [
      "pending media with a negative size",
      JSON.stringify({
        ...MESSAGE,
        mediaPending: { filename: "a.pdf", mimetype: "application/pdf", size: -1 },
      }),
      /mediaPending\.size/,
    ],
    [
      "a download result with a relative path",
      JSON.stringify({ type: "result", id: "r", ok: true, media: { ...SAVED, path: "media/x.pdf" } }),
      /media\.path: must be an absolute path/,
    ],
    ["a bad state", '{"type":"status","state":"sleeping"}', /state/],
    [
      "a sender number with a plus",
      JSON.stringify({ ...MESSAGE, senderNumber: "+4915123456789" }),
      /senderNumber/,
    ],
  ])("refuses %s", (_what, raw, reason) => {
    expect(() => parseFrame(raw)).toThrow(reason);
  });

  it("never repeats the message text in an error", () => {
    const bad = JSON.stringify({ ...MESSAGE, timestamp: "yesterday" });
    expect(() => parseFrame(bad)).toThrow(/timestamp/);
    try {
      parseFrame(bad);
    } catch (error) {
      expect((error as Error).message).not.toContain("140/90");
    }
  });

  it("refuses a frame over the size limit", () => {
    const huge = JSON.stringify({ ...MESSAGE, text: "x".repeat(MAX_FRAME_BYTES) });
    expect(() => parseFrame(huge)).toThrow(/larger than/);
  });
});
