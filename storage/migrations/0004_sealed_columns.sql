-- With JIGSAW_DATA_KEY set, a record's child reference, recorder, decision and
-- status columns hold ciphertext; these keyed hashes find rows by child
-- reference and by recorder without storing either in clear.
ALTER TABLE records ADD COLUMN child_ref_mac text;
ALTER TABLE records ADD COLUMN recorded_by_mac text;
CREATE INDEX records_child ON records (school, child_ref_mac) WHERE child_ref_mac IS NOT NULL;
CREATE INDEX records_by_mac ON records (school, recorded_by_mac, created_at DESC, year DESC,
    seq DESC) WHERE recorded_by_mac IS NOT NULL;
-- Slack tokens are stored encrypted, which is longer than slack_sdk's 200 characters.
ALTER TABLE slack_installations ALTER COLUMN bot_token TYPE text,
    ALTER COLUMN bot_refresh_token TYPE text, ALTER COLUMN user_token TYPE text,
    ALTER COLUMN user_refresh_token TYPE text;
ALTER TABLE slack_bots ALTER COLUMN bot_token TYPE text,
    ALTER COLUMN bot_refresh_token TYPE text;
