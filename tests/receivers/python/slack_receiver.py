"""Slack Events API with slack_sdk: `SignatureVerifier.is_valid_request` checks
X-Slack-Signature (v0=<hex>) and X-Slack-Request-Timestamp (5 minutes) over the
raw body, answering 403 as slack_sdk's docs do otherwise. `url_verification`
is answered with its challenge."""

from flask import make_response, request
from slack_sdk.signature import SignatureVerifier

from common import DEFECT, SECRET, body_field, create_app, handled, parse_body, record_before_verify, reject_unknown, run, signed_body

app = create_app("slack")
signature_verifier = SignatureVerifier(signing_secret=SECRET)


def handle(body):
    event = body.get("event")
    if body.get("type") == "event_callback" and isinstance(event, dict):
        event_type = event.get("type")
    else:
        event_type = body.get("type")
    handled(body.get("event_id"), event_type, body)


@app.post("/webhooks/slack")
def slack_events():
    raw = request.get_data()

    if DEFECT == "handle-before-verify":
        handle(parse_body(raw))

    if record_before_verify(body_field(raw, "event_id")):
        return "", 200
    try:
        valid = signature_verifier.is_valid_request(signed_body(raw), request.headers)
    except ValueError:  # a timestamp that is not an integer, a body that is not UTF-8: raised, not False
        valid = False
    if not valid:
        return make_response("invalid request", 403)
    if DEFECT == "handle-before-verify":
        return "", 200

    body = parse_body(raw)
    # The handshake is answered, not handled: it is no event.
    if body.get("type") == "url_verification":
        return {"challenge": body.get("challenge")}
    reject_unknown(body)
    handle(body)
    return "", 200


if __name__ == "__main__":
    run(app)
