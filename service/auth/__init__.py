"""Who is asking: clinicians (password, session), API keys (bearer), client links (token)."""
