"""Invite links: how a person joins an existing organization."""
