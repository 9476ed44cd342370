"""Ambassador: pure programme rules (no Flask, SQLAlchemy, MSAL or HTTP)."""
