// Shell text for exec tests: a path the command only computes at run time, as a misled model would write it.

/** `target` decoded from base64 when the command runs, so no check of the command's text can see it. */
export function hidden(target: string): string {
  return `"$(echo ${Buffer.from(target).toString("base64")} | base64 -d)"`;
}
