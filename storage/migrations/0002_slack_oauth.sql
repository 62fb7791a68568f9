-- Slack installed per school through OAuth: slack_sdk's SQLAlchemy installation
-- and state store tables (as slack_sdk 3.x defines them), and each school's workspace.

CREATE TABLE slack_installations (
	id SERIAL NOT NULL, 
	client_id VARCHAR(32) NOT NULL, 
	app_id VARCHAR(32) NOT NULL, 
	enterprise_id VARCHAR(32), 
	enterprise_name VARCHAR(200), 
	enterprise_url VARCHAR(200), 
	team_id VARCHAR(32), 
	team_name VARCHAR(200), 
	bot_token VARCHAR(200), 
	bot_id VARCHAR(32), 
	bot_user_id VARCHAR(32), 
	bot_scopes VARCHAR(1000), 
	bot_refresh_token VARCHAR(200), 
	bot_token_expires_at TIMESTAMP WITHOUT TIME ZONE, 
	user_id VARCHAR(32) NOT NULL, 
	user_token VARCHAR(200), 
	user_scopes VARCHAR(1000), 
	user_refresh_token VARCHAR(200), 
	user_token_expires_at TIMESTAMP WITHOUT TIME ZONE, 
	incoming_webhook_url VARCHAR(200), 
	incoming_webhook_channel VARCHAR(200), 
	incoming_webhook_channel_id VARCHAR(200), 
	incoming_webhook_configuration_url VARCHAR(200), 
	is_enterprise_install BOOLEAN NOT NULL, 
	token_type VARCHAR(32), 
	installed_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX slack_installations_idx ON slack_installations (client_id, enterprise_id, team_id, user_id, installed_at);

CREATE TABLE slack_bots (
	id SERIAL NOT NULL, 
	client_id VARCHAR(32) NOT NULL, 
	app_id VARCHAR(32) NOT NULL, 
	enterprise_id VARCHAR(32), 
	enterprise_name VARCHAR(200), 
	team_id VARCHAR(32), 
	team_name VARCHAR(200), 
	bot_token VARCHAR(200), 
	bot_id VARCHAR(32), 
	bot_user_id VARCHAR(32), 
	bot_scopes VARCHAR(1000), 
	bot_refresh_token VARCHAR(200), 
	bot_token_expires_at TIMESTAMP WITHOUT TIME ZONE, 
	is_enterprise_install BOOLEAN NOT NULL, 
	installed_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX slack_bots_idx ON slack_bots (client_id, enterprise_id, team_id, installed_at);

CREATE TABLE slack_oauth_states (
	id SERIAL NOT NULL, 
	state VARCHAR(200) NOT NULL, 
	expire_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

-- Which school a workspace (team) or Enterprise Grid organisation belongs to:
-- requests are routed to the school by these ids, never by anything a user types.
ALTER TABLE schools ADD COLUMN slack_team_id text UNIQUE;
ALTER TABLE schools ADD COLUMN slack_enterprise_id text;
CREATE INDEX schools_enterprise ON schools (slack_enterprise_id);
