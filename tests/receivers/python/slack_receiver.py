"""Slack Events API with slack_sdk: `SignatureVerifier.is_valid_request` checks
X-Slack-Signature (v0=<hex>) and X-Slack-Request-Timestamp (5 minutes) over the
raw body, answering 403 as slack_sdk's docs do otherwise. `url_verification`
is answered with its challenge."""

from flask import make_response, request
from slack_sdk.signature import SignatureVerifier

from common import SECRET, create_app, field, receive, run, verifier

app = create_app("slack")
signature_verifier = SignatureVerifier(signing_secret=SECRET)


# ValueError: a timestamp that is not an integer, a body that is not UTF-8: raised, not False.
@verifier(ValueError)
def verified(body):
    return signature_verifier.is_valid_request(body, request.headers)


def event_type(body):
    event = body.get("event")
    if body.get("type") == "event_callback" and isinstance(event, dict):
        return event.get("type")
    return body.get("type")


def handshake(body):
    """The handshake is answered, not handled: it is no event."""
    if body.get("type") == "url_verification":
        return {"challenge": body.get("challenge")}
    return None


@app.post("/webhooks/slack")
def slack_events():
    return receive(verified, make_response("invalid request", 403), field("event_id"), event_type, handshake=handshake)


if __name__ == "__main__":
    run(app)
