"""Who holds which role where: organization roles, org-level custom roles, project memberships."""
