"""Personal access tokens: a person's own API tokens, and an admin's view of a member's."""
