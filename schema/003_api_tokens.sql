-- API tokens: what the CRM (or any system) presents to push directory
-- changes. Only a SHA-256 of the token is stored; an admin creates and
-- revokes them with "ctigateway token". A revoked token's row stays for
-- the audit trail, and its name may be given to a new token.
CREATE TABLE api_tokens (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    scope      text NOT NULL,
    created    timestamptz NOT NULL DEFAULT now(),
    revoked    timestamptz,
    last_used  timestamptz
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked IS NULL;
