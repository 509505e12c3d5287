// Shopify webhooks with @shopify/shopify-api: `shopify.webhooks.validate`
// checks X-Shopify-Hmac-Sha256 over the raw body (and that the X-Shopify-Topic,
// -Shop-Domain, -API-Version and -Webhook-Id headers are there), answering
// 400 as the library's docs do when it is not valid.
import "@shopify/shopify-api/adapters/node";
import { ApiVersion, LogSeverity, shopifyApi } from "@shopify/shopify-api";
import { DEFECT, SECRET, handled, parseBody, recordBeforeVerify, rejectUnknown, serve, signedText } from "./common.mjs";

const shopify = shopifyApi({
  apiKey: "hookforge-receiver",
  apiSecretKey: SECRET,
  apiVersion: ApiVersion.July25,
  hostName: "127.0.0.1",
  isEmbeddedApp: false,
  logger: { level: LogSeverity.Error },
});

// validate() reports the topic as `ORDERS_CREATE`; the type reported is the
// header as sent (`orders/create`).
async function handle(req, webhookId, payload) {
  await handled(webhookId, req.headers["x-shopify-topic"], payload);
}

serve("shopify", async (req, res, raw) => {
  // The library takes the raw body as a string (the docs: express.text({type: '*/*'})).
  const body = raw.toString("utf8");
  const validate = () => shopify.webhooks.validate({ rawBody: signedText(body), rawRequest: req, rawResponse: res });

  if (DEFECT === "handle-before-verify") {
    await handle(req, req.headers["x-shopify-webhook-id"], parseBody(body));
    const { valid, reason } = await validate();
    return valid ? [200, "ok"] : [400, `invalid webhook: ${reason}`];
  }
  if (recordBeforeVerify(req.headers["x-shopify-webhook-id"])) return [200, "ok"];
  const check = await validate();
  if (!check.valid) return [400, `invalid webhook: ${check.reason}`];
  const payload = parseBody(body);
  rejectUnknown(payload);
  await handle(req, check.webhookId, payload);
  return [200, "ok"];
});
