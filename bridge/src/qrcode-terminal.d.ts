// qrcode-terminal ships no types; this is the one call the bridge makes.
declare module "qrcode-terminal" {
  /** Renders `text` as a QR code made of terminal characters and hands it to `callback`. */
  export function generate(text: string, options: { small: boolean }, callback: (code: string) => void): void;
  const qrcode: { generate: typeof generate };
  export default qrcode;
}
