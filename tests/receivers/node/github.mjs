// GitHub webhooks with @octokit/webhooks: `webhooks.verify` checks
// X-Hub-Signature-256 over the raw body, then `webhooks.receive` dispatches the
// event to the handlers (`onAny`: every event, known to octokit or not).
//
// Not `createNodeMiddleware`: it JSON.parse()s the body itself, which rounds
// integers above 2^53; its answers are kept (400 for missing headers, a bad
// signature or a body that is not JSON).
import { Webhooks } from "@octokit/webhooks";
import { DEFECT, SECRET, handled, parseBody, recordBeforeVerify, rejectUnknown, serve, signedText } from "./common.mjs";

const webhooks = new Webhooks({ secret: SECRET });

webhooks.onAny(async ({ id, name, payload }) => {
  // octokit emits both `issues` and `issues.opened`; the type reported is the latter.
  const type = typeof payload.action === "string" ? `${name}.${payload.action}` : name;
  await handled(id, type, payload);
});

serve("github", async (req, res, raw) => {
  const name = req.headers["x-github-event"];
  const id = req.headers["x-github-delivery"];
  const signature = req.headers["x-hub-signature-256"];
  if (!name || !id) return [400, "Required headers missing: x-github-event, x-github-delivery"];
  const body = raw.toString("utf8");
  // verify() throws (rather than answering false) on a missing signature or an empty body.
  const verified = async () => webhooks.verify(signedText(body), signature).catch(() => false);

  if (DEFECT === "handle-before-verify") {
    await webhooks.receive({ id, name, payload: parseBody(body) });
    return (await verified()) ? [200, "ok"] : [400, "signature does not match event payload and secret"];
  }
  if (recordBeforeVerify(id)) return [200, "ok"];
  if (!(await verified())) return [400, "signature does not match event payload and secret"];
  const payload = parseBody(body);
  rejectUnknown(payload);
  await webhooks.receive({ id, name, payload });
  return [200, "ok"];
});
