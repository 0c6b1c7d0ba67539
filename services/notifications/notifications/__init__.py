"""notifications: e-mail and SMS that leave the platform."""
