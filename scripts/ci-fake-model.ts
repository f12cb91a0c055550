// CI's stand-in model for the installed-tarball check (scripts/ci-tarball.sh): the tests' fake
// OpenAI-compatible server on 127.0.0.1, answering every chat request with "echo: <the user's text>".
// Usage: tsx scripts/ci-fake-model.ts; prints its base URL (http://127.0.0.1:PORT/v1) on one line and
// serves until it gets SIGTERM or SIGINT.
import { FakeOpenAI } from "../test/support/fake-openai.js";

const fake = await FakeOpenAI.start();
process.stdout.write(`${fake.url}\n`);
const stop = () => {
  process.stderr.write(`ci-fake-model: ${fake.chatRequests.length} chat request(s) answered\n`);
  void fake.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
